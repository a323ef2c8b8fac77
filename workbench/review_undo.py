"""Undo one review decision (a single item or a bulk action over a whole filter) without deleting anything.

    batch = review_many(store, "sft_examples", ids, "accept", reviewer="ada")
    result = undo_batch(store, batch.batch_id, reviewer="ada")   # every item back to its earlier status

History stays append-only: undoing writes one `undo` event per item (payload.undoes = the batch) and
puts back the status and reason each item had before. An item that moved on since the decision
(reviewed again, regenerated, its edited copy reviewed) is left as it is and reported, so an undo
never wipes out later work.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from workbench.errors import WorkbenchError
from workbench.review import STATUS_AFTER
from workbench.store import Store


@dataclass(frozen=True)
class UndoResult:
    """What undo_batch() did.

    Attributes:
        batch_id: The batch that was undone.
        undo_batch_id: The batch of the `undo` events it wrote.
        restored: Items put back to their earlier status.
        skipped: Items left as they are, with why.
    """

    batch_id: str
    undo_batch_id: str
    restored: int
    skipped: dict[str, str]


@dataclass(frozen=True)
class _Event:
    table: str
    item_id: str
    action: str
    created_at: datetime
    payload: dict[str, Any]


def _events(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[_Event]:
    rows = con.execute(
        "SELECT item_table, item_id, action, created_at, payload FROM review_events"
        " WHERE batch_id = ? AND action <> 'undo' ORDER BY item_id",
        [batch_id],
    ).fetchall()
    if not rows:
        raise WorkbenchError(f"No review decision {batch_id!r} to undo.")
    undone = con.execute(
        "SELECT 1 FROM review_events WHERE action = 'undo' AND json_extract_string(payload, '$.undoes') = ? LIMIT 1",
        [batch_id],
    ).fetchone()
    if undone:
        raise WorkbenchError(f"Review decision {batch_id} has already been undone.")
    return [_Event(t, i, a, c, json.loads(p or "{}")) for t, i, a, c, p in rows]


def _why_not(con: duckdb.DuckDBPyConnection, e: _Event, batch_id: str) -> str | None:
    """Why this item cannot go back (it moved on since the decision), or None when it can."""
    later = con.execute(
        "SELECT action, reviewer FROM review_events WHERE item_table = ? AND item_id = ? AND batch_id <> ?"
        " AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
        [e.table, e.item_id, batch_id, e.created_at],
    ).fetchone()
    if later:
        return f"{later[1]} decided '{later[0]}' on it since"
    status = con.execute(f"SELECT status FROM {e.table} WHERE id = ?", [e.item_id]).fetchone()
    expected = "superseded" if e.action == "edit" else STATUS_AFTER.get(e.action, e.payload.get("previous_status"))
    if status is None or status[0] != expected:
        return f"its status is now {status[0] if status else 'missing'}"
    children = con.execute(
        f"SELECT id, status FROM {e.table} WHERE parent_id = ? AND id IS DISTINCT FROM ?",
        [e.item_id, e.payload.get("new_id")],
    ).fetchone()
    if children:
        return f"it has a newer version {children[0]} ({children[1]})"
    if e.action == "edit":
        return _why_not_edited_copy(con, e)
    return None


def _why_not_edited_copy(con: duckdb.DuckDBPyConnection, e: _Event) -> str | None:
    copy_id = e.payload.get("new_id")
    reviewed = con.execute(
        "SELECT 1 FROM review_events WHERE item_table = ? AND item_id = ? LIMIT 1", [e.table, copy_id]
    ).fetchone()
    newer = con.execute(f"SELECT 1 FROM {e.table} WHERE parent_id = ? LIMIT 1", [copy_id]).fetchone()
    return f"its edited version {copy_id} has been reviewed since" if reviewed or newer else None


def undo_batch(store: Store, batch_id: str, *, reviewer: str) -> UndoResult:
    """Put every item of one review decision back to the status it had before, in one transaction.

    Raises:
        WorkbenchError: no such decision, or it was undone already.
    """
    if not reviewer.strip():
        raise WorkbenchError("An undo needs a reviewer name.", hint="Set WORKBENCH_REVIEWER or pass a reviewer.")
    undo_id = uuid.uuid4().hex
    with store.transaction() as con:
        events = _events(con, batch_id)
        skipped: dict[str, str] = {}
        restored: list[_Event] = []
        for e in events:
            why = _why_not(con, e, batch_id)
            if why:
                skipped[e.item_id] = why
            else:
                restored.append(e)
        _restore(con, restored, reviewer, batch_id, undo_id)
    return UndoResult(batch_id, undo_id, len(restored), skipped)


def _restore(con: duckdb.DuckDBPyConnection, events: list[_Event], reviewer: str, batch_id: str, undo_id: str) -> None:
    if not events:
        return
    table = events[0].table
    con.execute(
        f"UPDATE {table} SET status = v.status, reason = v.reason, updated_at = current_timestamp"
        f" FROM (SELECT unnest(?) AS id, unnest(?) AS status, unnest(?) AS reason) v WHERE {table}.id = v.id",
        [[e.item_id for e in events], [e.payload["previous_status"] for e in events],
         [e.payload.get("previous_reason") for e in events]],
    )  # fmt: skip
    copies = [e.payload["new_id"] for e in events if e.action == "edit"]
    if copies:
        con.execute(
            f"UPDATE {table} SET status = 'superseded', reason = ?, updated_at = current_timestamp"
            " WHERE id IN (SELECT unnest(?))",
            [f"edit undone by {reviewer}", copies],
        )
    con.execute(
        "INSERT INTO review_events (id, item_table, item_id, action, reviewer, note, payload, batch_id)"
        " SELECT unnest(?), ?, unnest(?), 'undo', ?, NULL, unnest(?), ?",
        [[uuid.uuid4().hex for _ in events], table, [e.item_id for e in events], reviewer,
         [json.dumps({"undoes": batch_id, "restored_status": e.payload["previous_status"]}) for e in events], undo_id],
    )  # fmt: skip
