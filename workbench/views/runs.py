"""A pipeline run's outcome, a cost projection and budgets as table rows (the walks, app and CLI share them).

step_rows(report.steps)          # step, jobs, fresh calls, then rows written per status
projection_rows(projection)      # one row per ledger stage: calls, tokens in/out, cost
budget_rows(status.budgets)      # one row per piece of work: its runs, spend against its cap
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.budget import cap_origin
from workbench.generate.cost import CostProjection
from workbench.generate.steps import StepReport
from workbench.runs import WorkBudget


def step_rows(steps: Sequence[StepReport]) -> list[dict[str, Any]]:
    """A run's step reports as table rows: jobs, fresh calls, then rows written per status."""
    return [
        {"step": s.step, "jobs": s.jobs, "fresh calls": s.fresh_calls, **dict(sorted(s.written.items()))} for s in steps
    ]


def projection_rows(projection: CostProjection) -> list[dict[str, Any]]:
    """A cost projection as table rows, one per ledger stage (cost None: a model without a price)."""
    return [
        {
            "stage": s.stage,
            "calls": round(s.calls, 1),
            "tokens in": round(s.tokens_in),
            "tokens out": round(s.tokens_out),
            "cost (USD)": None if s.cost_usd is None else round(s.cost_usd, 6),
        }
        for s in projection.stages
    ]


def budget_rows(budgets: Sequence[WorkBudget]) -> list[dict[str, Any]]:
    """Each piece of work's spend against its cap (cap None: no cap), over all its runs."""
    return [
        {
            "work": b.work,
            "runs": b.runs,
            "spent (USD)": round(b.spent_usd, 6),
            "cap (USD)": b.cap_usd,
            "cap from": cap_origin(b) if b.cap_usd is not None else "no cap",
            "calls of unknown cost": b.unknown_calls,
        }
        for b in budgets
    ]
