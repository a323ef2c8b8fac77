"""Drafts -> chunks: the step every traits-document reader ends with, whatever the shape it read.

    chunks = build_chunks([Draft("trait", text, ("Honesty",), line=12)], source="spec.md")

A reader turns its shape (bullets, headings, numbered rules, JSON) into `Draft`s; this module
gives them titles, ids, keys and positions and refuses duplicates, so every shape yields chunks
with the same identities and the same errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.traits.model import Chunk, ChunkKind, chunk_id, slugify

MAX_TITLE_CHARS = 80

TitleFn = Callable[[str], str]


@dataclass(frozen=True)
class Draft:
    """A chunk before it has an id, a key and a position.

    Attributes:
        kind: trait, guidance or boundary.
        text: Its normalised text.
        heading_path: The headings enclosing it, outermost first.
        line: 1-based line where it starts in the source.
        title: Its title when the source names it (a heading, a rule); else taken from the text.
        attrs: Metadata kept out of title and text (anchor, rule id, …).
        questions: Seed user prompts the source wrote for it.
    """

    kind: ChunkKind
    text: str
    heading_path: tuple[str, ...]
    line: int
    title: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()
    questions: tuple[str, ...] = ()


def fail(source: str, line: int, message: str, hint: str | None = None) -> WorkbenchError:
    """The error every reader raises: `source:line: message`."""
    return WorkbenchError(f"{source}:{line}: {message}", hint=hint)


def short_title(text: str) -> str:
    """`text`'s first line cut on a word boundary to 80 characters, so tables stay readable."""
    first = text.strip().split("\n", 1)[0].strip()
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _key(draft: Draft, title: str, ordinals: dict[str, int]) -> str:
    if draft.kind in ("trait", "boundary"):
        return f"{draft.kind}:{slugify(title)}"
    # Count per slug (not per section occurrence) so keys stay unique in a version.
    section = "/".join(slugify(h) for h in draft.heading_path) or "_top"
    ordinals[section] = ordinals.get(section, 0) + 1
    return f"guidance:{section}#{ordinals[section]}"


def build_chunks(drafts: Iterable[Draft], source: str, title_of: TitleFn) -> tuple[Chunk, ...]:
    """Give drafts (sorted by line) their titles, ids, keys and positions; refuse duplicates.

    Args:
        drafts: What a reader found.
        source: The file name errors carry.
        title_of: Makes a title from a draft's text when the draft has none.

    Raises:
        WorkbenchError: two chunks with the same text, or two traits with the same title.
    """
    ordinals: dict[str, int] = {}
    chunks = []
    for position, d in enumerate(sorted(drafts, key=lambda d: d.line), start=1):
        title = d.title or title_of(d.text)
        chunks.append(
            Chunk(
                chunk_id(d.kind, d.text),
                _key(d, title, ordinals),
                d.kind,
                title,
                d.text,
                d.heading_path,
                d.line,
                position,
                d.attrs,
                d.questions,
            )
        )
    check_duplicates(chunks, source)
    return tuple(chunks)


def check_duplicates(chunks: Sequence[Chunk], source: str) -> None:
    """Refuse two chunks with one id or one key: the store keys chunks by id and diffs by key."""
    by_id: dict[str, Chunk] = {}
    by_key: dict[str, Chunk] = {}
    for c in chunks:
        first = by_id.get(c.id)
        if first is not None:
            raise fail(source, c.line, f"duplicate {c.kind}: same text as the {first.kind} on line {first.line}.")
        by_id[c.id] = c
        first = by_key.get(c.key)
        if first is not None:
            raise fail(
                source,
                c.line,
                f"duplicate {c.kind} {c.title!r}: same title as the {first.kind} on line {first.line} "
                "(titles are compared ignoring case and punctuation).",
                hint=f"Give each {c.kind} a distinct title, or merge the two.",
            )
        by_key[c.key] = c
