"""The machinery every generation step shares: jobs, stored generations, batched commits.

A step turns the work it finds missing into `Job`s (one model call each), and `run_jobs` sends
them through the gateway in batches. After each batch the gateway's cache is flushed and, in
one transaction, the batch's `Generation` rows are written together with whatever the step's
`apply` callback derives from them (a scenario's new status, an example's scores). So a crash
loses at most the batch in flight, and a re-run finds everything before it already done.

Generation ids are deterministic (step, subject, variant), so re-running never duplicates a
row; a generation that ended unanswered (`error`, or `failed` sent again with `--retry-failed`)
is replaced when its retry succeeds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from textwrap import shorten
from typing import Any

import duckdb

from workbench.llm.batch.queue import BatchMode
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest
from workbench.progress import ProgressCallback
from workbench.project import Project

# Gateway outcome -> the status a stored row carries (the names `workbench status` shows).
ROW_STATUS = {
    "ok": "ok",
    "refusal": "refused",
    "safety": "refused",
    "length": "truncated",
    "parse_failed": "parse_failed",
    "error": "error",
    "failed": "failed",
}

# Outcomes with no answer from the model: a transport `error` (the next run asks again) and a
# permanent `failed` (asked again only with `--retry-failed`). The row a call was about stays
# where it was, so asking again later can still move it.
UNANSWERED = frozenset({"error", "failed"})

GENERATION_COLUMNS = (
    "id", "step", "subject_id", "variant", "role", "model", "template_hash", "cache_key", "run_id",
    "system_prompt", "text", "parsed", "note", "status", "reason",
)  # fmt: skip


def stable_id(*parts: object) -> str:
    """A short deterministic id for a row defined by `parts` (16 hex digits of sha256)."""
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """One model call a step needs.

    Attributes:
        step: The pipeline step (scenario, baseline, critique ...).
        subject_id: The row the call is about.
        request: What to send.
        variant: Distinguishes several calls about the same subject (e.g. a regeneration).
        note: A reviewer's note that went into the prompt, kept with the output.
        context: Anything the step's `apply` needs back with the answer.
    """

    step: str
    subject_id: str
    request: LLMRequest
    variant: str = ""
    note: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def generation_id(self) -> str:
        return stable_id(self.step, self.subject_id, self.variant)


@dataclass(frozen=True)
class Generation:
    """A model output as stored in a generations table, with the job that asked for it."""

    job: Job
    id: str
    model: str
    cache_key: str
    status: str
    reason: str | None
    text: str | None
    parsed: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def answered(self) -> bool:
        """Whether the model answered (anything but a transport or permanent failure)."""
        return self.status not in UNANSWERED


@dataclass
class StepReport:
    """What one step did: calls made, rows written per status, whether the budget stopped it."""

    step: str
    jobs: int = 0
    written: dict[str, int] = field(default_factory=dict)
    fresh_calls: int = 0
    stopped_budget: bool = False
    first_reason: dict[str, str] = field(default_factory=dict)
    deferred: int = 0
    batches: list[str] = field(default_factory=list)

    def count(self, status: str, n: int = 1, reason: str | None = None) -> None:
        self.written[status] = self.written.get(status, 0) + n
        if reason and status not in self.first_reason:
            self.first_reason[status] = reason

    @property
    def halted(self) -> bool:
        """Whether later passes must wait: the budget stopped it, or answers wait on a batch."""
        return self.stopped_budget or self.deferred > 0

    def merge(self, other: StepReport) -> None:
        """Add another pass of the same step into this report."""
        self.jobs += other.jobs
        self.fresh_calls += other.fresh_calls
        self.stopped_budget |= other.stopped_budget
        self.deferred += other.deferred
        self.batches += other.batches
        for status, n in other.written.items():
            self.count(status, n, other.first_reason.get(status))


def _one_line(reason: str) -> str:
    """A reason on one short line (it may carry a hint on a line of its own, or a long server message)."""
    return shorten(" ".join(reason.split()), 300, placeholder=" …")


def unanswered_problem(reports: Sequence[StepReport]) -> str | None:
    """One line saying why a run must not pass as a success, or None.

    A run fails when any call failed for a permanent reason (it will not be sent again unless
    asked), when calls were made and none was answered (every one a transport error), or when
    an answer left out part of what was asked (`incomplete`).
    """
    total = {status: sum(r.written.get(status, 0) for r in reports) for status in ("failed", "error")}
    reason = {status: _one_line(next((r.first_reason[status] for r in reports if status in r.first_reason), ""))
              for status in total}  # fmt: skip
    answered = sum(n for r in reports for status, n in r.written.items() if status not in UNANSWERED)
    if total["failed"]:
        return (f"{total['failed']} call(s) failed for a permanent reason, e.g. {reason['failed']}. "
                "Fix it, then run again with --retry-failed.")  # fmt: skip
    if total["error"] and not answered:
        return f"All {total['error']} call(s) failed, e.g. {reason['error']}. Run again once the model answers."
    return _incomplete_problem(reports)


def _incomplete_problem(reports: Sequence[StepReport]) -> str | None:
    """Answers that left out part of what was asked (`incomplete`) fail the run too: they are not ok."""
    count = sum(r.written.get("incomplete", 0) for r in reports)
    if not count:
        return None
    reason = _one_line(next((r.first_reason["incomplete"] for r in reports if "incomplete" in r.first_reason), ""))
    return (f"{count} call(s) came back incomplete, e.g. {reason}: what they left out is not stored. "
            "Run the same command again to ask again (each is tried a few times, then left as it is).")  # fmt: skip


@dataclass(frozen=True)
class StoredGeneration:
    """A generation row read back from the store."""

    id: str
    subject_id: str
    status: str
    reason: str | None
    text: str | None
    parsed: dict[str, Any] | None
    note: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


Apply = Callable[[duckdb.DuckDBPyConnection, list["Generation"]], None]
"""Derives a step's domain rows from a batch of generations, inside the batch's transaction."""


@dataclass
class StepRunner:
    """Runs one step's jobs for a project, under one run id, into one generations table.

    Args:
        project: Where the config, gateway and store come from.
        table: The generations table (e.g. `sft_generations`).
        stage_prefix: Ledger stage names are `{stage_prefix}.{step}`.
        run_id: The run every call and row belongs to.
        batch_size: Jobs per committed batch.
        progress: Receives gateway progress for each batch.
        retry_failed: Send again the calls that failed for a permanent reason in an earlier run.
        batch: Batch mode of the steps' gateways (`BatchMode`): calls queued for the provider's
            batch API come back deferred, write nothing, and are counted in `StepReport.deferred`.
    """

    project: Project
    table: str
    stage_prefix: str
    run_id: str
    batch_size: int = 64
    progress: ProgressCallback | None = None
    retry_failed: bool = False
    batch: BatchMode = "off"

    async def run_jobs(self, step: str, role: str, jobs: Sequence[Job], apply: Apply | None = None) -> StepReport:
        """Send `jobs` in batches; write each batch's generations and `apply` them in one transaction.

        A batch's rows are written in a thread while the next batch's calls are in flight, so
        the store's work hides behind the model's latency instead of adding to it.
        """
        report = StepReport(step, jobs=len(jobs))
        if not jobs:
            return report
        writing: asyncio.Future[None] | None = None
        stage = f"{self.stage_prefix}.{step}"
        async with Gateway(
            self.project, stage=stage, run_id=self.run_id, retry_failed=self.retry_failed, batch=self.batch
        ) as gateway:
            try:
                for start in range(0, len(jobs), self.batch_size):
                    if gateway.budget_exhausted:
                        report.stopped_budget = True
                        break
                    batch = jobs[start : start + self.batch_size]
                    progress = self._progress(start, len(jobs))
                    results = await gateway.map([job.request for job in batch], role=role, progress=progress)
                    await gateway.flush()  # cache first: a stored row always has its calls cached
                    report.fresh_calls += sum(1 for r in results if not r.cached and r.status in ROW_STATUS)
                    report.deferred += sum(1 for r in results if r.status == "deferred")
                    generations = [self._generation(job, r) for job, r in zip(batch, results, strict=True)]
                    kept = [g for g in generations if g is not None]
                    report.stopped_budget |= any(r.status == "budget_exceeded" for r in results)
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(self._write, role, kept, apply))
                    for generation in kept:
                        report.count(generation.status, reason=generation.reason)
            finally:
                if writing is not None:
                    await writing
            report.batches += await gateway.submit_batches()
        return report

    def _progress(self, offset: int, total: int) -> ProgressCallback | None:
        """The caller's callback, counting over the whole step rather than one batch."""
        callback = self.progress
        if callback is None:
            return None
        return lambda update: callback(dataclasses.replace(update, done=offset + update.done, total=total))

    def stored(self, ids: Sequence[str]) -> dict[str, StoredGeneration]:
        """Generations with these ids that reached a final outcome (those to ask again excluded)."""
        if not ids:
            return {}
        again = ["error", "failed"] if self.retry_failed else ["error"]
        with self.project.store.connect() as con:
            rows = con.execute(
                f"SELECT id, subject_id, status, reason, text, parsed, note FROM {self.table}"
                " WHERE id IN (SELECT unnest(?)) AND status NOT IN (SELECT unnest(?))",
                [list(ids), again],
            ).fetchall()
        return {
            row[0]: StoredGeneration(
                row[0], row[1], row[2], row[3], row[4], json.loads(row[5]) if row[5] is not None else None, row[6]
            )
            for row in rows
        }

    def _generation(self, job: Job, result: CallResult) -> Generation | None:
        if result.status in ("budget_exceeded", "deferred"):
            return None  # never sent, or waiting on a batch: a later run does it
        status = ROW_STATUS[result.status]
        return Generation(
            job, job.generation_id, result.model, result.cache_key, status, result.error, result.text, result.parsed
        )

    def _write(self, role: str, generations: list[Generation], apply: Apply | None) -> None:
        if not generations:
            return
        rows = [
            (
                g.id, g.job.step, g.job.subject_id, g.job.variant, role, g.model, g.job.request.template_hash,
                g.cache_key, self.run_id, g.job.request.system, g.text,
                json.dumps(g.parsed) if g.parsed is not None else None, g.job.note, g.status, g.reason,
            )
            for g in generations
        ]  # fmt: skip
        placeholders = ", ".join("?" for _ in GENERATION_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in GENERATION_COLUMNS[1:])
        with self.project.store.transaction() as con:
            # Only an unanswered call is ever replaced: every other outcome is final and cached.
            con.executemany(
                f"INSERT INTO {self.table} ({', '.join(GENERATION_COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE {self.table}.status IN ('error', 'failed')",
                rows,
            )
            if apply is not None:
                apply(con, generations)
