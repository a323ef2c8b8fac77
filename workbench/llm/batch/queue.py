"""The gateway's batch side: which requests wait on a batch, queueing new ones, and submitting.

    queue = BatchQueue(project, stage="sft.scenario", run_id=run_id, mode="submit")
    waiting = queue.lookup(keys)            # key -> answered / waiting / lost (records.lookup)
    queue.add(spec, role, key, request, json_schema)
    batch_ids = await queue.submit(budget_left_usd)

Each queued request's body is built by the provider exactly as the live backend would send it,
and recorded with the batch before the provider hears of it (records.record_batch), so a crash
at any point leaves either nothing submitted or a batch the next run finds (`collect.py`).
`mode="export"` records the batch for `workbench batch export` instead of submitting it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from workbench.errors import BudgetExceededError, WorkbenchError
from workbench.llm.batch import records
from workbench.llm.batch.provider import BatchLine, BatchProvider
from workbench.llm.batch.providers import make_batch_provider
from workbench.llm.ledger import call_cost
from workbench.llm.spec import ModelSpec
from workbench.llm.types import BackendError, LLMRequest
from workbench.project import Project
from workbench.tokens import estimate_tokens

BatchMode = Literal["off", "submit", "export"]
"""`off`: live calls (answers already collected are still used); `submit`: to the provider's batch
API; `export`: recorded for `workbench batch export` (OpenAI batch JSONL, e.g. for vLLM run-batch)."""


@dataclass(frozen=True)
class _Queued:
    key: str
    request: LLMRequest
    json_schema: dict | None


class BatchQueue:
    """Batch look-ups and submissions for one gateway (one stage, one run).

    Args:
        project: Whose store and config.
        stage: The ledger stage recorded with each batch.
        run_id: The run each batch belongs to.
        mode: See `BatchMode`.
    """

    def __init__(self, project: Project, *, stage: str, run_id: str | None, mode: BatchMode = "off") -> None:
        self.project, self.stage, self.run_id, self.mode = project, stage, run_id, mode
        self._known = records.has_batches(project.store)  # no batch ever: no look-up per call
        self._queued: dict[tuple[ModelSpec, str | None], dict[str, _Queued]] = {}
        self.submitted: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def known(self) -> bool:
        """Whether the project has any batch (else no request can be in one)."""
        return self._known

    def lookup(self, keys: list[str]) -> dict[str, records.BatchedRequest]:
        """Where each key stands in a batch (see `records.lookup`); empty if no batch was ever made."""
        return records.lookup(self.project.store, keys) if self._known else {}

    def add(self, spec: ModelSpec, role: str | None, key: str, request: LLMRequest, json_schema: dict | None) -> None:
        """Queue a request for the next `submit` (once per key)."""
        self._queued.setdefault((spec, role), {}).setdefault(key, _Queued(key, request, json_schema))

    @property
    def queued(self) -> int:
        return sum(len(calls) for calls in self._queued.values())

    async def submit(self, budget_left_usd: float | None) -> list[str]:
        """Record and submit every queued request, one batch per model and provider job; returns the ids.

        Raises:
            BudgetExceededError: a batch's worst-case cost at batch prices would pass the budget left.
            WorkbenchError: the model has no batch API (hf:), or missing credentials.
        """
        queued, self._queued = self._queued, {}
        for (spec, role), calls in queued.items():
            provider = make_batch_provider(spec, self.project.config)
            try:
                budget_left_usd = await self._submit_model(provider, spec, role, list(calls.values()), budget_left_usd)
            finally:
                await provider.aclose()
        return self.submitted

    async def _submit_model(
        self, provider: BatchProvider, spec: ModelSpec, role: str | None, calls: list[_Queued], left: float | None
    ) -> float | None:
        hashes = {c.key: c.request.template_hash for c in calls}
        lines = [BatchLine(c.key, provider.line_body(c.request, c.json_schema)) for c in calls]
        outputs = {c.key: c.request.params.max_output_tokens for c in calls}
        for group in provider.split(lines):
            cost = self._worst_case(spec, group, outputs)
            if cost is not None and left is not None and cost > left:
                raise BudgetExceededError(
                    f"A batch of {len(group)} {spec} request(s) for {self.stage} could cost up to ${cost:.2f} at "
                    f"batch prices, and ${max(left, 0):.2f} is left of the budget; nothing was submitted for it.",
                    hint="Raise the cap with --budget, or run fewer items (e.g. a pilot) first.",
                )
            provider_name = "export" if self.mode == "export" else provider.name
            new = records.NewBatch(provider_name, str(spec), self.stage, self.run_id, role, len(group), cost)
            batch_id = records.record_batch(self.project.store, new, [(x.key, hashes[x.key], x.body) for x in group])
            self._known = True
            self.submitted.append(batch_id)
            if self.mode == "submit":
                await self._send(provider, batch_id, group)
            left = None if left is None or cost is None else left - cost
        return left

    async def _send(self, provider: BatchProvider, batch_id: str, group: list[BatchLine]) -> None:
        try:
            remote_id = await provider.submit(group, batch_id)
        except BackendError as e:
            if e.retryable:
                # Perhaps made, perhaps not: the batch stays `submitting`, and the next collect
                # settles it by looking the job up by its display name (collect.py).
                raise
            records.mark_submit_failed(self.project.store, batch_id, str(e))
            raise WorkbenchError(
                f"{provider.name} refused the batch for {self.stage}: {e}",
                hint="A self-hosted server (vLLM, llama.cpp …) has no batch endpoint: use --batch-export, then "
                "`workbench batch export` and `workbench batch import`; or run without --batch.",
            ) from None
        records.mark_submitted(self.project.store, batch_id, remote_id)

    def _worst_case(self, spec: ModelSpec, group: list[BatchLine], outputs: dict[str, int | None]) -> float | None:
        """The batch's cost at batch prices if every request used its whole output budget."""
        price = self.project.config.price_of(spec)
        if price is None:
            return None
        default_out = self.project.config.gateway.default_output_tokens
        tokens_in = sum(estimate_tokens(json.dumps(line.body)) for line in group)
        tokens_out = sum(outputs[line.key] or default_out for line in group)
        return call_cost(price.for_batch(), tokens_in, tokens_out)
