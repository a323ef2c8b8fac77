"""Markdown scanning shared by the traits readers: lines -> blocks.

    blocks = scan(text.split("\\n"))   # headings, list items, paragraphs, admonitions, footnotes

A block is a heading, a column-0 list item (with its indented and lazy continuation lines), a
paragraph (fenced code blocks inside it are opaque), an admonition (`!!! meta`, `??? note` and
the indented body under it) or a footnote definition (`[^label]: text`). What a block *means*
(trait, guidance, boundary) is each reader's business.

Every pattern is anchored and unambiguous and headings are split with string methods, so a
1 MB document with odd lines (a long run of spaces) scans in one linear pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from workbench.traits.model import normalise_chunk_text

HEADING_OPENER = re.compile(r"^(#{1,6})(?:[ \t]|$)")
BULLET = re.compile(r"^[-*](?:[ \t]+(.*))?$")
INDENTED_BULLET = re.compile(r"^[ \t]+[-*+][ \t]")
THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
FENCE = re.compile(r"^(```|~~~)")
ADMONITION = re.compile(r"^(?:!!!|\?\?\?\+?)[ \t]*([A-Za-z][\w-]*)")
FOOTNOTE_DEF = re.compile(r"^\[\^([^\]\[\s^]+)\]:")

BlockKind = Literal["heading", "bullet", "para", "admonition", "footnote"]
Attrs = tuple[tuple[str, str], ...]


@dataclass
class Block:
    """A run of lines with one meaning.

    Attributes:
        kind: What the lines are.
        line: 1-based line of the first of them.
        lines: The lines as written; a heading's single line is its text (no `#`s).
        level: A heading's level.
        name: An admonition's type (`meta`, `note`, lower case) or a footnote's label.
    """

    kind: BlockKind
    line: int
    lines: list[str]
    level: int = 0
    name: str = ""

    @property
    def text(self) -> str:
        """The block's lines joined, as written."""
        return "\n".join(self.lines)


def heading(line: str) -> tuple[int, str] | None:
    """An ATX heading's level and text (closing `#`s dropped), or None if `line` is not one.

    Done with string methods: one regex for the whole line backtracked quadratically over a long
    run of spaces, which a 1 MB document can hold.
    """
    opener = HEADING_OPENER.match(line)
    if opener is None:
        return None
    hashes = opener.group(1)
    text = line[len(hashes) :].strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed[-1:] in (" ", "\t"):  # "Title ##": a closing sequence needs a space before it
        text = unclosed.rstrip(" \t")
    return len(hashes), text


def split_attrs(text: str) -> tuple[str, Attrs]:
    """A heading's text without a trailing `{#anchor .class key=value}` block, and that block's attrs.

    `#id` becomes ("anchor", id), `.name` ("class", name) and `key=value` (key, value). A trailing
    brace group that is not an attribute block (`Use {model_name}`) is left in the text.
    """
    stripped = text.rstrip()
    opening = stripped.rfind("{")
    if not stripped.endswith("}") or opening < 0:
        return text, ()
    tokens = stripped[opening + 1 : -1].split()
    if not tokens or not all(t[:1] in ("#", ".") or "=" in t for t in tokens):
        return text, ()
    attrs = []
    for token in tokens:
        if token[:1] == "#":
            attrs.append(("anchor", token[1:]))
        elif token[:1] == ".":
            attrs.append(("class", token[1:]))
        else:
            key, value = token.split("=", 1)
            attrs.append((key, value.strip("\"'")))
    return stripped[:opening].rstrip(), tuple(attrs)


def is_structural(line: str) -> bool:
    """Lines that end a paragraph or a list item's lazy continuation."""
    return heading(line) is not None or any(
        p.match(line) for p in (BULLET, THEMATIC_BREAK, FENCE, ADMONITION, FOOTNOTE_DEF)
    )


