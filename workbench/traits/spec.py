"""The `spec` shape: Markdown where each principle is a heading with prose under it (model-spec style).

    parsed = read_spec(text, "model_spec.md", ReadOptions(trait_level=2))

* **Trait level.** Headings at the trait level are principles. Unless `trait_level` is given, it
  is the level with the most *distinct* headings that have content (prose, a list, an example)
  directly under them: the level that holds the most principles. Repeated sub-headings such as
  `Examples` under every principle count once, so they never outvote the principles; a tie goes
  to the shallower level (fewer, fuller principles). The document title is not counted.
* **A principle** is a trait: title = heading text without its `{#anchor .class key=value}`
  block (which goes into `attrs`), text = everything under it (prose, lists, fenced examples,
  deeper headings), or the heading itself when nothing is. A deeper heading outside any
  principle is a principle too.
* **Above the trait level** headings form the heading path and the content directly under one
  is a guidance chunk, except list items under a prohibiting lead-in, which are boundaries.
* **Guidance sections** (`is_guidance_heading`), at any level, stay guidance. A principle whose
  heading prohibits ("Never …", "Don't …"), or that sits under a heading that does ("Things to
  avoid"), is a boundary (`workbench.traits.boundaries`).
* **`!!! meta` blocks** are commentary on the spec, not behaviour: each is a guidance chunk of
  the section it is in (a principle's title ends its heading path) with its body as text and
  attrs ("admonition", "meta"), never part of a trait or of other guidance.
  Other admonitions (`!!! note`, `!!! warning`) stay in the text they belong to.
* **Footnotes.** A definition `[^x]: …` is appended to each chunk that references `[^x]`; one
  nothing references is dropped with a warning.
* The document title is a first `# Title` that is the only H1 (a spec with several H1s uses
  them as its top sections).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.traits.boundaries import is_boundary_heading, is_boundary_lead_in, item_kind
from workbench.traits.drafts import Draft, build_chunks, fail
from workbench.traits.markdown import Attrs, Block, bullet_text, dedent, render, scan, split_attrs
from workbench.traits.model import ParsedDocument, normalise_chunk_text
from workbench.traits.parse import chunk_title
from workbench.traits.sections import is_guidance_heading

if TYPE_CHECKING:
    from workbench.traits.read import ReadOptions

_FOOTNOTE_REF = re.compile(r"\[\^([^\]\[\s^]+)\](?!:)")  # "[" and "^" left out of labels: no rescans
SPEC_HINT = "Read it as bullets (`--format bullets`) or name the heading level of the principles (`--level N`)."


@dataclass
class Section:
    """A heading and what is under it; the root (level 0) holds what comes before any heading."""

    level: int
    title: str
    line: int
    attrs: Attrs = ()
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def has_content(self, *, prose_only: bool = False) -> bool:
        """Whether anything but meta commentary sits directly under the heading."""
        kinds = ("para", "admonition") if prose_only else ("para", "admonition", "bullet")
        return any(b.kind in kinds and b.name != "meta" for b in self.blocks)

    def walk(self, guidance: bool = False) -> Iterator[tuple[Section, bool]]:
        """Every section below this one with whether it is in a guidance section, in document order."""
        for child in self.children:
            in_guidance = guidance or is_guidance_heading(child.title)
            yield child, in_guidance
            yield from child.walk(in_guidance)


@dataclass(frozen=True)
class Outline:
    """A spec's sections, its title and its footnote definitions by label."""

    title: str | None
    root: Section
    footnotes: dict[str, Block]


def outline(text: str) -> Outline:
    """Scan `text` into a section tree."""
    blocks = scan(text.split("\n"))
    h1s = sum(1 for b in blocks if b.kind == "heading" and b.level == 1)
    title = None
    if h1s == 1 and blocks[0].kind == "heading" and blocks[0].level == 1:
        title = split_attrs(blocks.pop(0).lines[0])[0]
    root = Section(0, "", 1)
    stack = [root]
    footnotes: dict[str, Block] = {}
    for block in blocks:
        if block.kind == "footnote":
            footnotes[block.name] = block
        elif block.kind == "heading":
            while stack[-1].level >= block.level:
                stack.pop()
            name, attrs = split_attrs(block.lines[0])
            section = Section(block.level, name, block.line, attrs)
            stack[-1].children.append(section)
            stack.append(section)
        else:
            stack[-1].blocks.append(block)
    return Outline(title, root, footnotes)


def trait_level(root: Section) -> int | None:
    """The level with the most distinct headings that have content directly under them (module docstring)."""
    titles: dict[int, set[str]] = {}
    for section, guidance in root.walk():
        if not guidance and section.has_content():
            titles.setdefault(section.level, set()).add(section.title.lower())
    return max(sorted(titles), key=lambda level: len(titles[level]), default=None)


