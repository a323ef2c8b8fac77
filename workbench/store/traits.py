"""Traits documents in the store: save immutable versions, list them, resolve refs, read chunks.

A version ref is `name` (the latest version of that document), `name@N` (version N), or a
prefix of a version id (at least 4 characters). Chunk rows are shared between versions: the
same text has the same id, so a new version only adds rows for new or edited chunks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.store.bulk import insert_columns
from workbench.traits import Chunk, ParsedDocument, ReadOptions, VersionDiff, diff_versions, read_traits_file

MIN_PREFIX = 4
MAX_NAME_CHARS = 100

_VERSION_COLUMNS = """
    v.id, v.document, v.number, v.title, v.source_path, v.created_at,
    (SELECT count(*) FROM version_chunks vc WHERE vc.version_id = v.id) AS chunk_count,
    coalesce(v.format, 'bullets'), coalesce(v.reading, '')
"""


@dataclass(frozen=True)
class TraitsVersion:
    """One stored, immutable version of a traits document.

    Attributes:
        id: sha256 prefix of the text (see `workbench.traits.text_id`).
        document: The document's name.
        number: 1, 2, 3 ... within the document.
        title: The document's `# Title`, if any.
        source_path: The file it was read from, for the record.
        created_at: When it was stored.
        chunk_count: How many chunks it has.
        format: The shape it was read as (`workbench.traits.FORMATS`).
        reading: How it was read where that changed the chunks ("" by default; JSON).
    """

    id: str
    document: str
    number: int
    title: str | None
    source_path: str | None
    created_at: datetime
    chunk_count: int
    format: str = "bullets"
    reading: str = ""

    @property
    def ref(self) -> str:
        """`name@N`, the readable way to name this version."""
        return f"{self.document}@{self.number}"


@dataclass(frozen=True)
class AddResult:
    """What `add_traits_file` did.

    Attributes:
        version: The new version, or the existing one with identical text.
        created: False when identical text was already stored and nothing was written.
        parsed: The parsed file (chunks and warnings).
    """

    version: TraitsVersion
    created: bool
    parsed: ParsedDocument


def _version(row: tuple[Any, ...]) -> TraitsVersion:
    id_, document, number, title, source_path, created_at, chunk_count, format_, reading = row
    return TraitsVersion(id_, document, int(number), title, source_path, created_at, int(chunk_count), format_, reading)


def _fetch_version(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[TraitsVersion]:
    # `where` is always one of this module's literals; values travel as parameters.
    rows = con.execute(
        f"SELECT {_VERSION_COLUMNS} FROM traits_versions v WHERE {where} ORDER BY v.document, v.number",
        params,
    ).fetchall()
    return [_version(r) for r in rows]


def check_document_name(name: str) -> str:
    """Validate a document name: non-empty, no `@` (refs use it), no control characters."""
    if not name or name != name.strip() or len(name) > MAX_NAME_CHARS:
        raise WorkbenchError(
            f"Invalid traits document name {name!r}: it must be 1-{MAX_NAME_CHARS} characters "
            "without leading or trailing spaces.",
            hint="Pass --name NAME.",
        )
    if "@" in name or any(ord(ch) < 32 for ch in name):
        raise WorkbenchError(
            f"Invalid traits document name {name!r}: '@' and control characters are not allowed "
            "('@' separates a name from a version number, as in name@2).",
            hint="Pass --name NAME.",
        )
    return name


def _insert_chunks(con: duckdb.DuckDBPyConnection, version_id: str, chunks: tuple[Chunk, ...]) -> None:
    # One statement per table: a 1 MB document has thousands of chunks, and row-by-row inserts
    # held the store's lock for tens of seconds. Chunks shared with earlier versions are skipped.
    insert_columns(
        con,
        "chunks",
        {
            "id": [c.id for c in chunks],
            "kind": [c.kind for c in chunks],
            "title": [c.title for c in chunks],
            "text": [c.text for c in chunks],
        },
        "ON CONFLICT DO NOTHING",
    )
    insert_columns(
        con,
        "version_chunks",
        {
            "version_id": [version_id] * len(chunks),
            "chunk_id": [c.id for c in chunks],
            "key": [c.key for c in chunks],
            "position": [c.position for c in chunks],
            "line": [c.line for c in chunks],
            "heading_path": [list(c.heading_path) for c in chunks],
            "attrs": [json.dumps(dict(c.attrs)) if c.attrs else None for c in chunks],
            "questions": [list(c.questions) if c.questions else None for c in chunks],
        },
    )


def save_version(
    store: Store, parsed: ParsedDocument, document: str, source_path: str | None = None
) -> tuple[TraitsVersion, bool]:
    """Store a parsed document as the next version of `document`, in one transaction.

    Versions are content-addressed: if a version with this text already exists (under any
    name) nothing is written and that version is returned.

    Args:
        store: The project store.
        parsed: The output of `parse_traits` / `read_traits_file`.
        document: The document's name.
        source_path: Where the text came from, kept for the record.

    Returns:
        The version and whether it was created now.
    """
    check_document_name(document)
    version_id = parsed.version_id
    with store.transaction() as con:
        existing = _fetch_version(con, "v.id = ?", [version_id])
        if existing:
            return existing[0], False
        con.execute("INSERT INTO traits_documents (name) VALUES (?) ON CONFLICT DO NOTHING", [document])
        row = con.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM traits_versions WHERE document = ?", [document]
        ).fetchone()
        number = int(row[0]) if row else 1
        con.execute(
            "INSERT INTO traits_versions (id, document, number, title, source_path, text, format, reading)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [version_id, document, number, parsed.title, source_path, parsed.text, parsed.format, parsed.reading],
        )
        _insert_chunks(con, version_id, parsed.chunks)
        return _fetch_version(con, "v.id = ?", [version_id])[0], True


def add_traits_file(
    store: Store, path: str | Path, name: str | None = None, options: ReadOptions | None = None
) -> AddResult:
    """Read, parse and store a traits file: the one entry point for CLI, app and notebooks.

    Nothing is written unless the whole file parses.

    Args:
        store: The project store.
        path: The traits file, in any shape `workbench.traits.read_traits_file` reads.
        name: Document name; defaults to the file's stem.
        options: How to read it (format, trait level, selection, placeholder values).

    Returns:
        The version, whether it was created, and the parsed document (for its warnings).

    Raises:
        WorkbenchError: The file is unreadable or malformed, or the name is invalid.
    """
    path = Path(path)
    document = check_document_name(name if name is not None else path.stem)
    parsed = read_traits_file(path, options)
    version, created = save_version(store, parsed, document, str(path))
    return AddResult(version, created, parsed)


def list_versions(store: Store, document: str | None = None) -> list[TraitsVersion]:
    """All versions, ordered by document then number; only `document`'s if given."""
    with store.connect() as con:
        if document is None:
            return _fetch_version(con, "true", [])
        return _fetch_version(con, "v.document = ?", [document])


