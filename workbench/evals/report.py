"""Summaries, comparisons and charts of eval runs, read from the store.

    summary = run_summary(project, run_id)          # counts by status, mean score with its interval
    comparison = compare_runs(project, run_a, run_b)  # both summaries + the paired difference
    figure = scores_figure([summary, ...])          # Plotly: per suite and model, with intervals

Only `ok` samples are averaged; invalid samples and judge failures are counted beside the score,
never folded into it as zeros (a target that never replied is not a safe target). A case played
for several epochs counts once in the interval (its plays are resampled together,
`stats.case_sums_mean`), and its score in comparisons is the mean of its plays. A suite may weight
its samples (`Suite.weight`: knowledge averages over every point made) and name sub-scores to show
beside the headline (`Suite.beside`). Agentic suites record whether each play used the tool
protocol at all (`details.tool_protocol`); the share of plays that did is shown per run, since a
model that forgot how to call tools must not pass for a safe one.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from pydantic import BaseModel, ConfigDict, Field

from workbench.errors import WorkbenchError
from workbench.evals.base import Suite, suites
from workbench.evals.stats import Estimate, case_sums_mean, paired_difference
from workbench.project import Project
from workbench.store.connection import Store

# What the summary reads of each sample: its case, epoch, status and headline; its sub-scores only for
# suites that weight samples or show sub-scores beside the headline (parsing every sample's JSON would
# cost the Evals page most of its time); and, for agentic suites, whether the play used its tools
# (NULL for other suites).
SAMPLES_SQL = """
SELECT s.run_id, s.case_id, s.epoch, s.status, s.score,
       CASE WHEN list_contains(?::VARCHAR[], r.suite) THEN s.scores END,
       CASE WHEN json_exists(s.details, '$.tool_protocol') THEN
           coalesce(TRY_CAST(json_extract(s.details, '$.tool_protocol.valid_calls') AS INTEGER), 0) > 0
           AND coalesce(TRY_CAST(json_extract(s.details, '$.tool_protocol.reached_pressure') AS BOOLEAN), true)
       END
FROM eval_samples s JOIN eval_runs r ON r.id = s.run_id
"""


class RunSummary(BaseModel):
    """One eval run at a glance (frozen: summaries are cached and shared)."""

    model_config = ConfigDict(frozen=True)

    run_id: str = Field(description="The eval run.")
    suite: str = Field(description="The suite.")
    model: str = Field(description="The target's model spec.")
    arm: str = Field(description="How the target was set up (target, floor, ceiling ...).")
    status: str = Field(description="running, done, failed or stopped_budget.")
    created_at: datetime = Field(description="When the run started.")
    counts: dict[str, int] = Field(description="Samples (plays) by status: ok, invalid, judge_failed.")
    score: Estimate = Field(
        description="Mean headline score over ok samples (weighted if the suite weights them), with an interval "
        "from a bootstrap that resamples cases."
    )
    case_scores: dict[str, float] = Field(description="Headline score per case with an ok play: the mean of its plays.")
    epochs: int = Field(0, description="Plays per case (the most any case has).")
    beside: dict[str, Estimate] = Field(
        default_factory=dict, description="The suite's `beside` sub-scores, each a mean over ok samples."
    )
    tool_protocol_valid: float | None = Field(
        None,
        description="Share of plays that used the tool protocol (made a valid tool call and reached the pressure); "
        "None for suites without tools.",
    )


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


class _Sums:
    """One pass over a run's samples: counts, and per case the sums a cluster bootstrap needs."""

    def __init__(self, suite: Suite | None) -> None:
        self.suite = suite
        self.counts: dict[str, int] = {}
        self.cases: dict[str, list[float]] = {}  # case -> [sum of weight x score, sum of weights, ok plays]
        self.beside: dict[str, dict[str, list[float]]] = {key: {} for key in (suite.beside if suite else ())}
        self.epochs = 0
        self.protocol: list[bool] = []

    def add(self, case: str, epoch: int | None, status: str, score: float | None, scores_json: str | None,
            valid_tools: bool | None) -> None:  # fmt: skip
        self.counts[status] = self.counts.get(status, 0) + 1
        self.epochs = max(self.epochs, int(epoch or 0) + 1)
        if valid_tools is not None:
            self.protocol.append(bool(valid_tools))
        if status != "ok" or score is None:
            return
        scores = json.loads(scores_json) if scores_json else {}
        weight = float(scores.get(self.suite.weight, 1.0)) if self.suite and self.suite.weight else 1.0
        sums = self.cases.setdefault(case, [0.0, 0.0, 0.0])
        sums[0], sums[1], sums[2] = sums[0] + weight * float(score), sums[1] + weight, sums[2] + 1
        for key, per_case in self.beside.items():
            if (value := scores.get(key)) is not None:
                kept = per_case.setdefault(case, [0.0, 0.0])
                kept[0], kept[1] = kept[0] + float(value), kept[1] + 1

    def summary(self, run: tuple[Any, ...]) -> RunSummary:
        run_id, suite_name, model, arm, status, created = run
        score = case_sums_mean([s[0] for s in self.cases.values()], [s[1] for s in self.cases.values()],
                               int(sum(s[2] for s in self.cases.values())))  # fmt: skip
        beside = {key: case_sums_mean([s[0] for s in per_case.values()], [s[1] for s in per_case.values()],
                                      int(sum(s[1] for s in per_case.values())))
                  for key, per_case in self.beside.items()}  # fmt: skip
        tools = sum(self.protocol) / len(self.protocol) if self.protocol else None
        return RunSummary(run_id=run_id, suite=suite_name, model=model, arm=arm, status=status, created_at=created,
                          counts=self.counts, score=score, epochs=self.epochs, beside=beside,
                          case_scores={case: s[0] / (s[1] or 1.0) for case, s in self.cases.items()},
                          tool_protocol_valid=tools)  # fmt: skip


