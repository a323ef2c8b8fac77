"""Parse a traits document (Markdown) into chunks; the format is described in `workbench.traits`.

This is the `bullets` shape of `workbench.traits.read`: a trait per column-0 list item. Lists of
things not to do (`workbench.traits.boundaries`) become boundaries, not traits.
"""

from __future__ import annotations

import re

from workbench.traits.boundaries import is_boundary_lead_in, item_kind
from workbench.traits.drafts import Draft, build_chunks, fail, short_title
from workbench.traits.markdown import INDENTED_BULLET, Block, bullet_text, feed
from workbench.traits.model import ParsedDocument, normalise_chunk_text, normalise_newlines
from workbench.traits.sections import Sections

SHORT_TRAIT_CHARS = 20
TRAIT_EXAMPLE = "- **Honest about uncertainty.** Says how sure it is, and why."

_BOLD_LEAD = re.compile(r"^(\*\*|__)(.+?)\1")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def chunk_title(text: str) -> str:
    """A chunk's title: its leading bold phrase, else its first sentence (max 80 chars)."""
    text = text.strip()
    bold = _BOLD_LEAD.match(text)
    if bold:
        title = bold.group(2).strip().rstrip(":.").strip()
        if title:
            return title
    first = _SENTENCE_END.split(text.split("\n", 1)[0], maxsplit=1)[0].strip()
    first = first.rstrip(":.").strip() or first
    return short_title(first)


# --- assembling: blocks -> chunks ----------------------------------------------------------


class _Assembler:
    """Walks blocks keeping the heading stack; collects one prose draft per section."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sections = Sections()
        self.drafts: list[Draft] = []
        self.prose: list[tuple[int, str]] = []  # paragraphs of the current section
        self.warnings: list[str] = []
        self.lead_in = False  # the paragraph above the current list introduces prohibitions

    def flush_prose(self) -> None:
        if self.prose:
            text = normalise_chunk_text("\n\n".join(p for _, p in self.prose))
            self.drafts.append(Draft("guidance", text, self.sections.path, self.prose[0][0]))
            self.prose = []

    def heading(self, block: Block) -> None:
        text = block.lines[0].strip()
        self.flush_prose()
        self.lead_in = False
        self.sections.enter(block.level, text, first_content=not self.drafts)

    def bullet(self, block: Block) -> None:
        text = bullet_text(block)
        if not text:
            raise fail(self.source, block.line, "a bullet with no text.", hint=f"Write e.g. {TRAIT_EXAMPLE}")
        guidance, boundary = self.sections.flags
        kind = item_kind(text, guidance=guidance, prohibited=boundary or self.lead_in)
        self.drafts.append(Draft(kind, text, self.sections.path, block.line))
        if kind == "trait" and len(text) < SHORT_TRAIT_CHARS:
            self.warnings.append(
                f"{self.source}:{block.line}: trait {text!r} is very short ({len(text)} characters); "
                "a sentence or two of explanation gives the generator more to work with."
            )

    def para(self, block: Block) -> None:
        """Prose, admonitions and footnotes alike: this shape gives them no meaning of their own."""
        if INDENTED_BULLET.match(block.lines[0]):
            self.warnings.append(
                f"{self.source}:{block.line}: an indented bullet outside any trait is read as prose; "
                "traits start with '- ' at the beginning of the line."
            )
        self.lead_in = is_boundary_lead_in(block.text)
        self.prose.append((block.line, block.text))

    other = para


def parse_traits(text: str, source: str = "<string>") -> ParsedDocument:
    """Parse a traits document (format in the module docstring).

    Args:
        text: The Markdown text.
        source: Name used in error and warning messages, usually the file path.

    Returns:
        The parsed document with its chunks in order and any warnings.

    Raises:
        WorkbenchError: The document is empty, has no traits, has an empty bullet or
            duplicate traits. The message names `source` and the line.
    """
    text = normalise_newlines(text)
    if not text.strip():
        raise fail(source, 1, "the traits document is empty.", hint=f"A trait is a line like: {TRAIT_EXAMPLE}")
    assembler = _Assembler(source)
    feed(assembler, text)
    chunks = build_chunks(assembler.drafts, source, chunk_title)
    if not any(c.kind == "trait" for c in chunks):
        n_lines = len(text.rstrip("\n").split("\n"))
        raise fail(
            source,
            1,
            f"no traits found in lines 1-{n_lines}.",
            hint=(
                f"A trait is a bullet at the start of a line outside guidance sections, e.g. {TRAIT_EXAMPLE} "
                "Numbered and indented lists are not traits."
            ),
        )
    return ParsedDocument(assembler.sections.title, chunks, tuple(assembler.warnings), text)
