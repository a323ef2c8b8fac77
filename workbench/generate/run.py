"""One recorded run of a pipeline's steps, shared by the SFT data and the midtraining documents.

    result = await run_steps(project, "docs", version.id, steps, open_ctx=lambda run_id: ..., config={...})

The run gets a `runs` row; the steps run in order until one is stopped by the budget cap; the
row ends `done`, `stopped_budget`, or `failed` with the exception (which is re-raised), so a
crashed or interrupted run is visible in the store rather than left `running`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workbench.generate.steps import StepReport
from workbench.project import Project
from workbench.runs import finish_run, start_run

C = TypeVar("C")
StepFn = Callable[[C], Awaitable[list[StepReport]]]
"""A pipeline step: does what is missing for the context's run, returns what each pass did."""


@dataclass
class RunResult(Generic[C]):
    """The run's id and context, what its steps did, and whether the budget cap stopped it."""

    run_id: str
    ctx: C
    steps: list[StepReport] = field(default_factory=list)
    stopped_budget: bool = False


async def run_steps(
    project: Project,
    kind: str,
    version_id: str | None,
    steps: Sequence[StepFn[C]],
    *,
    open_ctx: Callable[[str], C],
    config: dict[str, Any],
) -> RunResult[C]:
    """Run `steps` in order as one recorded run of `kind` (over traits version `version_id`, if any)."""
    budget = project.config.budget.max_cost_usd_per_run
    run_id = start_run(project.store, kind, traits_version=version_id, budget_usd=budget, config=config)
    try:
        result = RunResult(run_id, open_ctx(run_id))
        for step in steps:
            result.steps.extend(await step(result.ctx))
            if any(r.stopped_budget for r in result.steps):
                result.stopped_budget = True
                break
    except BaseException as e:
        finish_run(project.store, run_id, "failed", note=f"{type(e).__name__}: {e}")
        raise
    finish_run(project.store, run_id, "stopped_budget" if result.stopped_budget else "done")
    return result
