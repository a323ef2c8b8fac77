"""Batch jobs in the store (migration 015): record before submitting, look up, store results.

    batch_id = record_batch(store, NewBatch("gemini", "gemini:gemini-3-flash", "sft.scenario", run_id, role, n), lines)
    ...  # submit to the provider
    mark_submitted(store, batch_id, remote_id)
    waiting = lookup(store, keys)          # key -> BatchedRequest: answered, waiting or lost
    store_results(store, batch, job, results, price)   # once, with the answers' ledger rows

Every write is one transaction. Results are stored once: the first collector claims the batch
(`collected_at` set only where it was NULL), so two processes collecting at once never write a
request's ledger row twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workbench.config import Price
from workbench.llm.batch.provider import LineResult, RemoteJob
from workbench.llm.call_parts import STATUS_BY_FINISH
from workbench.llm.ledger import LEDGER_COLUMNS, call_cost, new_ledger_row
from workbench.llm.types import BackendResponse, ToolCall
from workbench.store import Store
from workbench.store.bulk import insert_columns

OPEN_SQL = "(collected_at IS NULL AND state <> 'submit_failed')"
"""A batch whose answers are not stored yet: still running, exported, or finished and not collected."""


@dataclass(frozen=True)
class NewBatch:
    """A batch about to be submitted: what its rows record."""

    provider: str
    model: str
    stage: str
    run_id: str | None
    role: str | None
    requests: int
    max_cost_usd: float | None = None


class BatchRow(BaseModel):
    """One batch job as the store holds it."""

    id: str = Field(description="The workbench's id; the remote job's display name.")
    created_at: datetime = Field(description="When it was recorded (before submission).")
    updated_at: datetime = Field(description="When its state last changed.")
    provider: str = Field(description="gemini, openai, or export (a file run elsewhere).")
    model: str = Field(description="The model spec its requests were built for.")
    stage: str = Field(description="The ledger stage of its requests.")
    run_id: str | None = Field(description="The run that queued it.")
    role: str | None = Field(description="The role its requests were for.")
    remote_id: str | None = Field(description="The provider's job id, once accepted.")
    state: str = Field(description="submitting, pending, running, succeeded, failed, cancelled, expired, exported.")
    requests: int = Field(description="Requests in the batch.")
    answered: int | None = Field(description="Requests answered (once collected, or as reported).")
    failed: int | None = Field(description="Requests that failed (once collected, or as reported).")
    max_cost_usd: float | None = Field(description="Worst-case cost at batch prices when submitted.")
    detail: str | None = Field(description="The provider's state name and message.")
    collected_at: datetime | None = Field(description="When its results were stored.")

    @property
    def open(self) -> bool:
        return self.collected_at is None and self.state != "submit_failed"


@dataclass(frozen=True)
class BatchedRequest:
    """Where one request stands in the newest batch that holds it.

    Attributes:
        batch_id: That batch.
        state: `answered` (an answer waits to be used), `waiting` (the batch has not been
            collected yet), or `lost` (the batch ended without an answer for it).
        response: The answer, when answered.
        cost_usd: Its cost at batch prices (already in the ledger).
        error: Why it was lost, if the provider said.
    """

    batch_id: str
    state: str
    response: BackendResponse | None = None
    cost_usd: float | None = None
    error: str | None = None


def new_batch_id() -> str:
    return f"wb-{uuid.uuid4().hex[:16]}"


def record_batch(store: Store, batch: NewBatch, lines: Sequence[tuple[str, str | None, dict[str, Any]]]) -> str:
    """Write a batch (state `submitting`) and its requests (key, template hash, body); returns its id."""
    batch_id = new_batch_id()
    state = "exported" if batch.provider == "export" else "submitting"
    with store.transaction() as con:
        con.execute(
            "INSERT INTO llm_batches (id, provider, model, stage, run_id, role, state, requests, max_cost_usd)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, batch.provider, batch.model, batch.stage, batch.run_id, batch.role, state, batch.requests,
             batch.max_cost_usd],
        )  # fmt: skip
        insert_columns(con, "llm_batch_requests", {
            "batch_id": [batch_id] * len(lines), "cache_key": [key for key, _, _ in lines],
            "template_hash": [h for _, h, _ in lines], "body": [json.dumps(body) for _, _, body in lines],
            "state": ["queued"] * len(lines),
        })  # fmt: skip
    return batch_id


def mark_submitted(store: Store, batch_id: str, remote_id: str) -> None:
    """The provider accepted the batch as `remote_id`."""
    _leave_submitting(store, batch_id, "pending", remote_id=remote_id)


def mark_submit_failed(store: Store, batch_id: str, error: str) -> None:
    """The provider refused the batch: its requests count as lost, so they are asked again."""
    _leave_submitting(store, batch_id, "submit_failed", detail=error)


def _leave_submitting(
    store: Store, batch_id: str, state: str, *, remote_id: str | None = None, detail: str | None = None
) -> None:
    # Only from `submitting`: a batch a collect already adopted (or ended) keeps what it learned.
    with store.transaction() as con:
        con.execute(
            "UPDATE llm_batches SET state = ?, remote_id = coalesce(?, remote_id), detail = coalesce(?, detail),"
            " updated_at = current_timestamp WHERE id = ? AND state = 'submitting'",
            [state, remote_id, detail, batch_id],
        )


def mark_state(store: Store, batch_id: str, job: RemoteJob) -> None:
    """Record the provider's latest report on a batch that is not collected yet."""
    with store.transaction() as con:
        con.execute(
            "UPDATE llm_batches SET state = ?, answered = ?, failed = ?, detail = ?,"
            " remote_id = coalesce(remote_id, ?), updated_at = current_timestamp"
            " WHERE id = ? AND collected_at IS NULL",
            [job.state, job.succeeded, job.failed, job.detail, job.remote_id, batch_id],
        )


