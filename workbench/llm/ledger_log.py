"""The ledger's write-ahead log: every request is on disk before it is sent.

The gateway writes ledger and cache rows to the store in one short transaction a second (a long
run must not hold the store). A process killed between two flushes would lose that second's
bookkeeping: paid requests missing from `llm_calls`, answers missing from the cache and paid for
again. So each gateway process also appends every event, as it happens, to a log file beside the
store (`workbench.ledger/<id>.jsonl`, first line: the owning process):

    {"sent": ROW}      before a request goes out (a ledger row with status `sent`)
    {"call": ROW}      when it ends: the same row id, with outcome, tokens and cost
    {"cache": ROW}     a final answer, for the cache

Writes go to the operating system at once (a killed process loses nothing it wrote; a power
cut may lose the last lines). After each flush to the store the log starts a new segment holding
only the requests still in flight, and the flushed segment is deleted; a clean exit deletes the
last one. `recover_ledger` replays the segments of dead processes into the store: completed calls
and cached answers as they were, and requests that were in flight as ledger rows with status
`interrupted` and no cost — their cost is unknown, not zero. Replays are idempotent (rows are
keyed by id), so two processes recovering at once do no harm.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from workbench.store import Store
from workbench.store.owner import current_owner, owner_alive

INTERRUPTED_ERROR = "in flight when its process ended (killed?); whether it was answered and its cost are unknown"


def log_dir(store: Store) -> Path:
    """Where a store's ledger logs live: `workbench.ledger/` beside `workbench.duckdb`."""
    return store.path.with_suffix(".ledger")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$ts": value.isoformat()}
    return value


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v["$ts"]) if isinstance(v, dict) and "$ts" in v else v for k, v in row.items()}


class LedgerLog:
    """One process's append-only log segments for one store."""

    def __init__(self, store: Store) -> None:
        self.directory = log_dir(store)
        self._file: IO[str] | None = None
        self._path: Path | None = None

    def append(self, kind: str, row: dict[str, Any]) -> None:
        """Write one event and hand it to the operating system now (no user-space buffering)."""
        if self._file is None:
            self._open_segment()
        assert self._file is not None
        self._file.write(json.dumps({kind: {k: _encode(v) for k, v in row.items()}}, ensure_ascii=False) + "\n")
        self._file.flush()

    def rotate(self, in_flight: list[dict[str, Any]]) -> Path | None:
        """Start a new segment holding `in_flight`'s sent events; return the old one (to delete once flushed)."""
        old = self._path
        self._close()
        for row in in_flight:
            self.append("sent", row)
        return old

    def close(self) -> None:
        """Close and delete the current segment (everything in it has been flushed)."""
        path = self._path
        self._close()
        if path is not None:
            path.unlink(missing_ok=True)

    def _open_segment(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._path = self.directory / f"{uuid.uuid4().hex}.jsonl"
        self._file = self._path.open("w", encoding="utf-8")
        self._file.write(json.dumps({"owner": current_owner()}) + "\n")
        self._file.flush()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._path = None, None


def _read_segment(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The owner and events of a segment; a line torn by the kill ends the reading."""
    events: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None, []
    owner = None
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            break
        if "owner" in event:
            owner = event["owner"]
        else:
            events.append(event)
    return owner, events


def dead_segments(store: Store) -> dict[Path, list[dict[str, Any]]]:
    """The events of every segment whose owning process has ended."""
    directory = log_dir(store)
    if not directory.is_dir():
        return {}
    found = {}
    for path in sorted(directory.glob("*.jsonl")):
        owner, events = _read_segment(path)
        if owner is not None and not owner_alive(owner):
            found[path] = events
    return found


def replay_rows(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ledger rows (completed or interrupted) and cache rows from a dead process's events."""
    calls: dict[str, dict[str, Any]] = {}
    cache: dict[str, dict[str, Any]] = {}
    for event in events:
        ((kind, row),) = event.items()
        row = _decode(row)
        if kind == "sent":
            interrupted = row | {"status": "interrupted", "error": INTERRUPTED_ERROR, "cost_usd": None}
            calls.setdefault(row["id"], interrupted)
        elif kind == "call":
            calls[row["id"]] = row
        elif kind == "cache":
            cache[row["key"]] = row
    return list(calls.values()), list(cache.values())
