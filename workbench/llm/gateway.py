"""The model gateway: the one async entry point for every model call (DESIGN §3.3).

    async with Gateway(project, stage="scenarios", run_id=run_id) as gw:
        results = await gw.map(requests, role="generator", progress=callback)

For each request the gateway: looks the call up in the cache (one query for a whole batch);
otherwise sends it through the role's backend under a per-backend concurrency limit, retrying
rate limits, server errors, timeouts and connection errors with exponential backoff and jitter
(honouring Retry-After) a bounded number of times; validates structured output against the
request's pydantic schema with one repair turn; logs each request before it is sent and records
its ledger row when it ends (ledger.py); caches the model's final outcome; and stops starting
requests once the budget of the run's piece of work is spent (across restarts: runs.py).
Every request ends as one `CallResult`: failures are statuses with reasons, never exceptions
or gaps. A permanent failure (bad request, auth, unknown model, an unexpected client error) ends
`failed` and is cached like an answer, so the next run does not pay for it again unless asked
to (`retry_failed`). Only a problem the user must fix before anything is sent (a missing key,
an unknown role, a malformed spec, tools offered to a model without native tool calling: ask
`supports_native_tools` first) raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from workbench.config import Price
from workbench.errors import BudgetExceededError, WorkbenchError
from workbench.llm import cache
from workbench.llm.backends import make_backend
from workbench.llm.backends.base import Backend
from workbench.llm.batch.queue import BatchMode, BatchQueue
from workbench.llm.batch.records import BatchedRequest
from workbench.llm.call_parts import (
    STATUS_BY_FINISH,
    Answer,
    Call,
    Reporter,
    Tally,
    checked,
    deferred,
    finish_error,
    refused,
    seeded,
    unexpected,
)
from workbench.llm.ledger import LedgerWriter, call_cost, new_ledger_row, recover_ledger
from workbench.llm.retries import transient_retries
from workbench.llm.spec import ModelSpec
from workbench.llm.structured import json_schema_for, repair_request
from workbench.llm.types import BackendError, BackendResponse, CallResult, LLMRequest
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.runs import WorkBudget, work_budget

# What the user can do when a call finally fails, by error kind.
_ERROR_HINTS = {
    "connection": "; check that the server is running and the base URL (spec '@URL' or GOOGLE_GEMINI_BASE_URL)",
    "auth": "; check the API key in the environment (GEMINI_API_KEY, OPENAI_API_KEY, ...)",
    "rate_limited": "; lower [concurrency] or raise [gateway] max_attempts, then run again",
}


class Gateway:
    """Sends model calls for one stage (and optionally one run) of a project.

    Args:
        project: The project whose config (roles, prices, limits) and store are used.
        stage: Recorded on every ledger row, for per-stage accounting.
        run_id: The run the calls belong to; the budget of its piece of work counts every
            earlier run and restart of that work.
        retry_failed: Send again calls whose cached outcome is a permanent failure.
    """

    def __init__(
        self, project: Project, *, stage: str = "adhoc", run_id: str | None = None, retry_failed: bool = False,
        batch: BatchMode = "off",
    ) -> None:  # fmt: skip
        self.config = project.config
        self.store = project.store
        self.stage = stage
        self.run_id = run_id
        self.retry_failed = retry_failed
        recover_ledger(self.store)  # a killed process's calls count before this one's budget is read
        default_cap = self.config.budget.max_cost_usd_per_run
        self.budget = (
            work_budget(self.store, run_id, default_cap) if run_id else WorkBudget("adhoc", default_cap, 0.0, 0)
        )
        self.spent_usd = self.budget.spent_usd
        self._backends: dict[ModelSpec, Backend] = {}
        self._limits: dict[tuple[str, str | None], asyncio.Semaphore] = {}
        self._writer = LedgerWriter(self.store, self.config.gateway.flush_interval_s)
        self.batches = BatchQueue(project, stage=stage, run_id=run_id, mode=batch)
        # How backoff waits; a seam so tests can see the delays without spending them.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        try:
            if exc_type is None:
                await self.submit_batches()
        finally:
            await self.aclose()

    async def submit_batches(self) -> list[str]:
        """Submit the requests queued in batch mode (done on a clean exit from `async with`); their ids."""
        if not self.batches.queued:
            return []
        left = None if self.budget_usd is None else self.budget_usd - self.spent_usd
        return await self.batches.submit(left)

    async def flush(self) -> None:
        """Write buffered ledger and cache rows now.

        Stages call this before committing rows built from the results, so any row in the
        store has its calls cached: a crash never makes a finished call be paid for twice.
        """
        await self._writer.flush()

    async def aclose(self) -> None:
        """Write buffered ledger and cache rows and close the backends."""
        await self._writer.aclose()
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()

    @property
    def budget_usd(self) -> float | None:
        return self.budget.cap_usd

    @property
    def budget_exhausted(self) -> bool:
        return self.budget_usd is not None and self.spent_usd >= self.budget_usd

    def resolve(self, role: str | None = None, model: str | None = None) -> ModelSpec:
        """The model for an explicit spec string, or else for a role in the project config."""
        if model:
            return ModelSpec.parse(model)
        if not role:
            raise WorkbenchError("A model call needs a role or a model spec.")
        spec = self.config.roles.get(role)
        if not spec:
            raise WorkbenchError(
                f"No model is set for the role {role!r}.",
                hint=f'Set `{role} = "gemini:..."` under [roles] in workbench.toml, '
                f"or export WORKBENCH_ROLES__{role.upper()}=...",
            )
        return ModelSpec.parse(spec)

    async def call(
        self, request: LLMRequest, *, role: str | None = None, model: str | None = None, batchable: bool = True
    ) -> CallResult:
        """Send one request (see `map`)."""
        return (await self.map([request], role=role, model=model, batchable=batchable))[0]

    async def map(
        self,
        requests: Sequence[LLMRequest],
        *,
        role: str | None = None,
        model: str | None = None,
        progress: ProgressCallback | None = None,
        batchable: bool = True,
    ) -> list[CallResult]:
        """Send many requests concurrently; results come back in the order of `requests`.

        Identical requests in one batch are sent once. Raises only for problems the user must
        fix before anything can run (unknown role, malformed spec, missing credentials).

        In batch mode a `batchable` request to a gemini: or openai: model is queued for the
        provider's batch API and comes back `deferred`; so does one that waits on an earlier batch
        in any mode (it is never paid for twice). An answer a collected batch holds is used as if
        it had just come back live.
        """
        spec = self.resolve(role, model)
        calls = [self._prepare(spec, role, r) for r in requests]
        found = await asyncio.to_thread(cache.lookup, self.store, [c.key for c in calls if not c.request.refused])
        found |= {c.key: refused(c) for c in calls if c.request.refused}
        if self.retry_failed:
            found = {key: result for key, result in found.items() if result.status != "failed"}
        pending = {c.key: c for c in calls if c.key not in found}
        collected = await self._batched(spec, pending, found, batchable)
        done = len(calls) - sum(1 for c in calls if c.key in pending)
        report = Reporter(progress, self.stage, len(calls), done)
        if pending:
            backend = self._backend(spec)  # fail fast, once, on missing credentials
            if any(c.request.uses_tools for c in pending.values()) and not await backend.supports_native_tools():
                raise WorkbenchError(
                    f"The model {spec} does not support native tool calling, and a request offers tools "
                    "or carries tool turns.",
                    hint="Ask `await gateway.supports_native_tools(...)` first and use the text tool "
                    "protocol for such models.",
                )
            tasks = {
                key: asyncio.create_task(report.after(self._fresh(c, collected.get(key)))) for key, c in pending.items()
            }
            await asyncio.gather(*tasks.values())
            found.update({key: task.result() for key, task in tasks.items()})
        return [found[c.key] for c in calls]

    async def supports_native_tools(self, *, role: str | None = None, model: str | None = None) -> bool:
        """Whether the role's (or spec's) model takes native tools (`LLMRequest.tools`, tool turns).

        Callers that get False use a text protocol for tools instead. Raises like `map` for an
        unknown role, a malformed spec or missing credentials.
        """
        return await self._backend(self.resolve(role, model)).supports_native_tools()

    async def _batched(
        self, spec: ModelSpec, pending: dict[str, Call], found: dict[str, CallResult], batchable: bool
    ) -> dict[str, BatchedRequest]:
        """Settle what batches decide: waiting and newly queued requests move from `pending` to `found`
        as `deferred`; returns the collected answers among the rest (sent on as first attempts)."""
        if not pending or not (self.batches.known or self.batches.enabled):
            return {}
        batched = await asyncio.to_thread(self.batches.lookup, list(pending))
        queue = self.batches.enabled and batchable and spec.backend != "hf"
        on_missing = self.config.batch.on_missing
        for key in list(pending):
            entry = batched.get(key)
            if entry is not None and entry.state == "waiting":
                found[key] = deferred(pending.pop(key), f"waiting on batch {entry.batch_id}")
            elif queue and (entry is None or (entry.state == "lost" and on_missing == "batch")):
                call = pending.pop(key)
                self.batches.add(call.spec, call.role, key, call.request, call.json_schema)
                found[key] = deferred(call, "queued for a batch")
            elif queue and entry is not None and entry.state == "lost" and on_missing == "skip":
                found[key] = self._finish(pending.pop(key), Tally(), "error", None, error=entry.error)
        return {key: entry for key, entry in batched.items() if entry.state == "answered" and key in pending}

    def _prepare(self, spec: ModelSpec, role: str | None, request: LLMRequest) -> Call:
        fingerprint = cache.request_fingerprint(spec, request, json_schema_for(request.schema))
        return Call(spec, role, request, fingerprint, cache.cache_key(fingerprint))

    def _backend(self, spec: ModelSpec) -> Backend:
        if spec not in self._backends:
            self._backends[spec] = make_backend(spec, self.config)
        return self._backends[spec]

    def _limit(self, spec: ModelSpec) -> asyncio.Semaphore:
        slot = (spec.backend, spec.base_url)
        if slot not in self._limits:
            self._limits[slot] = asyncio.Semaphore(self.config.concurrency.limit_for(spec))
        return self._limits[slot]

    async def _fresh(self, call: Call, collected: BatchedRequest | None = None) -> CallResult:
        """Run one uncached call to its final result, repair turn included.

        A `collected` batch answer stands in for the first request (its ledger row was written
        when the batch was collected); a repair it needs is sent live.
        """
        tally = Tally()
        answer: Answer | CallResult
        if collected is not None and collected.response is not None:
            tally.add(collected.response, collected.cost_usd)
            answer = checked(collected.response, call.request)[0]
        else:
            answer = await self._send(call, call.request, tally, "call")
        if isinstance(answer, Answer) and answer.problem is not None:
            repair = repair_request(call.request, answer.response.text, answer.problem)
            answer = await self._send(call, repair, tally, "repair")
            if isinstance(answer, Answer) and answer.problem is not None:
                return self._finish(
                    call,
                    tally,
                    "parse_failed",
                    answer.response,
                    error=f"invalid structured output after one repair: {answer.problem}",
                )
        if isinstance(answer, CallResult):
            return answer
        status = STATUS_BY_FINISH[answer.response.finish_reason]
        error = None if status == "ok" else finish_error(answer.response)
        return self._finish(call, tally, status, answer.response, error=error, parsed=answer.parsed)

    async def _send(self, call: Call, request: LLMRequest, tally: Tally, purpose: str) -> Answer | CallResult:
        """One request with retries. Returns the answer, or the failed `CallResult`."""
        retrying = transient_retries(self.config.gateway, self.sleep)
        attempt = 0
        started = time.monotonic()
        try:
            async for retry in retrying:
                with retry:
                    attempt += 1
                    return await self._attempt(call, request, tally, purpose, attempt, started)
        except BackendError as e:
            hint = _ERROR_HINTS.get(e.kind, "")
            waited = f"after {attempt} attempt(s) over {time.monotonic() - started:.0f} s"
            # Transient errors that outlasted the retries are tried again next run; permanent ones are final.
            status = "error" if e.retryable else "failed"
            return self._finish(call, tally, status, None, error=f"{e} ({waited}){hint}")
        except BudgetExceededError as e:
            return self._finish(call, tally, "budget_exceeded", None, error=str(e))
        raise AssertionError("unreachable")  # pragma: no cover - tenacity returns or raises

    async def _attempt(
        self, call: Call, request: LLMRequest, tally: Tally, purpose: str, attempt: int, call_started: float
    ) -> Answer:
        row = {"attempt": attempt, "purpose": purpose}
        async with self._limit(call.spec):
            # Checked once a slot is free, so requests queued behind the limit see the latest spend.
            if self.budget_exhausted:
                raise BudgetExceededError(
                    f"the budget of {self.budget.work} (${self.budget_usd:.2f}) is spent; request not sent"
                )
            started = time.perf_counter()
            row["id"] = self._begin(call, row)
            try:
                response = await self._backend(call.spec).generate(seeded(request), call.json_schema)
            except Exception as e:
                error = e if isinstance(e, BackendError) else unexpected(e)
                gateway = self.config.gateway
                out_of_time = time.monotonic() - call_started >= gateway.max_call_s
                last = not error.retryable or attempt >= gateway.max_attempts or out_of_time
                self._record(call, row, started, status="error" if last else "retried", error=str(error))
                raise error from e
        cost = call_cost(self._price(call.spec), response.tokens_in, response.tokens_out)
        tally.add(response, cost)
        self.spent_usd += cost or 0.0
        answer, ledger_status = checked(response, request)
        self._record(call, row, started, status=ledger_status, response=response, cost=cost)
        return answer

    def _price(self, spec: ModelSpec) -> Price | None:
        return self.config.price_of(spec)

    def _ledger_row(self, call: Call, **fields: Any) -> dict[str, Any]:
        return new_ledger_row(
            run_id=self.run_id, stage=self.stage, role=call.role, model=str(call.spec), cache_key=call.key,
            template_hash=call.request.template_hash, **fields,
        )  # fmt: skip

    def _begin(self, call: Call, row: dict[str, Any]) -> str:
        """Log the request before it is sent; returns the ledger row id its outcome will complete."""
        sent = self._ledger_row(call, status="sent", **row)
        self._writer.begin_call(sent)
        return str(sent["id"])

    def _record(self, call: Call, row: dict[str, Any], started: float, **fields: Any) -> None:
        response: BackendResponse | None = fields.pop("response", None)
        if response is not None:
            fields.update(
                finish_reason=response.finish_reason, tokens_in=response.tokens_in, tokens_out=response.tokens_out
            )
        ledger_row = self._ledger_row(
            call, cost_usd=fields.pop("cost", None), latency_ms=(time.perf_counter() - started) * 1000, **row, **fields
        )
        self._writer.add_call(ledger_row | {"id": row["id"]})

    def _finish(
        self, call: Call, tally: Tally, status: str, response: BackendResponse | None, *,
        error: str | None = None, parsed: dict[str, Any] | None = None,
    ) -> CallResult:  # fmt: skip
        result = CallResult(
            status=status, model=str(call.spec), cache_key=call.key, parsed=parsed, error=error,
            text=response.text if response else None,
            finish_reason=response.finish_reason if response else None,
            tool_calls=list(response.tool_calls) if response else [],
            tokens_in=tally.tokens_in or None, tokens_out=tally.tokens_out or None,
            cost_usd=tally.cost_usd,
        )  # fmt: skip
        if status in cache.CACHEABLE_STATUSES:
            self._writer.add_cache(cache.cache_row(result, call.fingerprint))
        return result
