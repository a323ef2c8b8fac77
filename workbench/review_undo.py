"""Undo one review decision (a single item or a bulk action over a whole filter) without deleting anything.

    batch = review_many(store, "sft_examples", ids, "accept", reviewer="ada")
    result = undo_batch(store, batch.batch_id, reviewer="ada")   # every item back to its earlier status

History stays append-only: undoing writes one `undo` event per item (payload.undoes = the batch) and
puts back the status and reason each item had before. An item that moved on since the decision
(reviewed again, regenerated, its edited copy reviewed) is left as it is and reported, so an undo
never wipes out later work. An undone edit's copy becomes `withdrawn`. The checks are a few
set-based queries however many items the decision covered.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import duckdb

from workbench.errors import WorkbenchError
from workbench.review import STATUS_AFTER
from workbench.store import Store


@dataclass(frozen=True)
class UndoResult:
    """What undo_batch() did.

    Attributes:
        batch_id: The batch that was undone.
        restored: Items put back to their earlier status.
        skipped: Items left as they are, with why.
    """

    batch_id: str
    restored: int
    skipped: dict[str, str]


# One row per item of the batch: what the decision did, and what has happened to the item since.
_STATE = """
WITH e AS (
    SELECT item_id, action, created_at, payload,
           json_extract_string(payload, '$.previous_status') AS previous_status,
           json_extract_string(payload, '$.previous_reason') AS previous_reason,
           json_extract_string(payload, '$.new_id') AS copy_id
    FROM review_events WHERE batch_id = $batch AND action <> 'undo'
)
SELECT e.item_id, e.action, e.previous_status, e.previous_reason, e.copy_id, t.status,
    (SELECT arg_max(r.reviewer || ' decided ''' || r.action || ''' on it since', r.created_at) FROM review_events r
      WHERE r.item_table = $table AND r.item_id = e.item_id AND r.batch_id <> $batch
        AND r.created_at >= e.created_at) AS later,
    (SELECT min(c.id || ' (' || c.status || ')') FROM {table} c
      WHERE c.parent_id = e.item_id AND c.id IS DISTINCT FROM e.copy_id AND c.status <> 'withdrawn') AS newer,
    (SELECT count(*) FROM review_events r WHERE r.item_table = $table AND r.item_id = e.copy_id)
      + (SELECT count(*) FROM {table} c WHERE c.parent_id = e.copy_id) AS copy_moved
FROM e LEFT JOIN {table} t ON t.id = e.item_id ORDER BY e.item_id
"""


def _batch_table(con: duckdb.DuckDBPyConnection, batch_id: str) -> str:
    row = con.execute(
        "SELECT any_value(item_table) FROM review_events WHERE batch_id = ? AND action <> 'undo'", [batch_id]
    ).fetchone()
    if row is None or row[0] is None:
        raise WorkbenchError(f"No review decision {batch_id!r} to undo.")
    undone = con.execute(
        "SELECT 1 FROM review_events WHERE action = 'undo' AND json_extract_string(payload, '$.undoes') = ? LIMIT 1",
        [batch_id],
    ).fetchone()
    if undone:
        raise WorkbenchError(f"Review decision {batch_id} has already been undone.")
    return str(row[0])


def _why_not(action: str, previous: str, status: str | None, later: str | None, newer: str | None,
             copy_moved: int) -> str | None:  # fmt: skip
    """Why an item cannot go back (it moved on since the decision), or None when it can."""
    expected = "superseded" if action == "edit" else STATUS_AFTER.get(action, previous)
    if later:
        return later
    if status != expected:
        return f"its status is now {status or 'missing'}"
    if newer:
        return f"it has a newer version {newer}"
    if copy_moved:
        return "its edited version has been reviewed since"
    return None


def undo_batch(store: Store, batch_id: str, *, reviewer: str) -> UndoResult:
    """Put every item of one review decision back to the status it had before, in one transaction.

    Raises:
        WorkbenchError: no such decision, or it was undone already.
    """
    if not reviewer.strip():
        raise WorkbenchError("An undo needs a reviewer name.", hint="Set WORKBENCH_REVIEWER or pass a reviewer.")
    with store.transaction() as con:
        table = _batch_table(con, batch_id)
        # The table name comes from our own review_events rows (a REVIEWABLE table), never from input.
        state = con.execute(_STATE.format(table=table), {"batch": batch_id, "table": table}).fetchall()
        skipped: dict[str, str] = {}
        restore: list[tuple[str, str, str | None, str | None]] = []
        for item_id, action, previous, reason, copy_id, status, later, newer, copy_moved in state:
            why = _why_not(action, previous, status, later, newer, copy_moved)
            if why:
                skipped[item_id] = why
            else:
                restore.append((item_id, previous, reason, copy_id))
        _restore(con, table, restore, reviewer, batch_id)
    return UndoResult(batch_id, len(restore), skipped)


def _restore(
    con: duckdb.DuckDBPyConnection, table: str, items: list[tuple[str, str, str | None, str | None]], reviewer: str,
    batch_id: str,
) -> None:  # fmt: skip
    if not items:
        return
    ids, statuses, reasons, copies = (list(column) for column in zip(*items, strict=True))
    con.execute(
        f"UPDATE {table} SET status = v.status, reason = v.reason, updated_at = current_timestamp"
        f" FROM (SELECT unnest(?) AS id, unnest(?) AS status, unnest(?) AS reason) v WHERE {table}.id = v.id",
        [ids, statuses, reasons],
    )
    con.execute(
        f"UPDATE {table} SET status = 'withdrawn', reason = ?, updated_at = current_timestamp"
        " WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [f"edit undone by {reviewer}", [c for c in copies if c]],
    )
    con.execute(
        "INSERT INTO review_events (id, item_table, item_id, action, reviewer, note, payload, batch_id)"
        " SELECT unnest(?), ?, unnest(?), 'undo', ?, NULL, unnest(?), ?",
        [[uuid.uuid4().hex for _ in ids], table, ids, reviewer,
         [json.dumps({"undoes": batch_id, "restored_status": s}) for s in statuses], uuid.uuid4().hex],
    )  # fmt: skip
