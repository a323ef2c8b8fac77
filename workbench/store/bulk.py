"""Insert many rows in one statement: each column bound as one list parameter and unnested.

    insert_columns(con, "chunks", {"id": ids, "kind": kinds, ...}, "ON CONFLICT DO NOTHING")

DuckDB's `executemany` runs one statement per row (about a millisecond each), so a write of
thousands of rows held the store's lock for seconds. One `INSERT … SELECT unnest(?) …` is
parameterised like it (no SQL is built from values) and takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb


def insert_columns(
    con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]], conflict: str = ""
) -> None:
    """Insert the rows whose values `columns` holds, column by column, in one statement.

    Args:
        con: An open connection (usually inside `Store.transaction()`).
        table: The table; a literal of the caller's, never user input.
        columns: Column name -> that column's values, all of the same length.
        conflict: An optional `ON CONFLICT …` clause, a literal of the caller's.
    """
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns for {table} differ in length: {sorted(lengths)}")
    if lengths == {0}:
        return  # unnest of an empty list has no type to bind
    names = ", ".join(columns)
    unnested = ", ".join(f"unnest(?) AS {name}" for name in columns)
    con.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM (SELECT {unnested}) {conflict}",
        [list(values) for values in columns.values()],
    )