def _take_item(lines: Sequence[str], i: int, *, lazy: bool) -> tuple[list[str], int]:
    """Lines of the item starting at `i` (its first line first); returns them and the next index.

    Indented lines belong to it, blank lines too when indented content follows them, and (if
    `lazy`) a column-0 line directly under a non-blank one that starts nothing else.
    """
    taken = [lines[i]]
    j = i + 1
    while j < len(lines):
        line = lines[j]
        if line.strip() == "":
            k = j
            while k < len(lines) and lines[k].strip() == "":
                k += 1
            if k < len(lines) and lines[k][:1] in (" ", "\t"):
                taken.extend(lines[j:k])
                j = k
                continue
            break
        if line[:1] in (" ", "\t") or (lazy and taken[-1].strip() and not is_structural(line)):
            taken.append(line)
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


def _take_para(lines: Sequence[str], i: int) -> tuple[list[str], int]:
    start = i
    para: list[str] = []
    while i < len(lines) and lines[i].strip() and (i == start or not is_structural(lines[i])):
        if FENCE.match(lines[i]):
            fenced, i = _take_fence(lines, i)
            para.extend(fenced)
        else:
            para.append(lines[i])
            i += 1
    return para, i


def scan(lines: Sequence[str]) -> list[Block]:
    """Split a document's lines into blocks; blank lines and thematic breaks separate them."""
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        found = heading(line)
        start = i
        if line.strip() == "" or THEMATIC_BREAK.match(line):
            i += 1
        elif found:
            blocks.append(Block("heading", i + 1, [found[1]], found[0]))
            i += 1
        elif BULLET.match(line):
            taken, i = _take_item(lines, i, lazy=True)
            blocks.append(Block("bullet", start + 1, taken))
        elif footnote := FOOTNOTE_DEF.match(line):
            taken, i = _take_item(lines, i, lazy=True)
            blocks.append(Block("footnote", start + 1, taken, name=footnote.group(1)))
        elif admonition := ADMONITION.match(line):
            taken, i = _take_item(lines, i, lazy=False)
            blocks.append(Block("admonition", start + 1, taken, name=admonition.group(1).lower()))
        else:
            taken, i = _take_para(lines, i)
            blocks.append(Block("para", start + 1, taken))
    return blocks


def dedent(lines: Sequence[str]) -> list[str]:
    """Remove the common indent of the indented lines (lazy column-0 lines don't reset it)."""
    lines = [line.expandtabs(4) for line in lines]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip() and line[0] == " "]
    cut = min(indents, default=0)
    return [line[min(cut, len(line) - len(line.lstrip())) :] for line in lines]


def bullet_text(block: Block) -> str:
    """A list item's text: its content without the marker, continuation lines dedented."""
    first = BULLET.match(block.lines[0])
    head = (first.group(1) or "").strip() if first else ""
    return normalise_chunk_text("\n".join([head, *dedent(block.lines[1:])]))


def render(blocks: Sequence[Block]) -> str:
    """Blocks back to Markdown: list items of one list on consecutive lines, the rest apart."""
    out: list[str] = []
    for n, block in enumerate(blocks):
        if n:
            tight = block.kind == "bullet" and blocks[n - 1].kind == "bullet"
            out.append("\n" if tight else "\n\n")
        out.append(f"{'#' * block.level} {block.text}" if block.kind == "heading" else block.text)
    return normalise_chunk_text("".join(out))


class BlockReader(Protocol):
    """A reader that gives headings, bullets and paragraphs their meaning (and the other blocks one)."""

    def heading(self, block: Block) -> None: ...
    def bullet(self, block: Block) -> None: ...
    def para(self, block: Block) -> None: ...
    def other(self, block: Block) -> None: ...
    def flush_prose(self) -> None: ...


def feed(reader: BlockReader, text: str) -> None:
    """Hand each block of `text` to the reader's method for its kind (`other`: admonitions, footnotes), then flush."""
    for block in scan(text.split("\n")):
        handler = {"heading": reader.heading, "bullet": reader.bullet, "para": reader.para}.get(block.kind)
        (handler or reader.other)(block)
    reader.flush_prose()