def _by_name(con: duckdb.DuckDBPyConnection, ref: str) -> TraitsVersion | None:
    name, at, number = ref.rpartition("@") if "@" in ref else (ref, "", "")
    if not at:
        versions = _fetch_version(con, "v.document = ?", [name])
        return versions[-1] if versions else None
    if not number.isdigit():
        raise WorkbenchError(f"Bad version ref {ref!r}: after '@' comes a version number, as in {name}@2.")
    found = _fetch_version(con, "v.document = ? AND v.number = ?", [name, int(number)])
    if not found:
        known = _fetch_version(con, "v.document = ?", [name])
        raise WorkbenchError(
            f"No version {ref!r}: "
            + (f"{name} has versions 1-{known[-1].number}." if known else f"there is no document {name!r}."),
            hint="See `workbench traits list`.",
        )
    return found[0]


def get_version(store: Store, ref: str) -> TraitsVersion:
    """Resolve a version ref (`name`, `name@N` or an id prefix of at least 4 characters).

    A document name wins over an id prefix that happens to spell the same.

    Raises:
        WorkbenchError: Nothing matches, the prefix is too short, or it matches several versions.
    """
    ref = ref.strip()
    with store.connect() as con:
        found = _by_name(con, ref)
        if found is not None:
            return found
        if len(ref) < MIN_PREFIX:
            raise WorkbenchError(
                f"No traits document named {ref!r}, and an id prefix needs at least {MIN_PREFIX} characters.",
                hint="See `workbench traits list`.",
            )
        matches = _fetch_version(con, "starts_with(v.id, ?)", [ref.lower()])
    if not matches:
        raise WorkbenchError(
            f"No traits version matches {ref!r} (as a document name or an id prefix).",
            hint="See `workbench traits list`.",
        )
    if len(matches) > 1:
        listed = ", ".join(f"{v.ref} ({v.id})" for v in matches)
        raise WorkbenchError(
            f"Version id prefix {ref!r} is ambiguous: it matches {listed}.", hint="Give more characters."
        )
    return matches[0]


