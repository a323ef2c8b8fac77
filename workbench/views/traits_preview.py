"""What a traits document becomes, before it is stored, and a short summary of a stored one.

    parsed = read_traits_file(path, options)
    preview = traits_preview(parsed, str(path))
    preview.rows_of("trait")          # kept traits, heading path and line each
    preview.excluded                  # traits a selection left out
    again = read_traits_file(path, ticked_options(options, parsed, ticked_keys))
    check_selection(again, ticked_keys)     # exactly the ticked traits, before anything is stored

The CLI (`workbench traits add --preview`), the app's Traits page and notebook 01 all show these
rows, so a document reads the same way everywhere. Plain data only: no UI imports. Every string
here comes from the document; whoever shows it shows it as text.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.traits import (
    CHUNK_KINDS,
    FORMATS,
    Chunk,
    ChunkKind,
    ParsedDocument,
    ReadOptions,
    detect_format,
    trait_path,
)

# How each kind is named in counts and headings: (one, many).
KIND_NOUNS: dict[ChunkKind, tuple[str, str]] = {
    "trait": ("trait", "traits"),
    "guidance": ("guidance chunk", "guidance chunks"),
    "boundary": ("boundary", "boundaries"),
}
NO_HEADING = "(no heading)"


@dataclass(frozen=True)
class PreviewRow:
    """One chunk as a preview lists it.

    Attributes:
        kind: "trait", "guidance" or "boundary".
        path: Heading path and title, `A > B > Title` (what `--only`/`--exclude` match).
        title: The chunk's title.
        key: The chunk's key, unique in its document.
        line: 1-based line in the document.
        excluded: True for a trait a selection left out.
    """

    kind: ChunkKind
    path: str
    title: str
    key: str
    line: int
    excluded: bool = False


@dataclass(frozen=True)
class TraitsPreview:
    """What reading a document produced, grouped for showing before anything is stored.

    Attributes:
        source: The file (or editor) it was read from.
        title: The document's title, if any.
        format: The shape it was read as.
        detected: The shape detection picks for this text.
        rows: Kept chunks in document order, then the excluded traits.
        warnings: The reader's warnings.
    """

    source: str
    title: str | None
    format: str
    detected: str
    rows: tuple[PreviewRow, ...]
    warnings: tuple[str, ...]

    def rows_of(self, kind: ChunkKind) -> list[PreviewRow]:
        """The kept rows of one kind, in document order."""
        return [r for r in self.rows if r.kind == kind and not r.excluded]

    @property
    def excluded(self) -> list[PreviewRow]:
        """The traits a selection left out."""
        return [r for r in self.rows if r.excluded]

    @property
    def format_line(self) -> str:
        """Which shape it was read as, and how to force another."""
        how = "detected" if self.format == self.detected else f"forced; detection says {self.detected}"
        others = [name for name in FORMATS if name != self.format]
        force = f"; read it as another with --format {'|'.join(others)}" if others else ""
        level = "; --level N makes the headings of level N its traits" if self.format == "spec" else ""
        return f"read as {self.format} ({how}){force}{level}"

    @property
    def counts_line(self) -> str:
        """`3 traits, 1 guidance chunk, 0 boundaries, 1 excluded`."""
        counts = [plural(len(self.rows_of(kind)), kind) for kind in CHUNK_KINDS]
        return ", ".join([*counts, f"{len(self.excluded)} excluded"])


def plural(n: int, kind: ChunkKind) -> str:
    """`1 trait`, `2 guidance chunks`, `0 boundaries`."""
    one, many = KIND_NOUNS[kind]
    return f"{n} {one if n == 1 else many}"


def _row(chunk: Chunk, excluded: bool = False) -> PreviewRow:
    return PreviewRow(chunk.kind, trait_path(chunk), chunk.title, chunk.key, chunk.line, excluded)


def traits_preview(parsed: ParsedDocument, source: str = "") -> TraitsPreview:
    """The preview of a parsed document (the output of `read_traits_file` or `read_document`)."""
    rows = (*(_row(c) for c in parsed.chunks), *(_row(c, excluded=True) for c in parsed.excluded))
    return TraitsPreview(source, parsed.title, parsed.format, detect_format(parsed.text), rows, parsed.warnings)


def all_traits(parsed: ParsedDocument) -> list[Chunk]:
    """Every trait the reading found, kept or excluded, in document order."""
    return sorted((c for c in (*parsed.chunks, *parsed.excluded) if c.kind == "trait"), key=lambda c: c.position)


def ticked_options(options: ReadOptions, parsed: ParsedDocument, ticked: Iterable[str]) -> ReadOptions:
    """Options that read the document again keeping exactly the traits whose keys are `ticked`.

    All traits ticked reads the document with no selection at all (the same version a plain add
    stores). Otherwise the selection names keys, the shorter way round: the unticked ones as
    `exclude` when they are fewer, else the ticked ones as `only`; the version's reading records
    it. A key (`trait:<slug>`) is unique in its document and holds no glob characters, so it
    matches its own trait, where a title such as "Be *brief*" would also match "Be very brief".
    `check_selection` makes sure.

    Args:
        options: How the document was read for the preview.
        parsed: That reading (kept and excluded traits are both offered for ticking).
        ticked: Keys of the traits to keep.

    Raises:
        WorkbenchError: Nothing ticked, or a key that is not one of the document's traits.
    """
    keys = {c.key for c in all_traits(parsed)}
    wanted = set(ticked)
    if not wanted:
        raise WorkbenchError("No trait is ticked.", hint="Tick at least one trait to add the document.")
    unknown = sorted(wanted - keys)
    if unknown:
        raise WorkbenchError(
            f"{', '.join(unknown)}: not a trait of this document.", hint="Preview the document again and tick anew."
        )
    unticked = keys - wanted
    if len(unticked) < len(wanted):
        return dataclasses.replace(options, only=(), exclude=tuple(sorted(unticked)))
    return dataclasses.replace(options, only=tuple(sorted(wanted)), exclude=())


def check_selection(parsed: ParsedDocument, ticked: Iterable[str]) -> None:
    """Make sure a reading kept exactly the ticked traits (a key matching another name, say).

    Raises:
        WorkbenchError: The kept traits differ from the ticked ones.
    """
    kept = {c.key for c in parsed.chunks if c.kind == "trait"}
    if kept != set(ticked):
        extra = ", ".join(sorted(kept - set(ticked)))
        raise WorkbenchError(
            f"The selection also keeps {extra or 'fewer traits than ticked'}.",
            hint="Pick the traits with --only/--exclude patterns on the command line instead.",
        )


@dataclass(frozen=True)
class ChunkSummary:
    """A stored version at a glance: counts by kind and traits per top-level heading."""

    counts: dict[ChunkKind, int]
    traits_by_heading: list[tuple[str, int]]  # (top-level heading, traits under it), in document order

    @property
    def counts_line(self) -> str:
        return ", ".join(plural(self.counts.get(kind, 0), kind) for kind in CHUNK_KINDS)


def chunk_summary(chunks: Sequence[Chunk]) -> ChunkSummary:
    """Counts by kind and, for traits, per top-level heading."""
    counts = Counter(c.kind for c in chunks)
    by_heading = Counter(c.heading_path[0] if c.heading_path else NO_HEADING for c in chunks if c.kind == "trait")
    return ChunkSummary({kind: counts[kind] for kind in CHUNK_KINDS}, list(by_heading.items()))


def filter_chunks(chunks: Sequence[Chunk], kinds: Sequence[ChunkKind], grep: str = "") -> list[Chunk]:
    """The chunks of `kinds` whose title, heading path or text contains `grep` (any case)."""
    needle = grep.casefold()

    def hit(c: Chunk) -> bool:
        return not needle or any(needle in s.casefold() for s in (c.title, c.text, " > ".join(c.heading_path)))

    return [c for c in chunks if c.kind in kinds and hit(c)]


@dataclass(frozen=True)
class Page:
    """One page of a longer list: items `start`..`end` (1-based, inclusive) of `total`."""

    number: int
    pages: int
    start: int
    end: int
    total: int


def page_of(total: int, number: int, per_page: int) -> Page:
    """Where page `number` (1-based) of `total` items, `per_page` a page, starts and ends.

    Raises:
        WorkbenchError: `number` or `per_page` is below 1, or the page is past the last.
    """
    if per_page < 1 or number < 1:
        raise WorkbenchError(f"Page {number} of {per_page} a page: both must be at least 1.", hint="Use --page 1.")
    pages = max(1, -(-total // per_page))
    if number > pages:
        raise WorkbenchError(
            f"There is no page {number}: {total} chunks make {pages} page{'s' if pages > 1 else ''}.",
            hint=f"Use --page 1 to {pages}, or a larger --per-page.",
        )
    start = (number - 1) * per_page
    return Page(number, pages, min(start + 1, total), min(start + per_page, total), total)
