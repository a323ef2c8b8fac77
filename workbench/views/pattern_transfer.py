"""The pattern-transfer experiment read back from the store: each arm's pattern rates, with intervals.

    run = latest_experiment(project)                   # None until bench/pattern_transfer.py has run
    rates = arm_rates(project, run)                    # [ArmRate(arm="base", pattern=..., strict=Proportion ...)]
    fig = arm_rates_figure(rates)                      # grouped bars per pattern, one colour per arm
    diffs = arm_differences(project, run, "full", "base")   # paired over held-out prompts

The experiment (bench/pattern_transfer.py) records one `runs` row of stage `experiment.pattern_transfer`
whose config names its audit, the planted patterns, and per arm the dataset of that arm's sampled
outputs. Everything here is recomputed from the stored ratings, so the notebook, the app and the
script show the same numbers.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from workbench.audit.datasets import StoredRow, dataset_rows
from workbench.audit.patterns import Pattern, get_pattern
from workbench.audit.prevalence import Proportion, prevalence
from workbench.audit.rate import stored_levels
from workbench.evals.stats import Estimate, paired_difference
from workbench.project import Project
from workbench.views.style import themed

STAGE = "experiment.pattern_transfer"
ARMS = ("base", "full", "filtered")


@dataclass(frozen=True)
class ExperimentRun:
    """One recorded run of the experiment.

    Attributes:
        id: The run id.
        status: running, done or failed.
        started_at: When it started.
        finished_at: When it ended (None while running).
        config: Its settings and, once known, `audit_id`, `patterns` (planted name -> pattern id)
            and `arms` (arm -> outputs dataset id).
    """

    id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    config: dict[str, Any]


@dataclass(frozen=True)
class ArmRate:
    """One arm's rate of one planted pattern in its sampled outputs."""

    arm: str
    planted: str
    pattern: Pattern
    strict: Proportion
    broad: Proportion


def experiment_runs(project: Project) -> list[ExperimentRun]:
    """Every run of the experiment, newest first."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT id, status, started_at, finished_at, config FROM runs WHERE stage = ? ORDER BY started_at DESC",
            [STAGE],
        ).fetchall()
    return [ExperimentRun(i, s, start, end, json.loads(c or "{}")) for i, s, start, end, c in rows]


def latest_experiment(project: Project) -> ExperimentRun | None:
    """The newest run that finished with every arm's outputs rated, or None."""
    return next((r for r in experiment_runs(project) if r.status == "done" and r.config.get("arms")), None)


def _arm_rows(project: Project, run: ExperimentRun) -> dict[str, list[StoredRow]]:
    return {arm: dataset_rows(project, dataset_id) for arm, dataset_id in run.config["arms"].items()}


def _planted_patterns(project: Project, run: ExperimentRun) -> dict[str, Pattern]:
    return {name: get_pattern(project, pattern_id) for name, pattern_id in run.config["patterns"].items()}


def arm_rates(project: Project, run: ExperimentRun) -> list[ArmRate]:
    """Each arm's strict and broad rate of each planted pattern, with 95% Wilson intervals."""
    patterns = _planted_patterns(project, run)
    names = {p.id: name for name, p in patterns.items()}
    rates = []
    for arm, rows in _arm_rows(project, run).items():
        for found in prevalence(project, list(patterns.values()), rows):
            rates.append(ArmRate(arm, names[found.pattern.id], found.pattern, found.strict, found.broad))
    return rates


def _per_prompt(project: Project, pattern: Pattern, rows: list[StoredRow]) -> dict[str, float]:
    """Prompt -> the share of its samples where the pattern is strictly present (row ids are `PROMPT/SAMPLE`)."""
    with project.store.connect() as con:
        levels = stored_levels(con, [pattern], [r.text_hash for r in rows])
    hits: dict[str, list[float]] = {}
    for row in rows:
        present = levels.get((pattern.id, row.text_hash)) == "strict"
        hits.setdefault(row.row_id.split("/")[0], []).append(float(present))
    return {prompt: sum(v) / len(v) for prompt, v in hits.items()}


def arm_differences(project: Project, run: ExperimentRun, arm: str, other: str) -> dict[str, Estimate]:
    """Planted pattern -> rate(arm) − rate(other), paired over the held-out prompts, with a bootstrap interval."""
    rows = _arm_rows(project, run)
    return {
        name: paired_difference(_per_prompt(project, p, rows[arm]), _per_prompt(project, p, rows[other]))
        for name, p in _planted_patterns(project, run).items()
    }


def arm_rates_figure(rates: list[ArmRate]) -> go.Figure:
    """Strict rate per planted pattern, one bar per arm, with 95% Wilson intervals as error bars (themed)."""
    fig = go.Figure()
    for arm in dict.fromkeys(r.arm for r in rates):
        shown = [r for r in rates if r.arm == arm]
        # Plotly reads tags in labels; escaped, a pattern's name is shown as it is.
        fig.add_bar(
            name=arm, x=[html.escape(r.planted) for r in shown], y=[r.strict.rate for r in shown],
            error_y={"type": "data", "array": [r.strict.high - (r.strict.rate or 0) for r in shown],
                     "arrayminus": [(r.strict.rate or 0) - r.strict.low for r in shown]},
            customdata=[[r.strict.k, r.strict.n] for r in shown],
            hovertemplate="%{y:.0%} (%{customdata[0]}/%{customdata[1]})",
        )  # fmt: skip
    fig.update_layout(
        barmode="group", yaxis={"title": "share of sampled answers", "tickformat": ".0%", "range": [0, 1]},
        legend_title_text="arm",
    )  # fmt: skip
    return themed(fig)
