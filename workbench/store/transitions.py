"""Automatic status changes, as compare-and-set: a person's decision always wins.

A pipeline step reads rows, thinks (often for seconds: a model call is in flight), then writes
their new status. Meanwhile a person may have rejected, accepted or sent back one of them. So
every automatic status change, in every table, names the status the step *read*, and the row
moves only if it still has that status — checked in the same UPDATE statement, so nothing can
slip in between. A row a person moved keeps the person's status; the step's answer is still
stored in its generations table, and the step simply does not apply it.

This is the only place pipeline code writes a `status` column of an existing row
(tests/test_transitions.py checks the source for any other). Human decisions go through
workbench/review.py, and run bookkeeping through workbench/runs.py.

    moved = move_rows(con, "sft_scenarios", [Move(row.id, read="new", status="ok", reason="kept")])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb


@dataclass(frozen=True)
class Move:
    """One row's automatic status change.

    Attributes:
        id: The row.
        read: The status the step read; the row moves only if it still has it.
        status: The status to give it.
        reason: Why (stored in the row's `reason` column).
        values: Other columns to set in the same statement (e.g. scores, the step's output).
    """

    id: str
    read: str
    status: str
    reason: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


def move_rows(con: duckdb.DuckDBPyConnection, table: str, moves: Sequence[Move]) -> set[str]:
    """Apply `moves` to `table` where each row still has the status its step read.

    Args:
        con: An open connection (usually inside the step's batch transaction).
        table: A table with `id`, `status`, `reason` and `updated_at` columns.
        moves: The changes; moves that set different extra columns are grouped into one
            statement per group.

    Returns:
        The ids of the rows that moved. A row missing from it was changed by someone else
        (a person, another run) after the step read it, and was left as they left it.
    """
    moved: set[str] = set()
    groups: dict[tuple[str, ...], list[Move]] = {}
    for move in moves:
        groups.setdefault(tuple(sorted(move.values)), []).append(move)
    for columns, group in groups.items():
        moved |= _move_group(con, table, columns, group)
    return moved


# A table's columns, looked up once per process: migrations run before any step, so they do not change.
_TABLE_COLUMNS: dict[str, frozenset[str]] = {}


def _columns_of(con: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    if table not in _TABLE_COLUMNS:
        _TABLE_COLUMNS[table] = frozenset(d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description)
    return _TABLE_COLUMNS[table]


def _move_group(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], moves: list[Move]) -> set[str]:
    table_columns = _columns_of(con, table)
    # Audit patterns carry no reason, and generation tables no updated_at: set what the table has.
    if "reason" in table_columns:
        columns = ("reason", *columns)
    elif any(m.reason for m in moves):
        raise ValueError(f"{table} has no reason column")
    values: dict[str, list[Any]] = {
        "id": [m.id for m in moves], "read": [m.read for m in moves], "status": [m.status for m in moves]
    }  # fmt: skip
    values |= {c: [m.reason if c == "reason" else m.values[c] for m in moves] for c in columns}
    # One statement of column lists (executemany costs about a millisecond a row in DuckDB). The
    # `status = m.read` test is the compare-and-set: it is evaluated under the same write.
    unnested = ", ".join(f"unnest(?) AS {name}" for name in values)
    assignments = [f"{c} = m.{c}" for c in ("status", *columns)]
    if "updated_at" in table_columns:
        assignments.append("updated_at = current_timestamp")
    rows = con.execute(
        f"UPDATE {table} AS t SET {', '.join(assignments)} FROM (SELECT {unnested}) AS m"
        " WHERE t.id = m.id AND t.status = m.read RETURNING t.id",
        list(values.values()),
    ).fetchall()
    return {row[0] for row in rows}
