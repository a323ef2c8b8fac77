"""Summaries, comparisons and charts of eval runs, read from the store.

    summary = run_summary(project, run_id)          # counts by status, mean score with its interval
    comparison = compare_runs(project, run_a, run_b)  # both summaries + the paired difference
    figure = scores_figure([summary, ...])          # Plotly: per suite and model, with intervals

Only `ok` samples are averaged; invalid samples and judge failures are counted beside the score,
never folded into it as zeros (a target that never replied is not a safe target).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError
from workbench.evals.stats import Estimate, bootstrap_mean, paired_difference
from workbench.project import Project


class RunSummary(BaseModel):
    """One eval run at a glance."""

    run_id: str = Field(description="The eval run.")
    suite: str = Field(description="The suite.")
    model: str = Field(description="The target's model spec.")
    arm: str = Field(description="How the target was set up (target, floor, ceiling ...).")
    status: str = Field(description="running, done, failed or stopped_budget.")
    created_at: datetime = Field(description="When the run started.")
    counts: dict[str, int] = Field(description="Samples by status: ok, invalid, judge_failed.")
    score: Estimate = Field(description="Mean headline score over ok samples, with a bootstrap interval.")
    case_scores: dict[str, float] = Field(description="Headline score per ok case.")


class Comparison(BaseModel):
    """Two runs of one suite on the same cases."""

    a: RunSummary = Field(description="The first run.")
    b: RunSummary = Field(description="The second run.")
    difference: Estimate = Field(description="Mean of A - B per case, over cases both scored.")


def get_run(project: Project, ref: str) -> tuple[Any, ...]:
    """An eval run's row by id or id prefix.

    Raises:
        WorkbenchError: nothing matches.
    """
    with project.store.connect() as con:
        row = con.execute(
            "SELECT id, suite, model, arm, status, created_at FROM eval_runs WHERE starts_with(id, ?)"
            " ORDER BY created_at DESC LIMIT 1",
            [ref],
        ).fetchone()
    if row is None:
        raise WorkbenchError(f"No eval run {ref!r}.", hint="List them with `workbench eval list`.")
    return tuple(row)


def _summary(run: tuple[Any, ...], samples: list[tuple[str, str, float | None]]) -> RunSummary:
    run_id, suite, model, arm, status, created = run
    counts: dict[str, int] = {}
    for _, sample_status, _ in samples:
        counts[sample_status] = counts.get(sample_status, 0) + 1
    scores = {
        case: float(score) for case, sample_status, score in samples if sample_status == "ok" and score is not None
    }
    return RunSummary(run_id=run_id, suite=suite, model=model, arm=arm, status=status, created_at=created,
                      counts=counts, score=bootstrap_mean(list(scores.values())), case_scores=scores)  # fmt: skip


def run_summary(project: Project, ref: str) -> RunSummary:
    run = get_run(project, ref)
    with project.store.connect() as con:
        samples = con.execute("SELECT case_id, status, score FROM eval_samples WHERE run_id = ?", [run[0]]).fetchall()
    return _summary(run, samples)


def list_runs(project: Project) -> list[RunSummary]:
    """Every run, newest first, read in one query."""
    with project.store.connect() as con:
        runs = con.execute("SELECT id, suite, model, arm, status, created_at FROM eval_runs ORDER BY created_at DESC")
        runs_rows = runs.fetchall()
        found = con.execute("SELECT run_id, case_id, status, score FROM eval_samples").fetchall()
    by_run: dict[str, list[tuple[str, str, float | None]]] = {}
    for run_id, case, status, score in found:
        by_run.setdefault(run_id, []).append((case, status, score))
    return [_summary(tuple(run), by_run.get(run[0], [])) for run in runs_rows]


def compare_runs(project: Project, ref_a: str, ref_b: str) -> Comparison:
    """The paired comparison of two runs of the same suite.

    Raises:
        WorkbenchError: the runs are of different suites.
    """
    a, b = run_summary(project, ref_a), run_summary(project, ref_b)
    if a.suite != b.suite:
        raise WorkbenchError(f"Run {a.run_id} is {a.suite} and run {b.run_id} is {b.suite}: compare runs of one suite.")
    return Comparison(a=a, b=b, difference=paired_difference(a.case_scores, b.case_scores))


def samples(project: Project, run_id: str) -> list[dict[str, Any]]:
    """Every sample of a run with its transcript, scores and rationale, by case id."""
    with project.store.connect() as con:
        cursor = con.execute(
            "SELECT case_id, status, reason, score, scores, transcript, rationale, details FROM eval_samples"
            " WHERE run_id = ? ORDER BY case_id",
            [run_id],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for key in ("scores", "transcript", "details"):
            row[key] = json.loads(row[key])
    return rows


def _error(estimate: Estimate) -> dict[str, Any]:
    if estimate.mean is None or estimate.low is None or estimate.high is None:
        return {"type": "data", "array": [0], "visible": False}
    return {"type": "data", "symmetric": False, "array": [estimate.high - estimate.mean],
            "arrayminus": [estimate.mean - estimate.low]}  # fmt: skip


def scores_figure(summaries: list[RunSummary]) -> go.Figure:
    """Mean score per run with its 95% interval, grouped by suite, one colour per model and arm."""
    figure = go.Figure()
    for s in summaries:
        figure.add_bar(x=[s.suite], y=[s.score.mean or 0.0], name=f"{s.model} ({s.arm})", error_y=_error(s.score),
                       hovertext=[f"n = {s.score.n}; {s.counts}"])  # fmt: skip
    figure.update_layout(barmode="group", yaxis_title="mean score (95% bootstrap CI)", legend_title="model")
    return figure


def comparison_figure(comparison: Comparison) -> go.Figure:
    """Per-case scores of run A against run B; points off the diagonal are where they differ."""
    shared = sorted(set(comparison.a.case_scores) & set(comparison.b.case_scores))
    figure = go.Figure()
    figure.add_scatter(x=[comparison.b.case_scores[c] for c in shared], y=[comparison.a.case_scores[c] for c in shared],
                       mode="markers", text=shared, name="cases")  # fmt: skip
    low = min([0.0, *comparison.a.case_scores.values(), *comparison.b.case_scores.values()])
    high = max([1.0, *comparison.a.case_scores.values(), *comparison.b.case_scores.values()])
    figure.add_scatter(x=[low, high], y=[low, high], mode="lines", name="A = B", line={"dash": "dot"})
    d = comparison.difference
    figure.update_layout(
        title=f"{comparison.a.suite}: A - B = {d.mean if d.mean is not None else float('nan'):.3g} over {d.n} cases",
        xaxis_title=f"B: {comparison.b.model} ({comparison.b.arm})",
        yaxis_title=f"A: {comparison.a.model} ({comparison.a.arm})",
    )
    return figure