def version_chunks(store: Store, version_id: str) -> list[Chunk]:
    """The chunks of one version, in document order."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT c.id, vc.key, c.kind, c.title, c.text, vc.heading_path, vc.line, vc.position,"
            " vc.attrs, vc.questions"
            " FROM version_chunks vc JOIN chunks c ON c.id = vc.chunk_id"
            " WHERE vc.version_id = ? ORDER BY vc.position",
            [version_id],
        ).fetchall()
    return [
        Chunk(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            tuple(r[5]),
            r[6],
            r[7],
            tuple(json.loads(r[8]).items()) if r[8] else (),
            tuple(r[9] or ()),
        )
        for r in rows
    ]


def version_text(store: Store, version_id: str) -> str:
    """The full Markdown text of one version."""
    with store.connect() as con:
        row = con.execute("SELECT text FROM traits_versions WHERE id = ?", [version_id]).fetchone()
    if row is None:
        raise WorkbenchError(f"No traits version with id {version_id!r}.", hint="See `workbench traits list`.")
    return str(row[0])


def diff_refs(store: Store, old_ref: str, new_ref: str) -> tuple[TraitsVersion, TraitsVersion, VersionDiff]:
    """Resolve two refs and diff their chunks (see `workbench.traits.diff_versions`)."""
    old, new = get_version(store, old_ref), get_version(store, new_ref)
    return old, new, diff_versions(version_chunks(store, old.id), version_chunks(store, new.id))


@dataclass(frozen=True)
class TraitsSource:
    """A traits text to start editing from: a stored version or a Markdown file.

    Attributes:
        label: How a picker shows it ("candid_care@2 (stored)", "traits/x.md (file)").
        document: The document name a save would use (the version's, or the file's stem).
        text: The Markdown text.
        path: The file it came from, or None for a stored version.
    """

    label: str
    document: str
    text: str
    path: Path | None = None


def traits_sources(store: Store, project_folder: Path, *other_folders: Path) -> list[TraitsSource]:
    """What an editor can start from, in this order: the project's own `traits/*.md` files, the
    latest stored version of each document, then the Markdown files of `other_folders`.

    Files that are not UTF-8 are skipped here; reading them properly (`read_traits_file`) says why.
    """

    def files(folder: Path) -> list[TraitsSource]:
        found = []
        for path in sorted(folder.glob("*.md")):
            try:
                found.append(TraitsSource(f"{path} (file)", path.stem, path.read_text(encoding="utf-8"), path))
            except (OSError, UnicodeDecodeError):
                continue
        return found

    latest: dict[str, TraitsVersion] = {v.document: v for v in list_versions(store)}
    stored = [TraitsSource(f"{v.ref} (stored)", v.document, version_text(store, v.id)) for v in latest.values()]
    return files(project_folder / "traits") + stored + [s for folder in other_folders for s in files(folder)]
