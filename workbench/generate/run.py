"""One recorded run of a pipeline's steps, shared by the SFT data, the midtraining documents and the audit.

    result = await run_steps(project, "docs", version.id, steps, open_ctx=lambda run_id: ..., config={...})

The run gets a `runs` row over a piece of work (`kind:version_id` unless the caller names one)
whose budget every run of that work shares (workbench/runs.py; the gateway enforces it, so a
run of a work that has spent its cap sends nothing). The steps run in order until one is
stopped by the budget cap; the row ends `done`, `stopped_budget`, or `failed` with the exception
(which is re-raised). A run whose process is killed is marked `interrupted` by the next start of
any run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from workbench.generate.steps import StepReport, StepRunner, unanswered_problem
from workbench.llm.batch.collect import collect_ready
from workbench.llm.batch.queue import BatchMode
from workbench.project import Project
from workbench.runs import RunStatus, WorkBudget, finish_run, start_run, work_budget


class HasRunner(Protocol):
    """A steps' context: whatever it holds, its step runner sends the calls."""

    runner: StepRunner


C = TypeVar("C", bound=HasRunner)
StepFn = Callable[[C], Awaitable[list[StepReport]]]
"""A pipeline step: does what is missing for the context's run, returns what each pass did."""


@dataclass
class RunResult(Generic[C]):
    """The run's id and context, what its steps did, and whether the budget cap stopped it."""

    run_id: str
    ctx: C
    steps: list[StepReport] = field(default_factory=list)
    stopped_budget: bool = False
    problem: str | None = None  # why the run failed although it ran to the end (see unanswered_problem)

    @property
    def batches(self) -> list[str]:
        """The batches this run submitted (batch mode); later steps wait until they are collected."""
        return [b for report in self.steps for b in report.batches]

    @property
    def deferred(self) -> int:
        """Calls that wait on a batch (submitted now or earlier)."""
        return sum(report.deferred for report in self.steps)


async def run_steps(
    project: Project,
    kind: str,
    version_id: str | None,
    steps: Sequence[StepFn[C]],
    *,
    open_ctx: Callable[[str], C],
    config: dict[str, Any],
    work: str | None = None,
    budget_usd: float | None = None,
    on_start: Callable[[WorkBudget], None] | None = None,
    retry_failed: bool = False,
    batch: BatchMode = "off",
) -> RunResult[C]:
    """Run `steps` in order as one recorded run of `kind` (over traits version `version_id`, if any).

    Args:
        project: Whose store and config.
        kind: The run's stage (sft, docs, audit).
        version_id: The traits version the run works over, if any.
        steps: The steps, in order.
        open_ctx: Makes the steps' context for the run id.
        config: Settings recorded with the run.
        work: The piece of work the run advances (default `kind:version_id`, see `start_run`).
        budget_usd: An explicit cap for the work (`--budget`), kept by later runs of it.
        on_start: Told the work's budget once the run is recorded, before anything is sent.
        retry_failed: Send again the calls an earlier run ended `failed` (permanent errors).
        batch: Batch mode (`BatchMode`). Finished batches are collected first; a step whose calls
            wait on a batch ends the run `waiting`, and running the same command again goes on.
    """
    run_id = start_run(
        project.store, kind, traits_version=version_id, work=work, budget_usd=budget_usd,
        default_budget_usd=project.config.budget.max_cost_usd_per_run, config=config,
    )  # fmt: skip
    try:
        if on_start is not None:
            on_start(work_budget(project.store, run_id))
        await collect_ready(project)
        result = RunResult(run_id, open_ctx(run_id))
        result.ctx.runner.retry_failed = retry_failed
        result.ctx.runner.batch = batch
        for step in steps:
            result.steps.extend(await step(result.ctx))
            result.stopped_budget = any(r.stopped_budget for r in result.steps)
            if result.stopped_budget or result.deferred:
                break
    except BaseException as e:
        finish_run(project.store, run_id, "failed", note=f"{type(e).__name__}: {e}")
        raise
    result.problem = unanswered_problem(result.steps)
    status: RunStatus = "failed" if result.problem else "stopped_budget" if result.stopped_budget else "done"
    if status == "done" and result.deferred:
        status = "waiting"
    finish_run(project.store, run_id, status, note=result.problem or waiting_note(result.deferred, result.batches))
    return result


def waiting_note(deferred: int, batches: Sequence[str]) -> str | None:
    """The run's note when calls wait on batches: how many, and which batches it submitted."""
    if not deferred:
        return None
    submitted = f"; submitted {', '.join(batches)}" if batches else ""
    return f"{deferred} call(s) wait on batches{submitted}. Run the same command again once they are collected."
