"""Traits-document data: chunks, parsed documents, version diffs, and the stable ids they carry."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ChunkKind = Literal["trait", "guidance", "boundary"]
CHUNK_KINDS: tuple[ChunkKind, ...] = ("trait", "guidance", "boundary")


@dataclass(frozen=True)
class Chunk:
    """One trait, piece of guidance or boundary, the unit every later stage generates from.

    A *boundary* is a prohibition or anti-pattern ("never gives real uplift to …"): guidance the
    generator respects and the critic checks, never a trait to instil.

    Attributes:
        id: Content hash of kind and normalised text; equal text means equal id in every version.
        key: Structural identity used to pair chunks across versions in a diff.
        kind: "trait", "guidance" or "boundary".
        title: Short human name (bold lead phrase or first sentence).
        text: The normalised Markdown text of the chunk.
        heading_path: Headings enclosing the chunk, outermost first (document title excluded).
        line: 1-based line where the chunk starts in its version's text.
        position: 1-based order of the chunk in its version.
        attrs: Metadata the source gave the chunk, kept out of its title and text: a heading's
            `{#anchor}`, a rule's id ("SP1"), a universe context's id ("fact_of": …).
        questions: User prompts the source wrote for this trait (a constitution's questions);
            the SFT pipeline may use them as seed prompts.
    """

    id: str
    key: str
    kind: ChunkKind
    title: str
    text: str
    heading_path: tuple[str, ...]
    line: int
    position: int
    attrs: tuple[tuple[str, str], ...] = ()
    questions: tuple[str, ...] = ()

    def attr(self, name: str) -> str | None:
        """The value of metadata attribute `name`, or None."""
        return next((value for key, value in self.attrs if key == name), None)


@dataclass(frozen=True)
class ParsedDocument:
    """A successfully parsed traits document.

    Attributes:
        title: The document's `# Title`, if it has one.
        chunks: Traits and guidance in document order.
        warnings: "source:line: message" strings for things worth a look but not fatal.
        text: The document text with newlines normalised to "\\n" (what the version id hashes).
        format: The shape it was read as (`workbench.traits.read.FORMATS`).
        reading: How it was read, where that changes the chunks (a forced format, a trait heading
            level, a selection, placeholder values), canonically; "" for the default reading.
            The same text read differently is a different version.
        excluded: Chunks the reading found but a selection (`--only`/`--exclude`) left out.
    """

    title: str | None
    chunks: tuple[Chunk, ...]
    warnings: tuple[str, ...]
    text: str
    format: str = "bullets"
    reading: str = ""
    excluded: tuple[Chunk, ...] = ()

    @property
    def version_id(self) -> str:
        """The id this text, read this way, gets as a stored version."""
        if not self.reading:
            return text_id(self.text)
        return text_id(f"{self.text}\n\x00reading: {self.reading}")

    def count(self, kind: ChunkKind) -> int:
        """How many chunks of `kind` the document has."""
        return sum(1 for c in self.chunks if c.kind == kind)


@dataclass(frozen=True)
class ChunkChange:
    """A chunk whose key is in both versions but whose content (and so id) differs."""

    old: Chunk
    new: Chunk

    @property
    def key(self) -> str:
        return self.new.key


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions, chunk by chunk.

    A chunk whose id appears in both versions is unchanged even if its key moved (a guidance
    bullet inserted above it renumbers it); the rest are paired by key.

    Attributes:
        added: Chunks only in the new version.
        removed: Chunks only in the old version.
        changed: Same key, different content.
        unchanged: Ids of chunks present, identical, in both.
    """

    added: tuple[Chunk, ...] = ()
    removed: tuple[Chunk, ...] = ()
    changed: tuple[ChunkChange, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def unchanged_count(self) -> int:
        return len(self.unchanged)

    @property
    def to_regenerate(self) -> tuple[Chunk, ...]:
        """New-version chunks that later stages must generate for: added plus changed."""
        return self.added + tuple(c.new for c in self.changed)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def normalise_newlines(text: str) -> str:
    """Turn CRLF and lone CR into LF, so the same document hashes the same on every OS."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalise_chunk_text(text: str) -> str:
    """Strip trailing whitespace per line, collapse blank-line runs, trim blank edges."""
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def text_id(text: str) -> str:
    """Version id: sha256 of the newline-normalised text, first 16 hex digits."""
    return hashlib.sha256(normalise_newlines(text).encode("utf-8")).hexdigest()[:16]


def chunk_id(kind: str, text: str) -> str:
    """Chunk id: sha256 of kind, newline and normalised text, first 16 hex digits."""
    payload = f"{kind}\n{normalise_chunk_text(text)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def slugify(text: str) -> str:
    """Lower-case, runs of non-word characters to "-" (unicode letters kept)."""
    slug = re.sub(r"[\W_]+", "-", text.lower()).strip("-")
    return slug or "untitled"


def diff_versions(old_chunks: Sequence[Chunk], new_chunks: Sequence[Chunk]) -> VersionDiff:
    """Compare two versions' chunks.

    Chunks with the same id in both are unchanged. Of the rest, those sharing a key are
    changed; the remaining new ones are added and the remaining old ones removed.

    Args:
        old_chunks: Chunks of the earlier version.
        new_chunks: Chunks of the later version.

    Returns:
        The diff, with lists in the order of the version they come from.
    """
    old_ids = {c.id for c in old_chunks}
    new_ids = {c.id for c in new_chunks}
    old_left = {c.key: c for c in old_chunks if c.id not in new_ids}
    added: list[Chunk] = []
    changed: list[ChunkChange] = []
    for c in new_chunks:
        if c.id in old_ids:
            continue
        old = old_left.pop(c.key, None)
        if old is None:
            added.append(c)
        else:
            changed.append(ChunkChange(old, c))
    removed = [c for c in old_chunks if old_left.get(c.key) is c]
    unchanged = [c.id for c in new_chunks if c.id in old_ids]
    return VersionDiff(tuple(added), tuple(removed), tuple(changed), tuple(unchanged))
