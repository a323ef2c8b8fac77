"""Storing a ~1 MB traits document: every chunk once, exactly as row-by-row inserts stored it.

Speed itself is measured by bench/traits_add.py, not asserted here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.large_traits import large_traits_document
from workbench.project import Project
from workbench.store import Store
from workbench.store.traits import save_version, version_chunks
from workbench.traits import ParsedDocument, parse_traits


def _tables(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with store.connect() as con:
        chunks = con.execute("SELECT id, kind, title, text FROM chunks ORDER BY id").fetchall()
        placed = con.execute(
            "SELECT version_id, chunk_id, key, position, line, heading_path FROM version_chunks ORDER BY ALL"
        ).fetchall()
    return chunks, placed


def _row_by_row(store: Store, parsed: ParsedDocument) -> None:
    """The reference: each chunk inserted on its own, as `save_version` did before it went bulk."""
    with store.transaction() as con:
        for c in parsed.chunks:
            con.execute(
                "INSERT INTO chunks (id, kind, title, text) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [c.id, c.kind, c.title, c.text],
            )
            con.execute(
                "INSERT INTO version_chunks (version_id, chunk_id, key, position, line, heading_path)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [parsed.version_id, c.id, c.key, c.position, c.line, list(c.heading_path)],
            )


def test_a_1mb_document_stores_every_chunk_exactly_once(project: Project) -> None:
    text = large_traits_document(4500)
    assert 900_000 < len(text.encode()) <= 1_000_000
    parsed = parse_traits(text)
    version, created = save_version(project.store, parsed, "large")
    assert created and version.chunk_count == len(parsed.chunks) > 4500
    assert version_chunks(project.store, version.id) == list(parsed.chunks)
    chunks, placed = _tables(project.store)
    assert len(chunks) == len({c.id for c in parsed.chunks}) == len(parsed.chunks)
    assert len(placed) == len(parsed.chunks)


def test_bulk_inserts_equal_row_by_row_inserts_across_versions(project: Project, tmp_path: Path) -> None:
    first = parse_traits(large_traits_document(400))
    # A second version sharing all but one chunk: the shared ones must not be stored twice.
    second = parse_traits(large_traits_document(400).replace("Trait 7 is", "Trait 7 now is", 1))
    reference = Store(tmp_path / "reference.duckdb")
    for parsed in (first, second):
        save_version(project.store, parsed, "doc")
        _row_by_row(reference, parsed)
    assert _tables(project.store) == _tables(reference)
    chunks, placed = _tables(project.store)
    assert len(chunks) == len(first.chunks) + 1
    assert len(placed) == len(first.chunks) + len(second.chunks)


def test_a_heading_with_a_long_run_of_spaces_parses() -> None:
    # Matched with one regex, such a heading backtracked quadratically: minutes for this line.
    heading = "Trade-offs" + " " * 900_000 + "and exceptions"
    parsed = parse_traits(f"- **Honest.** Says how sure it is.\n\n## {heading} ##\n\n- Safety comes first.\n")
    guidance = parsed.chunks[-1]
    assert (guidance.kind, guidance.heading_path, guidance.text) == ("guidance", (heading,), "Safety comes first.")
