"""The store: migrations, short-lived connections, and two processes writing at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from workbench.errors import StoreBusyError, WorkbenchError
from workbench.store import Store
from workbench.store.migrations import available_migrations


def test_first_connect_applies_every_migration_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.connect() as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert versions == [v for v, _, _ in available_migrations()]
    assert {"traits_versions", "chunks", "runs", "llm_cache", "llm_calls", "review_events"} <= tables
    # A second process (fresh interpreter) must find nothing left to apply.
    code = (
        "import duckdb, sys; from workbench.store.migrations import migrate; from pathlib import Path;"
        f"con = duckdb.connect({str(store.path)!r}); print(migrate(con, Path('x')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_store_from_a_newer_workbench_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    con.close()
    with pytest.raises(WorkbenchError, match="newer than this workbench"), Store(path).connect():
        pass


def test_no_connection_is_held_between_units_of_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.connect() as con:
        con.execute("SELECT 1")
    # Another process can open the file read-write at once: nothing of ours holds the lock.
    code = f"import duckdb; duckdb.connect({str(store.path)!r}).execute('SELECT 1')"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_session_shares_one_connection_and_releases_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.session():
        with store.connect() as first, store.transaction() as second:
            assert first is second
            second.execute("INSERT INTO runs (id, stage, status) VALUES ('r1', 'test', 'running')")
        other_thread: list[object] = []

        def use_store() -> None:
            with store.connect() as con:
                other_thread.append(con)

        thread = threading.Thread(target=use_store)
        thread.start()
        thread.join()
        assert other_thread and other_thread[0] is not first, "another thread never sees this thread's session"

        # Nor do asyncio.to_thread workers (which copy context variables) or async code on this thread.
        async def write_concurrently() -> None:
            def insert(i: int) -> None:
                with store.transaction() as con:
                    con.execute("INSERT INTO runs (id, stage, status) VALUES (?, 'test', 'running')", [f"t{i}"])

            await asyncio.gather(*(asyncio.to_thread(insert, i) for i in range(8)))
            with store.connect() as con:
                assert con is not first

        asyncio.run(write_concurrently())
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")  # closed when the session ended
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (9,)
    code = f"import duckdb; duckdb.connect({str(store.path)!r}).execute('SELECT 1')"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_transaction_writes_all_or_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(RuntimeError), store.transaction() as con:
        con.execute("INSERT INTO runs (id, stage, status) VALUES ('r1', 'test', 'running')")
        raise RuntimeError("killed halfway")
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def python(code: str) -> subprocess.Popen[str]:
    """Another process (a fresh interpreter, like a second CLI run) running `code`."""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_lock_held_too_long_names_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", lock_timeout_s=0.5)
    with store.connect():
        pass
    holder = python(
        f"import duckdb, time; con = duckdb.connect({str(store.path)!r}); print('locked', flush=True); time.sleep(5)"
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreBusyError, match=str(store.path)), store.connect():
            pass
    finally:
        holder.wait(60)


WRITER = """
from pathlib import Path
from workbench.store import Store
store = Store(Path({path!r}), lock_timeout_s=60)
for i in range({count}):
    with store.connect() as con:
        con.execute(
            "INSERT INTO review_events (id, item_table, item_id, action, reviewer) VALUES (?, ?, ?, ?, ?)",
            [f"{name}-{{i}}", "t", str(i), "note", {name!r}],
        )
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path).connect():
        pass
    writers = [python(WRITER.format(path=str(path), count=60, name=name)) for name in ("alice", "bob")]
    assert [w.wait(120) for w in writers] == [0, 0]
    with Store(path).connect() as con:
        counts = dict(con.execute("SELECT reviewer, count(*) FROM review_events GROUP BY 1").fetchall())
    assert counts == {"alice": 60, "bob": 60}
