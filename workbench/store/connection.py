"""Short-lived DuckDB connections with lock-conflict retry and one-time migration.

DuckDB lets one process write a file at a time. The app, a notebook and a CLI run may share a
project, so nobody holds a connection: `Store.connect()` opens, yields and closes. When another
process holds the lock we back off with jitter and try again; if the lock outlasts
`lock_timeout_s` (default `DEFAULT_LOCK_TIMEOUT_S`) we raise `StoreBusyError` naming the file and,
from DuckDB's lock error, the process that holds it.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from workbench.errors import StoreBusyError
from workbench.store.migrations import migrate

DEFAULT_LOCK_TIMEOUT_S = 60.0
MAX_HOLDER_CHARS = 200
# DuckDB's lock error: '... Conflicting lock is held in /usr/bin/python3.11 (PID 1740). See also ...'
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")

_migrated: set[Path] = set()
_migrate_lock = threading.Lock()
# DuckDB refuses a thread opening a file while another thread of the process opens or closes it
# ("Unique file handle conflict"). Both are quick, so threads take turns at them; connections, once
# open, are used concurrently as before.
_open_lock = threading.Lock()
# The connections of open `Store.session()`s, per store file. Thread-local, not a ContextVar:
# asyncio.to_thread copies context variables into its workers, which must never share a connection.
_session = threading.local()


def _session_connection(path: Path) -> duckdb.DuckDBPyConnection | None:
    """This thread's session connection to `path`, unless async code is running here (tasks interleave)."""
    try:
        asyncio.get_running_loop()
        return None
    except RuntimeError:
        return getattr(_session, "connections", {}).get(path)


def _is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def lock_holder(error: BaseException) -> str | None:
    """The process a DuckDB lock error names, with its command line where this host can read it."""
    found = _HOLDER.search(str(error))
    if found is None:
        return None
    try:
        # The program alone ("python3.11") rarely says which command; its arguments usually do.
        command = Path(f"/proc/{found['pid']}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = ""
    command = command.strip() or found["program"]
    if len(command) > MAX_HOLDER_CHARS:
        command = command[: MAX_HOLDER_CHARS - 1] + "…"
    return f"process {found['pid']} ({command})"


class Store:
    """A handle on one project's DuckDB file. Cheap to create; holds no connection.

    Args:
        path: The `.duckdb` file. Created, with its schema, on first use.
        lock_timeout_s: How long to keep retrying while another process holds the write lock
            (default: `DEFAULT_LOCK_TIMEOUT_S`, read when the handle is made).
    """

    def __init__(self, path: Path, lock_timeout_s: float | None = None) -> None:
        self.path = Path(path).resolve()
        self.lock_timeout_s = DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _open(self) -> duckdb.DuckDBPyConnection:
        retrying = Retrying(
            retry=retry_if_exception(_is_lock_conflict),
            wait=wait_exponential_jitter(initial=0.02, max=1.0),
            stop=stop_after_delay(self.lock_timeout_s),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt, _open_lock:
                    return duckdb.connect(str(self.path))
        except duckdb.IOException as e:
            if _is_lock_conflict(e):
                holder = lock_holder(e)
                raise StoreBusyError(
                    f"The store {self.path} stayed locked by {holder or 'another process'} "
                    f"for {self.lock_timeout_s:g}s.",
                    hint="Another workbench command, app or notebook is writing to it; wait or stop that one.",
                    path=self.path,
                    holder=holder,
                ) from e
            raise
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    @contextmanager
    def session(self) -> Iterator[None]:
        """Share one connection among every `connect()` inside this block (in this thread), then close it.

        Opening a large store costs tens of milliseconds, so a page that makes a dozen short reads
        opens it once per rerun instead of once per read. The connection lives only as long as the
        block (one rerun of a page), so nothing is held between reruns.
        """
        connections: dict[Path, duckdb.DuckDBPyConnection] = getattr(_session, "connections", {})
        if self.path in connections:
            yield
            return
        with self.connect() as con:
            _session.connections = {**connections, self.path: con}
            try:
                yield
            finally:
                _session.connections = connections

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection for one unit of work, migrating the schema on first use (or reuse the session's)."""
        shared = _session_connection(self.path)
        if shared is not None:
            yield shared
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open()
        try:
            if self.path not in _migrated:
                with _migrate_lock:
                    if self.path not in _migrated:
                        migrate(con, self.path)
                        _migrated.add(self.path)
            yield con
        finally:
            with _open_lock:
                con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Like `connect()`, inside BEGIN/COMMIT: all of it is written, or none of it."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
