"""Parse a traits document (Markdown) into chunks; the format is described in `workbench.traits`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from workbench.traits.drafts import Draft, build_chunks, fail, short_title
from workbench.traits.model import ChunkKind, ParsedDocument, normalise_chunk_text, normalise_newlines

SHORT_TRAIT_CHARS = 20
TRAIT_EXAMPLE = "- **Honest about uncertainty.** Says how sure it is, and why."

_HEADING_OPENER = re.compile(r"^(#{1,6})(?:[ \t]|$)")
_BULLET = re.compile(r"^[-*](?:[ \t]+(.*))?$")
_INDENTED_BULLET = re.compile(r"^[ \t]+[-*+][ \t]")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE = re.compile(r"^(```|~~~)")
_BOLD_LEAD = re.compile(r"^(\*\*|__)(.+?)\1")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_GUIDANCE_HEADING = re.compile(r"(guidance|holistic|trade-?off|exception|when not|priorit|conflict|caveat)")


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


def is_guidance_heading(heading: str) -> bool:
    """Whether a heading opens a guidance section (see module docstring)."""
    bare = re.sub(r"^[\W\d_]+", "", heading.lower())  # "3. Trade-offs", "**Exceptions**"
    return bool(_GUIDANCE_HEADING.match(bare))


# --- scanning: lines -> blocks -------------------------------------------------------------


@dataclass
class _Block:
    kind: Literal["heading", "bullet", "para"]
    line: int
    lines: list[str]
    level: int = 0


def _heading(line: str) -> tuple[int, str] | None:
    """An ATX heading's level and text (closing `#`s dropped), or None if `line` is not one.

    Done with string methods: one regex for the whole line backtracked quadratically over a long
    run of spaces, which a 1 MB document can hold.
    """
    opener = _HEADING_OPENER.match(line)
    if opener is None:
        return None
    hashes = opener.group(1)
    text = line[len(hashes) :].strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed[-1:] in (" ", "\t"):  # "Title ##": a closing sequence needs a space before it
        text = unclosed.rstrip(" \t")
    return len(hashes), text


def _is_structural(line: str) -> bool:
    """Lines that end a paragraph or a bullet's lazy continuation."""
    return _heading(line) is not None or any(p.match(line) for p in (_BULLET, _THEMATIC_BREAK, _FENCE))


def _take_bullet(lines: Sequence[str], i: int) -> tuple[list[str], int]:
    """Lines of the bullet starting at `i` (its first line first); returns them and the next index."""
    taken = [lines[i]]
    j = i + 1
    while j < len(lines):
        line = lines[j]
        if line.strip() == "":
            # A blank line belongs to the bullet only if indented content follows it.
            k = j
            while k < len(lines) and lines[k].strip() == "":
                k += 1
            if k < len(lines) and lines[k][:1] in (" ", "\t"):
                taken.extend(lines[j:k])
                j = k
                continue
            break
        if line[:1] in (" ", "\t") or (taken[-1].strip() and not _is_structural(line)):
            taken.append(line)  # nested content, or a lazy continuation line
            j += 1
            continue
        break
    return taken, j


def _take_fence(lines: Sequence[str], i: int) -> tuple[list[str], int]:
    """A fenced code block is opaque: nothing inside it is a heading or a bullet."""
    marker = lines[i][:3]
    j = i + 1
    while j < len(lines) and not lines[j].startswith(marker):
        j += 1
    return list(lines[i : j + 1]), min(j + 1, len(lines))


def _scan(lines: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _heading(line)
        if line.strip() == "" or _THEMATIC_BREAK.match(line):
            i += 1
        elif heading:
            blocks.append(_Block("heading", i + 1, [heading[1]], heading[0]))
            i += 1
        elif _BULLET.match(line):
            taken, i = _take_bullet(lines, i)
            blocks.append(_Block("bullet", i - len(taken) + 1, taken))
        else:
            start = i
            para: list[str] = []
            while i < len(lines) and lines[i].strip() and (i == start or not _is_structural(lines[i])):
                if _FENCE.match(lines[i]):
                    fenced, i = _take_fence(lines, i)
                    para.extend(fenced)
                else:
                    para.append(lines[i])
                    i += 1
            blocks.append(_Block("para", start + 1, para))
    return blocks


# --- assembling: blocks -> chunks ----------------------------------------------------------


def _dedent(lines: Sequence[str]) -> list[str]:
    """Remove the common indent of the indented lines (lazy column-0 lines don't reset it)."""
    lines = [line.expandtabs(4) for line in lines]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip() and line[0] == " "]
    cut = min(indents, default=0)
    return [line[min(cut, len(line) - len(line.lstrip())) :] for line in lines]


def _bullet_text(block: _Block) -> str:
    first = _BULLET.match(block.lines[0])
    head = (first.group(1) or "").strip() if first else ""
    return normalise_chunk_text("\n".join([head, *_dedent(block.lines[1:])]))


class _Assembler:
    """Walks blocks keeping the heading stack; collects one prose draft per section."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.title: str | None = None
        self.stack: list[tuple[int, str, bool]] = []  # (level, text, is_guidance)
        self.drafts: list[Draft] = []
        self.prose: list[tuple[int, str]] = []  # paragraphs of the current section
        self.warnings: list[str] = []

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text, _ in self.stack)

    @property
    def in_guidance(self) -> bool:
        return bool(self.stack) and self.stack[-1][2]

    def flush_prose(self) -> None:
        if self.prose:
            text = normalise_chunk_text("\n\n".join(p for _, p in self.prose))
            self.drafts.append(Draft("guidance", text, self.path, self.prose[0][0]))
            self.prose = []

    def heading(self, block: _Block) -> None:
        text = block.lines[0].strip()
        self.flush_prose()
        # The first heading, if it is an H1 before any content, names the document.
        if block.level == 1 and self.title is None and not self.drafts and not self.stack:
            self.title = text
            return
        while self.stack and self.stack[-1][0] >= block.level:
            self.stack.pop()
        inherited = bool(self.stack) and self.stack[-1][2]
        self.stack.append((block.level, text, inherited or is_guidance_heading(text)))

    def bullet(self, block: _Block) -> None:
        text = _bullet_text(block)
        if not text:
            raise fail(self.source, block.line, "a bullet with no text.", hint=f"Write e.g. {TRAIT_EXAMPLE}")
        kind: ChunkKind = "guidance" if self.in_guidance else "trait"
        self.drafts.append(Draft(kind, text, self.path, block.line))
        if kind == "trait" and len(text) < SHORT_TRAIT_CHARS:
            self.warnings.append(
                f"{self.source}:{block.line}: trait {text!r} is very short ({len(text)} characters); "
                "a sentence or two of explanation gives the generator more to work with."
            )

    def para(self, block: _Block) -> None:
        if _INDENTED_BULLET.match(block.lines[0]):
            self.warnings.append(
                f"{self.source}:{block.line}: an indented bullet outside any trait is read as prose; "
                "traits start with '- ' at the beginning of the line."
            )
        self.prose.append((block.line, "\n".join(block.lines)))


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
    for block in _scan(text.split("\n")):
        getattr(assembler, block.kind)(block)
    assembler.flush_prose()
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
    return ParsedDocument(assembler.title, chunks, tuple(assembler.warnings), text)
