"""Human review: append-only events, and the status changes they make (DESIGN §3.5).

    review(project.store, "sft_scenarios", scenario_id, "accept", reviewer="ada")
    new_id = review(store, "sft_examples", example_id, "edit", reviewer="ada", edits={"response": "..."})
    review(store, "sft_examples", example_id, "regenerate", reviewer="ada", note="less hedging")

Every decision is a `review_events` row with the reviewer's name, written in the same
transaction as the status it sets. Nothing a person reviewed is overwritten: an edit is a new
row (origin `edited`, `parent_id` = the original, status `ok`) and the original becomes
`superseded`; `regenerate` marks the row `sent_back` and the pipeline's next run writes its
replacement using the note. A row that has been replaced cannot be reviewed again — review its
latest version instead.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb

from workbench.errors import WorkbenchError
from workbench.generate.steps import stable_id
from workbench.store import Store

Action = Literal["accept", "reject", "edit", "note", "regenerate"]
ACTIONS: tuple[str, ...] = ("accept", "reject", "edit", "note", "regenerate")

# Statuses of rows that have been replaced by a newer version.
# `withdrawn`: an edited copy whose edit was undone (review_undo.py); the original is current again.
REPLACED = frozenset({"superseded", "revised", "sent_back", "withdrawn"})


@dataclass(frozen=True)
class Reviewable:
    """A table whose rows people review, and the columns an edit may change."""

    table: str
    editable: tuple[str, ...]


REVIEWABLE = {
    "sft_scenarios": Reviewable("sft_scenarios", ("scenario", "user_prompt")),
    "sft_examples": Reviewable("sft_examples", ("user_prompt", "response", "rejected")),
    "documents": Reviewable("documents", ("text",)),
}

STATUS_AFTER = {"accept": "ok", "reject": "rejected", "regenerate": "sent_back"}


def default_reviewer() -> str:
    """$WORKBENCH_REVIEWER, else the login name."""
    return os.environ.get("WORKBENCH_REVIEWER") or getpass.getuser()


def send_back_notes(store: Store, table: str, ids: Sequence[str]) -> dict[str, str]:
    """The latest 'regenerate' note for each of these rows of `table` (what the next version must follow)."""
    if not ids:
        return {}
    with store.connect() as con:
        rows = con.execute(
            "SELECT item_id, arg_max(note, created_at) FROM review_events WHERE item_table = ?"
            " AND action = 'regenerate' AND item_id IN (SELECT unnest(?)) GROUP BY item_id",
            [table, list(ids)],
        ).fetchall()
    return {item: note or "" for item, note in rows}


def review(
    store: Store,
    table: str,
    item_id: str,
    action: str,
    *,
    reviewer: str,
    note: str | None = None,
    edits: dict[str, str] | None = None,
) -> str:
    """Record one decision and apply it. Returns the id of the row now current (new for an edit).

    Raises:
        WorkbenchError: unknown table, action or row; a replaced row; an edit with no change or
            an unknown field; `regenerate` without a note.
    """
    return review_many(store, table, [item_id], action, reviewer=reviewer, note=note, edits=edits).current_ids[0]


@dataclass(frozen=True)
class ReviewBatch:
    """One review_many() call: its events share `batch_id`, which undo_batch() takes.

    Attributes:
        batch_id: The id every event of this decision carries.
        table: The reviewed table.
        action: What was decided.
        current_ids: For each item, the id of the row now current (a new row for an edit).
    """

    batch_id: str
    table: str
    action: str
    current_ids: list[str]


def review_many(
    store: Store,
    table: str,
    item_ids: Sequence[str],
    action: str,
    *,
    reviewer: str,
    note: str | None = None,
    edits: dict[str, str] | None = None,
) -> ReviewBatch:
    """Apply one decision to many rows in one transaction: all of them, or none.

    A bulk decision over thousands of rows is a handful of set-based statements, not one per row.
    """
    target = _check(table, action, reviewer, note, edits)
    ids = list(dict.fromkeys(item_ids))
    if action == "edit" and len(ids) != 1:
        raise WorkbenchError("An edit changes one row at a time.")
    batch_id = uuid.uuid4().hex
    if not ids:
        return ReviewBatch(batch_id, target.table, action, [])
    with store.transaction() as con:
        previous = _current_statuses(con, target.table, ids)
        current = ids
        payloads: list[dict[str, object]] = [
            {"previous_status": previous[i][0], "previous_reason": previous[i][1]} for i in ids
        ]
        if action == "edit":
            current = [_edited_copy(con, target, ids[0], edits or {}, batch_id)]
            payloads[0].update(new_id=current[0], fields=sorted(edits or {}))
            _set_status(con, target.table, ids, "superseded", f"edited by {reviewer} as {current[0]}")
        elif action in STATUS_AFTER:
            _set_status(con, target.table, ids, STATUS_AFTER[action], note)
        _record_events(con, target.table, ids, action, reviewer, note, payloads, batch_id)
    return ReviewBatch(batch_id, target.table, action, current)


def _current_statuses(con: duckdb.DuckDBPyConnection, table: str, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each row's (status, reason); raises for a missing row or one replaced by a newer version."""
    found = {
        row[0]: (row[1], row[2])
        for row in con.execute(f"SELECT id, status, reason FROM {table} WHERE id IN (SELECT unnest(?))", [ids])
        .fetchall()
    }  # fmt: skip
    for item_id in ids:
        if item_id not in found:
            raise WorkbenchError(f"No row {item_id!r} in {table}.")
        if found[item_id][0] in REPLACED:
            raise WorkbenchError(f"{table} {item_id} was {found[item_id][0]}; review its latest version instead.")
    return found


