"""Numbered schema migrations, applied in order and recorded in `schema_migrations`.

Each file in `migrations/` is named `NNN_description.sql`. A migration runs inside one
transaction together with its bookkeeping row, so a crash leaves the store at the previous
version. Later features add their tables by adding the next numbered file; never edit one
that has shipped.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import duckdb

from workbench.errors import WorkbenchError

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("workbench.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> list[int]:
    """Apply every migration the store lacks. Returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    shipped = available_migrations()
    newest = max((v for v, _, _ in shipped), default=0)
    if applied and max(applied) > newest:
        raise WorkbenchError(
            f"The store {path} has schema version {max(applied)}, newer than this workbench knows ({newest}).",
            hint="Upgrade the workbench package (pip install -e . in an up-to-date checkout).",
        )
    done = []
    for version, name, sql in shipped:
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        done.append(version)
    return done