def looks_like_spec(text: str) -> bool:
    """Whether `text` is in this shape.

    True when at least two (non-guidance) headings carry prose directly under them, and either two
    headings carry attribute blocks (`{#anchor}`) or, under headings, paragraphs hold more text than list
    items do. The workbench's own shape keeps its traits in list items, so it reads as `bullets`.
    """
    root = outline(text).root
    with_prose = anchored = prose = listed = 0
    for section, guidance in root.walk():
        anchored += bool(section.attrs)
        if guidance:
            continue
        with_prose += section.has_content(prose_only=True)
        for block in section.blocks:
            if block.kind == "bullet":
                listed += len(block.text)
            else:
                prose += len(block.text)
    return with_prose >= 2 and (anchored >= 2 or prose > listed)


class _Emitter:
    """Walks the section tree and makes drafts."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.drafts: list[Draft] = []

    def section(self, s: Section, path: tuple[str, ...], guidance: bool, boundary: bool) -> None:
        guidance = guidance or is_guidance_heading(s.title)
        boundary = boundary or is_boundary_heading(s.title)
        if s.level >= self.level and not guidance:
            self.principle(s, path, boundary)
            return
        self.prose(s.blocks, path, guidance, boundary)
        for child in s.children:
            self.section(child, (*path, child.title), guidance, boundary)

    def prose(self, blocks: list[Block], path: tuple[str, ...], guidance: bool, boundary: bool) -> None:
        """Content directly under a heading above the trait level (or in a guidance section)."""
        kept: list[Block] = []
        lead_in = False
        for block in blocks:
            if self.meta(block, path):
                continue
            if block.kind == "bullet":
                text = bullet_text(block)
                if item_kind(text, guidance=guidance, prohibited=boundary or lead_in) == "boundary":
                    self.drafts.append(Draft("boundary", text, path, block.line))
                    continue
            elif block.kind == "para":
                lead_in = is_boundary_lead_in(block.text)
            kept.append(block)
        if kept:
            self.drafts.append(Draft("guidance", render(kept), path, kept[0].line))

    def meta(self, block: Block, path: tuple[str, ...]) -> bool:
        """Make a `!!! meta` block its own guidance chunk (its body, marked by attrs); False for others."""
        if block.kind != "admonition" or block.name != "meta":
            return False
        body = normalise_chunk_text("\n".join(dedent(block.lines[1:])))
        text = body or normalise_chunk_text(block.text)
        self.drafts.append(Draft("guidance", text, path, block.line, attrs=(("admonition", "meta"),)))
        return True

    def principle(self, s: Section, path: tuple[str, ...], boundary: bool) -> None:
        kind = item_kind(s.title, guidance=False, prohibited=boundary)
        text = self.body(s, path) or s.title
        self.drafts.append(Draft(kind, text, path[:-1], s.line, title=s.title, attrs=s.attrs))

    def body(self, s: Section, path: tuple[str, ...]) -> str:
        """A principle's text: its blocks and its sub-sections, less meta and guidance sections."""
        out = [render([block for block in s.blocks if not self.meta(block, path)])]
        for child in s.children:
            child_path = (*path, child.title)
            if is_guidance_heading(child.title):
                self.section(child, child_path, True, False)
            else:
                out.append(f"{'#' * child.level} {child.title}\n\n{self.body(child, child_path)}")
        return normalise_chunk_text("\n\n".join(out))


def _attach_footnotes(drafts: list[Draft], footnotes: dict[str, Block], source: str) -> tuple[list[Draft], list[str]]:
    """Append each footnote definition to the drafts that reference it; warn about unused ones."""
    used: set[str] = set()
    out = []
    for draft in drafts:
        labels = [label for label in dict.fromkeys(_FOOTNOTE_REF.findall(draft.text)) if label in footnotes]
        used.update(labels)
        if labels:
            notes = "\n".join(normalise_chunk_text(footnotes[label].text) for label in labels)
            draft = dataclasses.replace(draft, text=f"{draft.text}\n\n{notes}")
        out.append(draft)
    warnings = [
        f"{source}:{block.line}: footnote [^{label}] is never referenced; it was left out."
        for label, block in footnotes.items()
        if label not in used
    ]
    return out, warnings


def read_spec(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    """Read a model-spec-style document (rules in the module docstring).

    Raises:
        WorkbenchError: No heading to read as a principle, no heading at the requested trait
            level, no traits (everything is guidance or boundaries), or duplicate principles.
    """
    doc = outline(text)
    level = options.trait_level if options.trait_level is not None else trait_level(doc.root)
    if level is None:
        raise fail(source, 1, "no heading has content under it, so there are no principles to read.", SPEC_HINT)
    if not any(s.level == level for s, _ in doc.root.walk()):
        raise fail(source, 1, f"no level-{level} heading ({'#' * level} …) to read as a principle.", SPEC_HINT)
    emitter = _Emitter(level)
    emitter.section(doc.root, (), False, False)
    drafts, warnings = _attach_footnotes(emitter.drafts, doc.footnotes, source)
    chunks = build_chunks(drafts, source, chunk_title)
    if not any(c.kind == "trait" for c in chunks):
        raise fail(source, 1, f"no traits: every level-{level} heading is guidance or a boundary.", SPEC_HINT)
    return ParsedDocument(doc.title, chunks, tuple(warnings), text)