def _record_events(
    con: duckdb.DuckDBPyConnection,
    table: str,
    ids: list[str],
    action: str,
    reviewer: str,
    note: str | None,
    payloads: list[dict[str, object]],
    batch_id: str,
) -> None:
    con.execute(
        "INSERT INTO review_events (id, item_table, item_id, action, reviewer, note, payload, batch_id)"
        " SELECT unnest(?), ?, unnest(?), ?, ?, ?, unnest(?), ?",
        [[uuid.uuid4().hex for _ in ids], table, ids, action, reviewer, note, [json.dumps(p) for p in payloads],
         batch_id],
    )  # fmt: skip


def _check(table: str, action: str, reviewer: str, note: str | None, edits: dict[str, str] | None) -> Reviewable:
    if table not in REVIEWABLE:
        raise WorkbenchError(f"{table!r} is not reviewable; reviewable tables: {', '.join(REVIEWABLE)}.")
    if action not in ACTIONS:
        raise WorkbenchError(f"Unknown review action {action!r}; actions: {', '.join(ACTIONS)}.")
    if not reviewer.strip():
        raise WorkbenchError("A review needs a reviewer name.", hint="Pass --reviewer or set WORKBENCH_REVIEWER.")
    if action in ("regenerate", "note") and not (note and note.strip()):
        raise WorkbenchError(f"'{action}' needs a note saying what to change.")
    target = REVIEWABLE[table]
    if action == "edit":
        unknown = sorted(set(edits or {}) - set(target.editable))
        if not edits or unknown:
            raise WorkbenchError(f"An edit of {table} changes some of: {', '.join(target.editable)} (got {unknown}).")
    return target


def _set_status(
    con: duckdb.DuckDBPyConnection, table: str, ids: Sequence[str], status: str, reason: str | None
) -> None:
    con.execute(
        f"UPDATE {table} SET status = ?, reason = ?, updated_at = current_timestamp WHERE id IN (SELECT unnest(?))",
        [status, reason, list(ids)],
    )


def _edited_copy(
    con: duckdb.DuckDBPyConnection, target: Reviewable, item_id: str, edits: dict[str, str], batch_id: str
) -> str:
    """Insert the edited version of a row (status ok, origin edited) and return its id."""
    fields = sorted(edits)
    old = con.execute(f"SELECT {', '.join(fields)} FROM {target.table} WHERE id = ?", [item_id]).fetchone()
    if old is not None and list(old) == [edits[f] for f in fields]:
        raise WorkbenchError(f"The edit of {target.table} {item_id} changes nothing; nothing was recorded.")
    # The batch is part of the id: the same edit made again after an undo is a new version.
    new_id = stable_id("edit", item_id, json.dumps(edits, sort_keys=True), batch_id)
    columns = [c[0] for c in con.execute(f"SELECT * FROM {target.table} LIMIT 0").description]
    fixed = {"id": "?", "parent_id": "id", "origin": "'edited'", "status": "'ok'", "reason": "NULL"}
    fixed |= {"created_at": "current_timestamp", "updated_at": "current_timestamp"}
    select = [fixed.get(c, "?" if c in edits else c) for c in columns]
    params = [new_id] + [edits[c] for c in columns if c in edits and c not in fixed]
    con.execute(
        f"INSERT INTO {target.table} ({', '.join(columns)}) SELECT {', '.join(select)} FROM {target.table}"
        " WHERE id = ?",
        [*params, item_id],
    )
    return new_id
