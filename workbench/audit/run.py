"""Run an audit, or some of its steps, as one recorded run.

    result = asyncio.run(run_audit(project, "sft"))                    # scan, cluster, rate
    result = asyncio.run(run_audit(project, "sft", steps=("scan", "cluster")))   # stop to edit criteria
    result = asyncio.run(run_audit(project, "sft", scanner="lexical", reference="baseline"))  # no calls
    print(result.report.patterns)

The scanner decides how patterns are found: `llm` scans and clusters (the `rater` and the
`embedder`), `lexical` counts openers, closers, n-grams and structure in SQL (`lexical.py`, no
call at all), `both` does both into the same audit, so one report holds both kinds. The rate
step rates lexical patterns in SQL and sends only the others to the `rater`; with the lexical
scanner alone it rates only lexical patterns, so it never makes a call.

Every step does only what is missing, so running again after a crash, a budget stop or an edit
of a pattern's criteria resumes where things stand and pays for nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from workbench.audit.audits import AuditContext, get_audit, open_audit, start_audit
from workbench.audit.cluster import cluster_candidates
from workbench.audit.datasets import get_dataset
from workbench.audit.lexical import LexicalFinding, LexicalSettings, discover_lexical
from workbench.audit.patterns import list_patterns
from workbench.audit.prevalence import AuditReport, sample_report
from workbench.audit.rate import audit_sample, rate_rows, rate_sample
from workbench.audit.scan import scan_dataset
from workbench.errors import WorkbenchError
from workbench.generate.run import run_steps
from workbench.generate.steps import StepReport
from workbench.llm.batch.queue import BatchMode
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.runs import WorkBudget


def _one(
    step: Callable[[AuditContext], Awaitable[StepReport]],
) -> Callable[[AuditContext], Awaitable[list[StepReport]]]:
    async def run(ctx: AuditContext) -> list[StepReport]:
        return [await step(ctx)]

    return run


Scanner = Literal["llm", "lexical", "both"]
SCANNERS: dict[str, tuple[str, ...]] = {"llm": ("scan", "cluster"), "lexical": ("lexical",),
                                        "both": ("lexical", "scan", "cluster")}  # fmt: skip
STEPS: tuple[str, ...] = ("lexical", "scan", "cluster", "rate")  # in the order they run
ROLES = ("rater",)  # the role the steps send model calls to (for the budget's worst-case overshoot)


async def _rate_lexical_patterns(ctx: AuditContext) -> StepReport:
    """The rate step of the lexical scanner alone: only lexical patterns, hence no call."""
    patterns = [p for p in list_patterns(ctx.project, ctx.audit.id) if p.rule is not None]
    return await rate_rows(ctx, patterns, audit_sample(ctx))


def _steps(
    scanner: Scanner, reference: str | None, lexical: LexicalSettings | None, found: list[LexicalFinding]
) -> dict[str, Callable[[AuditContext], Awaitable[list[StepReport]]]]:
    async def find_lexical(ctx: AuditContext) -> list[StepReport]:
        return [discover_lexical(ctx, reference=reference, settings=lexical, found=found)]

    return {
        "lexical": find_lexical,
        "scan": _one(scan_dataset),
        "cluster": _one(cluster_candidates),
        "rate": _one(_rate_lexical_patterns if scanner == "lexical" else rate_sample),
    }


@dataclass
class AuditRunResult:
    """What one run of an audit did, and the audit's report afterwards."""

    audit_id: str
    run_id: str
    steps: list[StepReport]
    stopped_budget: bool
    report: AuditReport
    findings: list[LexicalFinding] = field(default_factory=list)  # the lexical step's, best first


async def run_audit(
    project: Project,
    ref: str,
    *,
    steps: Sequence[str] = STEPS,
    new: bool = True,
    progress: ProgressCallback | None = None,
    scanner: Scanner = "llm",
    reference: str | None = None,
    lexical: LexicalSettings | None = None,
    budget_usd: float | None = None,
    on_start: Callable[[WorkBudget], None] | None = None,
    retry_failed: bool = False,
    batch: BatchMode = "off",
) -> AuditRunResult:
    """Run `steps` of an audit (those of the chosen scanner, then rate).

    Args:
        project: The project.
        ref: With `new`, a dataset (its audit under the current `[audit]` settings is started or
            resumed); otherwise an existing audit (id, prefix, or its dataset's name).
        steps: Which of lexical, scan, cluster, rate to run, in that order; the steps of a
            scanner not chosen are skipped.
        new: Whether `ref` names a dataset rather than an audit.
        progress: Receives progress per batch of calls.
        scanner: llm (scan and cluster), lexical (count, no calls) or both.
        reference: For the lexical scanner: a dataset to compare against (e.g. the baseline data).
        lexical: The lexical scanner's settings (default: the project's `[audit.lexical]`).
        budget_usd: An explicit cap for the audit (`--budget`), kept by its later runs; by default
            the cap an earlier run set, else `[budget] max_cost_usd_per_run`.
        on_start: Told the budget (cap and spend so far) before anything is sent.
        retry_failed: Send again calls an earlier run ended `failed` (bad request, auth, unknown model).
        batch: Batch mode: calls go to the provider's batch API; the run ends `waiting` until they are
            collected, and the same command again goes on (`workbench.generate.run.run_steps`).

    Raises:
        WorkbenchError: an unknown step, scanner, dataset or audit.
    """
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise WorkbenchError(f"Unknown audit step(s) {', '.join(unknown)}.", hint=f"Steps: {', '.join(STEPS)}.")
    if scanner not in SCANNERS:
        raise WorkbenchError(f"Unknown scanner {scanner!r}.", hint=f"Scanners: {', '.join(SCANNERS)}.")
    if reference is not None:
        get_dataset(project, reference)  # a clear error before anything runs
    audit = start_audit(project, ref) if new else get_audit(project, ref)
    chosen = [name for name in STEPS if name in steps and (name == "rate" or name in SCANNERS[scanner])]
    found: list[LexicalFinding] = []
    functions = _steps(scanner, reference, lexical, found)
    result = await run_steps(
        project, "audit", None, [functions[name] for name in chosen],
        open_ctx=lambda run_id: open_audit(project, audit, run_id=run_id, progress=progress),
        config={"audit_id": audit.id, "dataset_id": audit.dataset_id, "steps": chosen, "scanner": scanner,
                "reference": reference, **project.config.audit.model_dump()},
        work=f"audit:{audit.id}", budget_usd=budget_usd, on_start=on_start, retry_failed=retry_failed, batch=batch,
    )  # fmt: skip
    report = sample_report(result.ctx)
    return AuditRunResult(audit.id, result.run_id, result.steps, result.stopped_budget, report, found)
