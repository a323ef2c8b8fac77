"""The call ledger and its buffered writer.

Every request the gateway sends becomes one `llm_calls` row (retries and repairs included), with
tokens, cost from the project's price table, latency and error. Rows and new cache entries are
buffered and written together every `flush_interval_s` in one short transaction, so a long run
never holds the store. Every event is first appended to the write-ahead log (ledger_log.py), so a
kill loses nothing: `recover_ledger` puts a dead process's calls and answers into the store, and
marks the requests it had in flight `interrupted`, their cost unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.config import Price
from workbench.llm.ledger_log import LedgerLog, dead_segments, replay_rows
from workbench.store import Store
from workbench.store.bulk import insert_columns

LEDGER_COLUMNS = (
    "id", "created_at", "run_id", "stage", "role", "model", "cache_key", "template_hash", "attempt", "purpose",
    "status", "finish_reason", "tokens_in", "tokens_out", "cost_usd", "latency_ms", "error",
)  # fmt: skip
CACHE_COLUMNS = (
    "key", "model", "status", "finish_reason", "text", "parsed", "error", "tokens_in", "tokens_out", "request",
)  # fmt: skip


# A cached permanent failure gives way to the outcome of a retry (`--retry-failed`); any other
# cached outcome is final, so a second writer of the same key changes nothing.
_CACHE_CONFLICT = (
    "ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in CACHE_COLUMNS[1:])
    + ", created_at = now() WHERE llm_cache.status = 'failed'"
)


def call_cost(price: Price | None, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD for one request, or None when the model has no price in the config."""
    if price is None:
        return None
    return ((tokens_in or 0) * price.input_per_mtok + (tokens_out or 0) * price.output_per_mtok) / 1e6


def new_ledger_row(**fields: Any) -> dict[str, Any]:
    """A ledger row with a fresh id; missing columns are NULL."""
    row = dict.fromkeys(LEDGER_COLUMNS)
    # Stamped when the request ends, not when the buffer is flushed a second later.
    row.update(fields, id=uuid.uuid4().hex, created_at=datetime.now(UTC).replace(tzinfo=None))
    return row


def _insert(con: Any, table: str, columns: tuple[str, ...], rows: list[dict], conflict: str = "") -> None:
    # One statement per flush (store/bulk.py): far faster than executemany, and unlike a registered
    # Arrow table it does not race with other threads' connections to the same file.
    insert_columns(con, table, {c: [r[c] for r in rows] for c in columns}, conflict)


def recover_ledger(store: Store) -> None:
    """Replay the write-ahead logs of processes that ended without flushing them (see ledger_log.py)."""
    segments = dead_segments(store)
    if not segments:
        return
    calls, cache = replay_rows([event for events in segments.values() for event in events])
    with store.transaction() as con:
        if cache:
            _insert(con, "llm_cache", CACHE_COLUMNS, cache, _CACHE_CONFLICT)
        if calls:
            _insert(con, "llm_calls", LEDGER_COLUMNS, calls, "ON CONFLICT DO NOTHING")
    for path in segments:
        path.unlink(missing_ok=True)


class LedgerWriter:
    """Logs every request ahead, buffers ledger and cache rows, and flushes them periodically."""

    def __init__(self, store: Store, flush_interval_s: float) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self._log = LedgerLog(store)
        self._in_flight: dict[str, dict[str, Any]] = {}
        self._flushed_segments: list[Path] = []
        self._calls: list[dict] = []
        self._cache: list[dict] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._closing = asyncio.Event()

    def begin_call(self, row: dict[str, Any]) -> None:
        """Log a request about to be sent (`row`: its ledger row, status `sent`), before it goes."""
        self._in_flight[row["id"]] = row
        self._log.append("sent", row)

    def add_call(self, row: dict[str, Any]) -> None:
        """Record how a request ended (the same id as its `begin_call` row)."""
        self._in_flight.pop(row["id"], None)
        self._log.append("call", row)
        self._calls.append(row)
        self._ensure_task()

    def add_cache(self, row: dict[str, Any]) -> None:
        self._log.append("cache", row)
        self._cache.append(row)
        self._ensure_task()

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    async def _flush_periodically(self) -> None:
        while True:
            # Wake every interval, or at once when closing; never cancelled mid-write.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.flush_interval_s)
            await self.flush()
            if self._closing.is_set() or not (self._calls or self._cache):
                return

    async def flush(self) -> None:
        """Write everything buffered so far (in a thread, so the event loop keeps serving calls)."""
        async with self._lock:
            calls, self._calls = self._calls, []
            cache, self._cache = self._cache, []
            if not (calls or cache):
                return
            # Events from now on go to a new segment; the old one goes once its rows are stored.
            old = self._log.rotate(list(self._in_flight.values()))
            if old is not None:
                self._flushed_segments.append(old)
            try:
                await asyncio.to_thread(self._write, calls, cache)
            except BaseException:
                # Keep the rows for the next flush rather than dropping the record of paid calls.
                self._calls[:0], self._cache[:0] = calls, cache
                raise
            for path in self._flushed_segments:
                path.unlink(missing_ok=True)
            self._flushed_segments.clear()

    def _write(self, calls: list[dict], cache: list[dict]) -> None:
        with self.store.transaction() as con:
            if cache:
                _insert(con, "llm_cache", CACHE_COLUMNS, cache, _CACHE_CONFLICT)
            if calls:
                _insert(con, "llm_calls", LEDGER_COLUMNS, calls)

    async def aclose(self) -> None:
        """Flush what is left, stop the background task, and delete the log (all of it is stored)."""
        self._closing.set()
        if self._task is not None:
            await self._task
        await self.flush()
        if not self._in_flight:  # else leave them for recovery to mark interrupted
            self._log.close()
