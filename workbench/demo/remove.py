"""Finding the demo's rows (has_demo, demo_counts) and removing them, and nothing else (remove_demo)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from workbench.demo.models import DEMO_ORIGIN
from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.store import Store

_DATASETS = "SELECT id FROM audit_datasets WHERE origin = $origin"
_AUDITS = f"SELECT id FROM audits WHERE dataset_id IN ({_DATASETS})"
_REVIEWED = " OR ".join(
    f"(item_table = '{t}' AND item_id IN (SELECT id FROM {t} WHERE run_id = $run))"
    for t in ("sft_scenarios", "sft_examples", "documents")
)
# Where each table's demo rows are, children before the rows their clauses read.
DEMO_ROWS: tuple[tuple[str, str], ...] = (
    ("review_events", _REVIEWED),
    ("audit_ratings", f"pattern_id IN (SELECT id FROM audit_patterns WHERE audit_id IN ({_AUDITS}))"),
    ("audit_candidates", f"audit_id IN ({_AUDITS})"),
    ("audit_patterns", f"audit_id IN ({_AUDITS})"),
    ("audits", f"dataset_id IN ({_DATASETS})"),
    ("audit_rows", f"dataset_id IN ({_DATASETS})"),
    ("audit_datasets", "origin = $origin"),
    ("sft_generations", "run_id = $run"),
    ("sft_examples", "run_id = $run"),
    ("sft_scenarios", "run_id = $run"),
    ("doc_generations", "run_id = $run"),
    ("documents", "run_id = $run"),
    ("runs", "id = $run"),
)
# Tables whose rows name a traits version: the demo's version stays while any non-demo row uses it.
_VERSION_USERS = ("sft_scenarios", "sft_examples", "documents", "runs", "eval_runs")


def has_demo(store: Store) -> bool:
    """Whether the store holds the demo data (its `runs` row)."""
    with store.connect() as con:
        return con.execute("SELECT 1 FROM runs WHERE id = ?", [DEMO_RUN]).fetchone() is not None


def _markers(clause: str) -> dict[str, str]:
    values = {"run": DEMO_RUN, "origin": DEMO_ORIGIN}
    return {name: value for name, value in values.items() if f"${name}" in clause}


def demo_counts(store: Store) -> dict[str, int]:
    """Demo rows per table (every table the demo writes, zeros included)."""
    counts = {}
    with store.connect() as con:
        for table, clause in DEMO_ROWS:
            row = con.execute(f"SELECT count(*) FROM {table} WHERE {clause}", _markers(clause)).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def remove_demo(project: Project) -> int:
    """Delete every demo row (reviews of demo rows and edited copies included); returns how many.

    The traits version goes too if the demo added it and nothing else uses it.
    """
    with project.store.connect() as con:
        run = con.execute("SELECT traits_version, config FROM runs WHERE id = ?", [DEMO_RUN]).fetchone()
    added = run is not None and json.loads(run[1] or "{}").get("traits_version_added", False)
    return delete_demo(project.store, run[0] if run and added else None)


def delete_demo(store: Store, version_id: str | None) -> int:
    """Delete the demo rows, and `version_id` (if given) unless a non-demo row uses it, in one transaction."""
    removed = 0
    with store.transaction() as con:
        for table, clause in DEMO_ROWS:
            row = con.execute(f"DELETE FROM {table} WHERE {clause}", _markers(clause)).fetchone()
            removed += int(row[0]) if row else 0
        if version_id is not None:
            removed += _delete_version(con, version_id)
    return removed


def _delete_version(con: duckdb.DuckDBPyConnection, version_id: str) -> int:
    for table in _VERSION_USERS:
        if con.execute(f"SELECT 1 FROM {table} WHERE traits_version = ? LIMIT 1", [version_id]).fetchone():
            return 0
    document = con.execute("SELECT document FROM traits_versions WHERE id = ?", [version_id]).fetchone()
    statements: list[tuple[str, list[Any]]] = [
        ("DELETE FROM chunks WHERE id IN (SELECT chunk_id FROM version_chunks WHERE version_id = ?)"
         " AND id NOT IN (SELECT chunk_id FROM version_chunks WHERE version_id != ?)", [version_id, version_id]),
        ("DELETE FROM version_chunks WHERE version_id = ?", [version_id]),
        ("DELETE FROM traits_versions WHERE id = ?", [version_id]),
        ("DELETE FROM traits_documents WHERE name = ? AND name NOT IN (SELECT document FROM traits_versions)",
         [document[0] if document else None]),
    ]  # fmt: skip
    removed = 0
    for sql, params in statements:
        row = con.execute(sql, params).fetchone()
        removed += int(row[0]) if row else 0
    return removed
