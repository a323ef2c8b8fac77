"""A cost projection as the stage notebooks show it: a Markdown summary, its table, notes and warnings.

    view = docs_projection(project, DocsChoice(ref, chunk_ids, types), per_type=5)   # notebooks/03
    view = audit_projection(project, dataset_id, patterns=10)                       # notebooks/04
    warnings = [mo.callout(mo.plain_text(w), kind="warn") for w in view.warnings]
    mo.vstack([mo.md(view.summary), mo.ui.table(view.rows, selection=None), *map(mo.md, view.notes), *warnings])
    view.cost.remaining_slots                                                       # the projection itself

Both walks word the totals the same way (`cost_sentence`): calls, tokens, the cost (unknown when
a model has no price) and the cap of the piece of work a run advances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.audit.audits import audit_id
from workbench.audit.cost import AuditProjection, plan_audit
from workbench.config_stages import AuditConfig
from workbench.generate.cost import CostProjection
from workbench.generate.docs_pipeline import project_docs_cost
from workbench.project import Project
from workbench.views.documents import DocsChoice
from workbench.views.patterns import AuditStatus, audit_status
from workbench.views.runs import projection_rows


@dataclass(frozen=True)
class ProjectionView:
    """What a notebook shows of a projection.

    Attributes:
        cost: The projection shown.
        summary: Our Markdown: what a run would do and what it would cost.
        rows: The table: one row per ledger stage (`projection_rows`).
        notes: Our Markdown paragraphs shown under the table.
        warnings: Plain text for warning callouts (they quote stage names and assumptions as they are).
    """

    cost: CostProjection
    summary: str
    rows: list[dict[str, Any]]
    notes: list[str]
    warnings: list[str]


def cost_sentence(cost: CostProjection) -> str:
    """The totals in Markdown: "~N calls, ~T tokens, **$C** (budget: $B per run)"."""
    usd = "unknown (no price for a model)" if cost.cost_usd is None else f"${cost.cost_usd:.4f}"
    cap = "no cap" if cost.budget_usd is None else f"${cost.budget_usd:.2f} per run"
    return f"~{cost.calls:.0f} calls, ~{cost.tokens:,.0f} tokens, **{usd}** (budget: {cap})"


def docs_projection(project: Project, choice: DocsChoice, per_type: int) -> ProjectionView:
    """The run that fills `per_type` documents per trait and type of `choice` (`project_docs_cost`).

    Raises:
        WorkbenchError: nothing has been measured on this traits version yet (run a pilot first).
    """
    cost = project_docs_cost(
        project, choice.traits_ref, chunk_keys=choice.chunk_keys, per_type=per_type, types=choice.types
    )
    return docs_view(cost)


def docs_view(projection: CostProjection) -> ProjectionView:
    """A documents run's projection: slots left to fill, at the per-slot averages measured so far."""
    summary = (
        f"**Projection:** {projection.remaining_slots} document slot(s) to fill, from per-slot averages over "
        f"the {projection.measured_slots} measured so far: {cost_sentence(projection)}."
    )
    nothing_left = "_Nothing left to fill at this size: raise the number above (default: `[docs] per_type`)._"
    unmeasured = "Not measured yet, so not in the totals: " + ", ".join(projection.unmeasured)
    return ProjectionView(
        cost=projection,
        summary=summary,
        rows=projection_rows(projection),
        notes=[nothing_left] if projection.remaining_slots == 0 else [],
        warnings=[unmeasured] if projection.unmeasured else [],
    )


def audit_projection(project: Project, dataset_id: str, patterns: int) -> ProjectionView:
    """The audit of a dataset under the project's `[audit]` settings, rating `patterns` patterns (`plan_audit`).

    The progress shown is the audit's that a run would resume: its id is a hash of the dataset and the settings.

    Raises:
        WorkbenchError: no such dataset.
    """
    settings = project.config.audit
    plan = plan_audit(project, dataset_id, patterns=patterns, settings=settings)
    return audit_view(plan, settings, audit_status(project, audit_id(dataset_id, settings)))


def audit_view(plan: AuditProjection, settings: AuditConfig, status: AuditStatus) -> ProjectionView:
    """An audit's scans and ratings under `settings`, with how far the audit they resume has got (`status`)."""
    summary = (
        f"### Projection\n\n{plan.rows} rows; {plan.sample} sampled and rated against {plan.patterns} patterns: "
        f"{cost_sentence(plan.cost)}."
    )
    progress = (
        f"Settings (`[audit]`): {settings.scans} scans of {settings.rows_per_scan} rows, kept when found by "
        f"{settings.min_scans}; this audit has {status.candidates} candidates and {status.active_patterns} "
        "patterns so far."
    )
    return ProjectionView(
        cost=plan.cost,
        summary=summary,
        rows=projection_rows(plan.cost),
        notes=[progress],
        warnings=[f"Assumed, not measured: {a}." for a in plan.assumptions],
    )
