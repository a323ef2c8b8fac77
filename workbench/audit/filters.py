"""Patterns as filters, and as measures of model outputs.

    result = asyncio.run(filter_dataset(project, audit.id, ["Opens with emotional validation"], level="strict"))
    outputs = asyncio.run(rate_outputs(project, audit.id, rows, name="checkpoint-3 on held-out prompts"))

`filter_dataset` rates *every* row of the audited dataset against the chosen patterns (the
sample is not enough to decide each row), then saves the rows that do not match as a new
dataset linked to its parent, with the filter that made it. At level `strict` a row is dropped
when a pattern is unambiguously present; at `broad`, when it is present in any form. If any row
could not be rated, nothing is saved: a filtered dataset must not keep a row just because its
rating failed.

`rate_outputs` stores texts a model produced (an eval's transcripts) as a dataset and rates all
of them with the same raters and criteria as the audit, so data and model are one measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from workbench.audit.audits import Audit, AuditContext, get_audit, open_audit
from workbench.audit.datasets import AuditDataset, DatasetRow, StoredRow, dataset_rows, get_dataset, save_dataset
from workbench.audit.formats import Format
from workbench.audit.patterns import Pattern, get_pattern, list_patterns
from workbench.audit.prevalence import PatternPrevalence, prevalence
from workbench.audit.rate import rate_rows, stored_levels
from workbench.errors import WorkbenchError
from workbench.generate.run import run_steps
from workbench.generate.steps import StepReport
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.runs import work_budget

Level = Literal["broad", "strict"]
MATCHING: dict[str, tuple[str, ...]] = {"strict": ("strict",), "broad": ("broad", "strict")}


@dataclass(frozen=True)
class FilterResult:
    """The filtered dataset and what the filter removed."""

    dataset: AuditDataset
    removed: int
    kept: int
    steps: list[StepReport]


@dataclass(frozen=True)
class OutputsResult:
    """Model outputs as a dataset, and each pattern's prevalence in them."""

    dataset: AuditDataset
    patterns: list[PatternPrevalence]
    steps: list[StepReport]


async def _rate_all(
    project: Project, audit: Audit, patterns: Sequence[Pattern], rows: Sequence[StoredRow], what: str,
    progress: ProgressCallback | None, retry_failed: bool = False,
) -> list[StepReport]:  # fmt: skip
    """Rate `rows` against `patterns` in one recorded run of the audit."""

    async def step(ctx: AuditContext) -> list[StepReport]:
        return [await rate_rows(ctx, patterns, rows)]

    result = await run_steps(
        project, "audit", None, [step],
        open_ctx=lambda run_id: open_audit(project, audit, run_id=run_id, progress=progress),
        config={"audit_id": audit.id, "steps": [what], "patterns": [p.id for p in patterns]},
        work=f"audit-{what}:{audit.id}", retry_failed=retry_failed,
    )  # fmt: skip
    if result.stopped_budget:
        budget = work_budget(project.store, result.run_id)
        raise WorkbenchError(
            f"The budget cap stopped the rating before {what} was complete; nothing was saved. {budget.work} has "
            f"spent ${budget.spent_usd:.4f} of its ${budget.cap_usd or 0:.4f} cap over all its runs.",
            hint="Raise [budget] max_cost_usd_per_run, then run again: ratings made so far are kept.",
        )
    return result.steps


def _chosen(project: Project, audit: Audit, pattern_refs: Sequence[str]) -> list[Pattern]:
    if not pattern_refs:
        raise WorkbenchError("Name at least one pattern to filter by.", hint="See `workbench audit patterns AUDIT`.")
    return [get_pattern(project, ref, audit.id) for ref in pattern_refs]


async def filter_dataset(
    project: Project, audit_ref: str, pattern_refs: Sequence[str], *, level: Level = "strict",
    name: str | None = None, progress: ProgressCallback | None = None, retry_failed: bool = False,
) -> FilterResult:  # fmt: skip
    """Save the audited dataset minus the rows where any chosen pattern is present at `level`.

    Raises:
        WorkbenchError: an unknown pattern or level, a budget stop, or rows whose rating failed.
    """
    if level not in MATCHING:
        raise WorkbenchError(f"Unknown level {level!r}.", hint="Use strict or broad.")
    audit = get_audit(project, audit_ref)
    patterns = _chosen(project, audit, pattern_refs)
    parent = get_dataset(project, audit.dataset_id)
    rows = dataset_rows(project, parent.id)
    steps = await _rate_all(project, audit, patterns, rows, "filter", progress, retry_failed)
    with project.store.connect() as con:
        levels = stored_levels(con, patterns, [r.text_hash for r in rows])
    unrated = sum((p.id, r.text_hash) not in levels for p in patterns for r in rows)
    if unrated:
        raise WorkbenchError(
            f"{unrated} (row, pattern) pairs could not be rated, so the filter cannot decide those rows; "
            "nothing was saved.",
            hint="See `workbench status` for the reasons. Transient errors are retried by running the filter "
            "again; rows over `[limits] max_row_chars` (too_long) need a higher cap, and calls that failed for "
            "good (bad request, auth) need the cause fixed, then --retry-failed.",
        )
    matching = MATCHING[level]
    kept = [r for r in rows if not any(levels[(p.id, r.text_hash)] in matching for p in patterns)]
    if not kept:
        raise WorkbenchError("The filter would remove every row; nothing was saved.")
    chosen = [{"id": p.id, "name": p.name, "criteria_hash": p.criteria_hash} for p in patterns]
    description = {"audit_id": audit.id, "level": level, "removed": len(rows) - len(kept), "patterns": chosen}
    dataset = save_dataset(
        project, name=name or f"{parent.name} without {', '.join(p.name for p in patterns)} ({level})",
        source="filtered", format=parent.format,  # type: ignore[arg-type]
        rows=[DatasetRow(r.row_id, r.record, r.text, r.group) for r in kept],
        origin=f"dataset {parent.id}", parent_id=parent.id, filter=description,
    )  # fmt: skip
    return FilterResult(dataset, len(rows) - len(kept), len(kept), steps)


async def rate_outputs(
    project: Project, audit_ref: str, outputs: Sequence[DatasetRow], *, name: str,
    pattern_refs: Sequence[str] | None = None, format: Format = "text", progress: ProgressCallback | None = None,
) -> OutputsResult:  # fmt: skip
    """Store model outputs as a dataset and measure the audit's patterns (all active, or those named) in them."""
    audit = get_audit(project, audit_ref)
    patterns = _chosen(project, audit, pattern_refs) if pattern_refs else list_patterns(project, audit.id)
    if not patterns:
        raise WorkbenchError(f"Audit {audit.id} has no active patterns to measure.")
    dataset = save_dataset(
        project, name=name, source="outputs", format=format, rows=outputs, origin=f"audit {audit.id}"
    )
    rows = dataset_rows(project, dataset.id)
    steps = await _rate_all(project, audit, patterns, rows, "outputs", progress)
    return OutputsResult(dataset, prevalence(project, patterns, rows), steps)
