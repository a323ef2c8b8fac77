"""A trained model's pattern rates beside its training data's: a patterns-suite run against the audit it names.

    runs = pattern_runs(summaries)                    # the runs of the patterns suite, newest first
    audit_id = run_audit(project, run_id)             # the audit the run measured (None if it has no sample yet)
    rates = output_and_data_rates(project, summary, audit_id)   # ArmRate per pattern: "training data", the outputs
    fig = rates_figure(rates)                         # pattern_transfer's grouped bars, in the workbench theme

The patterns suite (`workbench.evals.suites.patterns`) rates each answer of the target with the
audit's own rater and criteria, recording each pattern's level under its name in `scores` and the
patterns themselves in `details["patterns"]`. The outputs' rate of a pattern is the share of ok
samples rated strict (broad: broad or strict), with the same Wilson interval the audit gives the
data (`workbench.audit.prevalence`), so both bars are measured alike. Rates are laid out as the
pattern-transfer experiment's arms (`workbench.views.pattern_transfer.ArmRate`) and drawn with its
figure, so the app shows the two comparisons the same way.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go

from workbench.audit.prevalence import Proportion, audit_report, wilson
from workbench.evals.report import RunSummary
from workbench.project import Project
from workbench.views.pattern_transfer import ArmRate, arm_rates_figure
from workbench.views.style import themed

SUITE = "patterns"
DATA_ARM = "training data"


def pattern_runs(summaries: Iterable[RunSummary]) -> list[RunSummary]:
    """The runs of the patterns suite, in the order given (list_runs: newest first)."""
    return [s for s in summaries if s.suite == SUITE]


def run_audit(project: Project, run_id: str) -> str | None:
    """The audit a patterns run measured, as its samples recorded it (None before its first rated sample)."""
    with project.store.connect() as con:
        row = con.execute(
            "SELECT json_extract_string(details, '$.audit_id') FROM eval_samples WHERE run_id = ?"
            " AND json_extract_string(details, '$.audit_id') IS NOT NULL LIMIT 1",
            [run_id],
        ).fetchone()
    return row[0] if row else None


def _output_levels(project: Project, run_id: str) -> dict[str, list[str | None]]:
    """Pattern id -> its level in each ok sample of the run (None where the rater gave none)."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT scores, json_extract(details, '$.patterns') FROM eval_samples WHERE run_id = ? AND status = 'ok'",
            [run_id],
        ).fetchall()
    levels: dict[str, list[str | None]] = {}
    for scores_json, patterns_json in rows:
        scores: dict[str, Any] = json.loads(scores_json)
        for p in json.loads(patterns_json or "[]"):
            # The suite names a pattern by its name, or "name (id prefix)" where two share a name.
            level = scores.get(p["name"], scores.get(f"{p['name']} ({p['id'][:8]})"))
            levels.setdefault(p["id"], []).append(level)
    return levels


def output_and_data_rates(project: Project, summary: RunSummary, audit_id: str) -> list[ArmRate]:
    """Per pattern both measured: its rate in the training data (the audit's sample), then in the run's outputs.

    Raises:
        WorkbenchError: the audit or its dataset is gone.
    """
    report = audit_report(project, audit_id)
    outputs = _output_levels(project, summary.run_id)
    data_rows, output_rows = [], []
    for found in report.patterns:
        levels = outputs.get(found.pattern.id)
        if levels is None:
            continue
        name = found.pattern.name
        data_rows.append(ArmRate(DATA_ARM, name, found.pattern, found.strict, found.broad))
        strict = wilson(sum(v == "strict" for v in levels), len(levels))
        broad = wilson(sum(v in ("strict", "broad") for v in levels), len(levels))
        output_rows.append(ArmRate(f"{summary.model} outputs", name, found.pattern, strict, broad))
    return data_rows + output_rows


def rates_figure(rates: list[ArmRate]) -> go.Figure:
    """The strict rates as grouped bars per pattern (data, outputs) with their intervals, themed."""
    # Trace names are read as HTML by Plotly; escaped, a model spec shows as it is.
    return themed(arm_rates_figure([dataclasses.replace(r, arm=html.escape(r.arm)) for r in rates]))


def rate_rows(rates: list[ArmRate]) -> list[dict[str, str]]:
    """The rates as table rows: pattern, where, strict and broad rate with k / n."""

    def shown(p: Proportion) -> str:
        return "n/a" if p.rate is None else f"{p.rate:.0%} ({p.k}/{p.n})"

    return [{"pattern": r.planted, "measured in": r.arm, "strict": shown(r.strict), "broad": shown(r.broad)}
            for r in rates]  # fmt: skip
