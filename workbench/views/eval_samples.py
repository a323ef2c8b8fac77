"""One eval run's samples as the Evals page lists them: paged and filtered in SQL, without transcripts.

    f = SampleFilter(statuses=("ok",), score_min=0.5, score_max=None)
    total = count_samples(project, run_id, f)                       # how many match, for the pager
    rows = sample_page(project, run_id, f, offset=0, limit=PAGE)    # 25 rows: case, epoch, status, scores
    line = unscored_line(project, summary)                          # "all 200 samples are invalid: ..." or None
    judges = judge_rows(view.scores)                                # a panel's judges, each score or failure
    figure = case_scores_figure(summary, (0, 10))                   # the spread of its case scores (themed)

A run holds hundreds of samples with long transcripts: the list reads only what a row shows (the
judges' scores are pulled out of the sample's JSON by DuckDB), one page at a time. A run with no
scored sample gets a sentence instead of a chart (`unscored_line`): all invalid is not a score of 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from workbench.evals.report import RunSummary
from workbench.project import Project
from workbench.views.style import status_hex, themed

PAGE = 25
_COLUMNS = """case_id, epoch, status, score,
    CAST(json_extract(scores, '$.judges') AS VARCHAR), CAST(json_extract(scores, '$.judge_failures') AS VARCHAR),
    reason"""


@dataclass(frozen=True)
class SampleFilter:
    """Which samples of a run the list shows.

    Attributes:
        statuses: Only these statuses (empty: every status).
        score_min: Only scored samples with a headline score at least this (None: no bound).
        score_max: Only scored samples with a headline score at most this (None: no bound).
    """

    statuses: tuple[str, ...] = ()
    score_min: float | None = None
    score_max: float | None = None


@dataclass(frozen=True)
class SampleRow:
    """One sample (a play of a case) as the list shows it."""

    case_id: str
    epoch: int
    status: str
    score: float | None
    judges: str
    reason: str | None


@dataclass(frozen=True)
class JudgeRow:
    """One judge of a sample's panel: its score, or why it gave none."""

    judge: str
    score: float | None
    failure: str | None = field(default=None)


def _where(run_id: str, f: SampleFilter) -> tuple[str, list[Any]]:
    """The WHERE clause selecting `f`'s samples of a run, and its parameters."""
    clauses, params = ["run_id = ?"], list[Any]([run_id])
    if f.statuses:
        clauses.append("list_contains(?::VARCHAR[], status)")
        params.append(list(f.statuses))
    if f.score_min is not None:
        clauses.append("score >= ?")
        params.append(f.score_min)
    if f.score_max is not None:
        clauses.append("score <= ?")
        params.append(f.score_max)
    return " AND ".join(clauses), params


def count_samples(project: Project, run_id: str, f: SampleFilter) -> int:
    """How many of a run's samples `f` lets through."""
    where, params = _where(run_id, f)
    with project.store.connect() as con:
        row = con.execute(f"SELECT count(*) FROM eval_samples WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def sample_page(project: Project, run_id: str, f: SampleFilter, *, offset: int, limit: int = PAGE) -> list[SampleRow]:
    """One page of a run's samples that `f` lets through, by case id and epoch."""
    where, params = _where(run_id, f)
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM eval_samples WHERE {where} ORDER BY case_id, epoch LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return [
        SampleRow(case, int(epoch or 0), status, score, _judges_text(judges, failures), reason)
        for case, epoch, status, score, judges, failures, reason in rows
    ]


def _judges_text(judges: str | None, failures: str | None) -> str:
    """A panel's scores on one line, in the judges' order ("2 · 3 · failed"; the drill-down names the judges);
    empty for a sample with no panel."""
    rows = judge_rows({"judges": json.loads(judges or "null"), "judge_failures": json.loads(failures or "null")})
    return " · ".join("failed" if r.score is None else f"{r.score:g}" for r in rows)


def judge_rows(scores: dict[str, Any]) -> list[JudgeRow]:
    """The judges of a sample's panel (`scores["judges"]`, `scores["judge_failures"]`), in the order recorded."""
    judges, failures = (found if isinstance(found := scores.get(key), dict) else {}
                        for key in ("judges", "judge_failures"))  # fmt: skip
    rows = [JudgeRow(str(j), float(s) if isinstance(s, int | float) else None) for j, s in judges.items()]
    return rows + [JudgeRow(str(j), None, str(why)) for j, why in failures.items() if j not in judges]


def unscored_line(project: Project, summary: RunSummary) -> str | None:
    """Why a run has no score ("all 200 samples are invalid: most common reason ..."); None if it has one.

    The most common reason is counted over the run's unscored samples in SQL.
    """
    if summary.score.mean is not None:
        return None
    total = sum(summary.counts.values())
    if not total:
        return "no samples yet"
    with project.store.connect() as con:
        found = con.execute(
            "SELECT reason, count(*) AS n FROM eval_samples WHERE run_id = ? AND status <> 'ok'"
            " GROUP BY reason ORDER BY n DESC, reason LIMIT 1",
            [summary.run_id],
        ).fetchone()
    statuses = [status for status, n in summary.counts.items() if n]
    if statuses == ["invalid"]:
        head = f"all {total} samples are invalid" if total > 1 else "its only sample is invalid"
    else:
        parts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(summary.counts.items()) if n)
        head = f"none of {total} samples was scored ({parts})"
    if found is None:
        return head
    reason, n = found
    return f"{head}: most common reason {reason or 'none recorded'} ({n} of {total})"


def case_scores_figure(summary: RunSummary, score_range: tuple[float, float] | None = None) -> go.Figure:
    """How a run's case scores (the mean of each case's ok plays) are spread over the suite's `score_range`;
    a compact chart (it sits beside the list's filters), only for a run with a score."""
    figure = go.Figure()
    figure.add_histogram(x=list(summary.case_scores.values()), marker_color=status_hex("ok"), name="cases")
    figure.update_layout(xaxis_title="case score (mean of its ok plays)", yaxis_title="cases", showlegend=False,
                         bargap=0.05, height=240, xaxis_range=list(score_range) if score_range else None)  # fmt: skip
    return themed(figure)
