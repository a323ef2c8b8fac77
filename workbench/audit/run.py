"""Run an audit, or some of its steps, as one recorded run.

    result = asyncio.run(run_audit(project, "sft"))                    # scan, cluster, rate
    result = asyncio.run(run_audit(project, "sft", steps=("scan", "cluster")))   # stop to edit criteria
    print(result.report.patterns)

Every step does only what is missing, so running again after a crash, a budget stop or an edit
of a pattern's criteria resumes where things stand and pays for nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from workbench.audit.audits import AuditContext, get_audit, open_audit, start_audit
from workbench.audit.cluster import cluster_candidates
from workbench.audit.prevalence import AuditReport, sample_report
from workbench.audit.rate import rate_sample
from workbench.audit.scan import scan_dataset
from workbench.errors import WorkbenchError
from workbench.generate.run import run_steps
from workbench.generate.steps import StepReport
from workbench.progress import ProgressCallback
from workbench.project import Project


def _one(
    step: Callable[[AuditContext], Awaitable[StepReport]],
) -> Callable[[AuditContext], Awaitable[list[StepReport]]]:
    async def run(ctx: AuditContext) -> list[StepReport]:
        return [await step(ctx)]

    return run


STEPS: dict[str, Callable[[AuditContext], Awaitable[list[StepReport]]]] = {
    "scan": _one(scan_dataset),
    "cluster": _one(cluster_candidates),
    "rate": _one(rate_sample),
}


@dataclass
class AuditRunResult:
    """What one run of an audit did, and the audit's report afterwards."""

    audit_id: str
    run_id: str
    steps: list[StepReport]
    stopped_budget: bool
    report: AuditReport


async def run_audit(
    project: Project,
    ref: str,
    *,
    steps: Sequence[str] = tuple(STEPS),
    new: bool = True,
    progress: ProgressCallback | None = None,
) -> AuditRunResult:
    """Run `steps` of an audit.

    Args:
        project: The project.
        ref: With `new`, a dataset (its audit under the current `[audit]` settings is started or
            resumed); otherwise an existing audit (id, prefix, or its dataset's name).
        steps: Which of scan, cluster, rate to run, in that order.
        new: Whether `ref` names a dataset rather than an audit.
        progress: Receives progress per batch of calls.

    Raises:
        WorkbenchError: an unknown step, dataset or audit.
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise WorkbenchError(f"Unknown audit step(s) {', '.join(unknown)}.", hint=f"Steps: {', '.join(STEPS)}.")
    audit = start_audit(project, ref) if new else get_audit(project, ref)
    ordered = [STEPS[name] for name in STEPS if name in steps]
    result = await run_steps(
        project, "audit", None, ordered,
        open_ctx=lambda run_id: open_audit(project, audit, run_id=run_id, progress=progress),
        config={"audit_id": audit.id, "dataset_id": audit.dataset_id, "steps": list(steps),
                **project.config.audit.model_dump()},
    )  # fmt: skip
    report = sample_report(result.ctx)
    return AuditRunResult(audit.id, result.run_id, result.steps, result.stopped_budget, report)
