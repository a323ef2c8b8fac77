"""The SFT data pipeline end to end, one step or all of them, as one run.

    report = await run_sft(project, "candid_care", scenarios=2)            # a pilot of 2 per trait
    projection = project_sft_cost(project, "candid_care", scenarios=50)    # what the rest would cost
    report = await run_sft(project, "candid_care", scenarios=50)           # the full run

Every step works on what is missing, so running again after a crash, a budget stop or a round
of human review picks up exactly where things stand. Steps, in order:

    scenarios → critique (baseline + critique + revisions) → [human gate] → respond (conditioned)
    → refine → reject (rejected + check; only with `preference`) → rate (assemble + autorater) → dedup
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from workbench.generate.context import SFTContext, open_context
from workbench.generate.critique import critique_scenarios
from workbench.generate.quality import dedup_examples, rate_examples
from workbench.generate.responses import (
    assemble_examples,
    conditioned_jobs,
    load_answers,
    refine_jobs,
    reject_answers,
)
from workbench.generate.run import run_steps
from workbench.generate.scenarios import generate_scenarios
from workbench.generate.steps import StepReport
from workbench.llm.batch.queue import BatchMode
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.runs import WorkBudget
from workbench.store.traits import get_version


async def _scenarios(ctx: SFTContext) -> list[StepReport]:
    return [await generate_scenarios(ctx)]


async def _respond(ctx: SFTContext) -> list[StepReport]:
    return [await ctx.runner.run_jobs("conditioned", "generator", conditioned_jobs(ctx))]


async def _refine(ctx: SFTContext) -> list[StepReport]:
    return [await ctx.runner.run_jobs("refined", "critic", refine_jobs(ctx, load_answers(ctx)))]


async def _reject(ctx: SFTContext) -> list[StepReport]:
    if not ctx.config.preference:
        return []
    return await reject_answers(ctx)


async def _rate(ctx: SFTContext) -> list[StepReport]:
    return [assemble_examples(ctx), await rate_examples(ctx)]


async def _dedup(ctx: SFTContext) -> list[StepReport]:
    return [await dedup_examples(ctx)]


STEPS: dict[str, Callable[[SFTContext], Awaitable[list[StepReport]]]] = {
    "scenarios": _scenarios,
    "critique": critique_scenarios,
    "respond": _respond,
    "refine": _refine,
    "reject": _reject,
    "rate": _rate,
    "dedup": _dedup,
}
"""The pipeline's steps in order; `run_sft(steps=[...])` runs a subset (each CLI step command)."""

ROLES = ("generator", "critic", "baseline", "rater")
"""The roles the steps send model calls to through the gateway (for the budget's worst-case overshoot)."""


@dataclass
class SFTReport:
    """What a run did, and what now waits for a person."""

    run_id: str
    steps: list[StepReport] = field(default_factory=list)
    stopped_budget: bool = False
    scenarios_awaiting_review: int = 0
    examples_awaiting_review: int = 0


async def run_sft(
    project: Project,
    traits_ref: str,
    *,
    chunk_keys: Sequence[str] | None = None,
    scenarios: int | None = None,
    steps: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    budget_usd: float | None = None,
    on_start: Callable[[WorkBudget], None] | None = None,
    retry_failed: bool = False,
    batch: BatchMode = "off",
) -> SFTReport:
    """Run the pipeline's steps (all by default) as one recorded run.

    Args:
        project: The project whose roles, prompts, thresholds and store are used.
        traits_ref: The traits version: `name`, `name@N` or a version id prefix.
        chunk_keys: Traits to generate for (key, title or id prefix); all traits by default.
        scenarios: Scenario slots per trait (a pilot's K, or the full N); `[sft]
            scenarios_per_chunk` by default.
        steps: Names from `STEPS`, run in pipeline order.
        progress: Receives progress of every batch of model calls.
        budget_usd: An explicit cap for this traits version's SFT data (`--budget`), kept by later
            runs; by default the cap an earlier run set, else `[budget] max_cost_usd_per_run`.
        on_start: Told the budget (cap and spend so far) before anything is sent.
        retry_failed: Send again calls an earlier run ended `failed` (bad request, auth, unknown model).
        batch: Batch mode: calls go to the provider's batch API; the run ends `waiting` until they are
            collected, and the same command again goes on (`workbench.generate.run.run_steps`).
    """
    chosen = [s for s in STEPS if steps is None or s in steps]
    version = get_version(project.store, traits_ref)
    result = await run_steps(
        project, "sft", version.id, [STEPS[name] for name in chosen],
        open_ctx=lambda run_id: open_context(
            project, version.id, run_id=run_id, chunk_keys=chunk_keys, scenarios=scenarios, progress=progress
        ),
        config={"steps": chosen, "chunks": list(chunk_keys or []), "scenarios": scenarios},
        budget_usd=budget_usd, on_start=on_start, retry_failed=retry_failed, batch=batch,
    )  # fmt: skip
    report = SFTReport(result.run_id, result.steps, result.stopped_budget)
    report.scenarios_awaiting_review, report.examples_awaiting_review = _awaiting(result.ctx)
    return report


def _awaiting(ctx: SFTContext) -> tuple[int, int]:
    with ctx.project.store.connect() as con:
        counts = [
            con.execute(
                f"SELECT count(*) FROM {table} WHERE status = 'needs_review' AND traits_version = ?"
                " AND chunk_id IN (SELECT unnest(?))",
                [ctx.version.id, ctx.chunk_ids],
            ).fetchone()
            for table in ("sft_scenarios", "sft_examples")
        ]
    return int(counts[0][0]), int(counts[1][0])  # type: ignore[index]