def batches(store: Store, *, open_only: bool = False, ids: Iterable[str] = ()) -> list[BatchRow]:
    """Batch rows, newest first: all, the open ones, or those with these ids (or id prefixes)."""
    where, params = [], []
    if open_only:
        where.append(OPEN_SQL)
    wanted = list(ids)
    if wanted:
        where.append("(id IN (SELECT unnest(?)) OR remote_id IN (SELECT unnest(?)))")
        params += [wanted, wanted]
    sql = "SELECT * FROM llm_batches" + (f" WHERE {' AND '.join(where)}" if where else "")
    with store.connect() as con:
        cursor = con.execute(sql + " ORDER BY created_at DESC, id", params)
        names = [d[0] for d in cursor.description]
        return [BatchRow(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def has_batches(store: Store) -> bool:
    """Whether any batch was ever recorded (the gateway skips batch look-ups otherwise)."""
    with store.connect() as con:
        return con.execute("SELECT count(*) FROM (SELECT 1 FROM llm_batches LIMIT 1)").fetchone() == (1,)


def lookup(store: Store, keys: Sequence[str]) -> dict[str, BatchedRequest]:
    """Where each of `keys` stands in the newest batch holding it (keys in no batch are absent)."""
    if not keys:
        return {}
    with store.connect() as con:
        rows = con.execute(
            "SELECT r.cache_key, r.batch_id, r.state, r.response, r.cost_usd, r.error, b.state, b.collected_at"
            " FROM llm_batch_requests r JOIN llm_batches b ON b.id = r.batch_id"
            " WHERE r.cache_key IN (SELECT unnest(?)) ORDER BY b.created_at, b.id",
            [list(dict.fromkeys(keys))],
        ).fetchall()
    found: dict[str, BatchedRequest] = {}
    for key, batch_id, state, response, cost, error, batch_state, collected_at in rows:  # newest last: it wins
        if state == "answered":
            found[key] = BatchedRequest(batch_id, "answered", _response(json.loads(response)), cost)
        elif collected_at is None and batch_state != "submit_failed":
            found[key] = BatchedRequest(batch_id, "waiting")
        else:
            found[key] = BatchedRequest(batch_id, "lost", error=error or f"no answer in batch {batch_id}")
    return found


def request_keys(store: Store, batch_ids: Sequence[str]) -> dict[str, str]:
    """The cache key of every request of these batches -> its batch (no bodies read)."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT cache_key, batch_id FROM llm_batch_requests WHERE batch_id IN (SELECT unnest(?))", [list(batch_ids)]
        ).fetchall()
    return dict(rows)


def request_bodies(store: Store, batch_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A batch's requests as (key, body), in the order they were recorded."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT cache_key, body FROM llm_batch_requests WHERE batch_id = ? ORDER BY rowid", [batch_id]
        ).fetchall()
    return [(key, json.loads(body)) for key, body in rows]


def store_results(
    store: Store, batch: BatchRow, job: RemoteJob, results: Sequence[LineResult], price: Price | None
) -> bool:
    """Store a final job's answers and their ledger rows in one transaction; False if already collected.

    Requests the provider sent nothing for are `missing`; answers are priced at batch rates.
    """
    by_key = {r.key: r for r in results}
    with store.transaction() as con:
        claimed = con.execute(
            "UPDATE llm_batches SET collected_at = current_timestamp, updated_at = current_timestamp, state = ?,"
            " detail = ? WHERE id = ? AND collected_at IS NULL RETURNING id",
            [job.state, job.detail, batch.id],
        ).fetchall()
        if not claimed:
            return False
        hashes = con.execute(
            "SELECT cache_key, template_hash FROM llm_batch_requests WHERE batch_id = ?", [batch.id]
        ).fetchall()
        updates, ledger = [], []
        for key, template_hash in hashes:
            update, row = _outcome(batch, job.state, key, template_hash, by_key.get(key), price)
            updates.append(update)
            if row is not None:
                ledger.append(row)
        _write_outcomes(con, batch.id, updates)
        insert_columns(con, "llm_calls", {c: [r[c] for r in ledger] for c in LEDGER_COLUMNS})
        answered = sum(1 for u in updates if u[1] == "answered")
        con.execute(
            "UPDATE llm_batches SET answered = ?, failed = ? WHERE id = ?",
            [answered, len(updates) - answered, batch.id],
        )
    return True


def _outcome(
    batch: BatchRow,
    job_state: str,
    key: str,
    template_hash: str | None,
    result: LineResult | None,
    price: Price | None,
) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """One request's new row values, and its ledger row (None when the provider reported nothing)."""
    if result is None:
        error = f"batch {batch.id} ended ({job_state}) without answering it"
        return (key, "missing", None, error, None), None
    fields = dict(run_id=batch.run_id, stage=batch.stage, role=batch.role, model=batch.model, cache_key=key,
                  template_hash=template_hash, attempt=1, purpose="batch")  # fmt: skip
    if result.response is None:
        error = result.error or "the provider sent no answer"
        return (key, "failed", None, error, None), new_ledger_row(status="error", error=error, **fields)
    response = result.response
    cost = call_cost(price.for_batch() if price else None, response.tokens_in, response.tokens_out)
    row = new_ledger_row(
        status=STATUS_BY_FINISH[response.finish_reason], finish_reason=response.finish_reason,
        tokens_in=response.tokens_in, tokens_out=response.tokens_out, cost_usd=cost, **fields,
    )  # fmt: skip
    return (key, "answered", json.dumps(asdict(response)), None, cost), row


def _write_outcomes(con: Any, batch_id: str, updates: list[tuple[Any, ...]]) -> None:
    con.execute(
        "UPDATE llm_batch_requests r SET state = u.state, response = u.response, error = u.error, cost_usd = u.cost"
        " FROM (SELECT unnest(?) AS key, unnest(?) AS state, unnest(?) AS response, unnest(?) AS error,"
        " unnest(?) AS cost) u WHERE r.batch_id = ? AND r.cache_key = u.key",
        [[u[0] for u in updates], [u[1] for u in updates], [u[2] for u in updates], [u[3] for u in updates],
         [u[4] for u in updates], batch_id],
    )  # fmt: skip


def _response(data: dict[str, Any]) -> BackendResponse:
    calls = tuple(ToolCall(**c) for c in data.pop("tool_calls", []) or [])
    return BackendResponse(**data, tool_calls=calls)