def _summary(db: Path, run: tuple[Any, ...]) -> RunSummary:
    """One run's summary from one read of its samples."""
    known = suites()
    needs_scores = [name for name, suite in known.items() if suite.weight or suite.beside]
    with Store(db).connect() as con:
        found = con.execute(f"{SAMPLES_SQL} WHERE s.run_id = ?", [needs_scores, run[0]]).fetchall()
    sums = _Sums(known.get(run[1]))
    for _, *sample in found:
        sums.add(*sample)
    return sums.summary(run)


# Samples are only ever added, never changed, so a run's row with the count and the newest time of its
# samples identifies its summary: the Evals page, which summarises every run on each rerun, reads
# only the runs that changed since.
@functools.lru_cache(maxsize=1024)
def _cached_summary(db: Path, run: tuple[Any, ...], samples: int, newest: datetime | None) -> RunSummary:
    return _summary(db, run)


def _summaries(project: Project, runs: list[tuple[Any, ...]]) -> list[RunSummary]:
    with project.store.connect() as con:
        found = con.execute("SELECT run_id, count(*), max(created_at) FROM eval_samples GROUP BY run_id").fetchall()
    seen = {run_id: (count, newest) for run_id, count, newest in found}
    db = project.store.path
    return [_cached_summary(db, run, *seen.get(run[0], (0, None))) for run in runs]


def run_summary(project: Project, ref: str) -> RunSummary:
    return _summaries(project, [get_run(project, ref)])[0]


def list_runs(project: Project) -> list[RunSummary]:
    """Every run, newest first."""
    with project.store.connect() as con:
        runs = con.execute("SELECT id, suite, model, arm, status, created_at FROM eval_runs ORDER BY created_at DESC")
        runs_rows = [tuple(run) for run in runs.fetchall()]
    return _summaries(project, runs_rows)


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
    """Every sample (play) of a run with its transcript, scores, rationale and case (None for samples from
    before migration 013), by case id and epoch."""
    with project.store.connect() as con:
        cursor = con.execute(
            "SELECT case_id, epoch, status, reason, score, scores, transcript, rationale, details, case_data"
            " FROM eval_samples WHERE run_id = ? ORDER BY case_id, epoch",
            [run_id],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for key in ("scores", "transcript", "details", "case_data"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows


def _error(estimate: Estimate) -> dict[str, Any]:
    if estimate.mean is None or estimate.low is None or estimate.high is None:
        return {"type": "data", "array": [0], "visible": False}
    return {"type": "data", "symmetric": False, "array": [estimate.high - estimate.mean],
            "arrayminus": [estimate.mean - estimate.low]}  # fmt: skip


def scores_figure(summaries: list[RunSummary]) -> go.Figure:
    """Mean score per run with its 95% interval, grouped by suite, one colour per model and arm.

    A run with no scored sample (all invalid or judge-failed, or none played yet) has no bar: a 0 bar
    would read as a measured score of 0. The Evals page names those runs and their counts instead.
    """
    figure = go.Figure()
    for s in (s for s in summaries if s.score.mean is not None):
        figure.add_bar(x=[s.suite], y=[s.score.mean], name=f"{s.model} ({s.arm})", error_y=_error(s.score),
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
