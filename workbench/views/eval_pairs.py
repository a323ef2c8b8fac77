"""Two runs of one suite compared case by case: the paired differences, their chart, the cases that differ most.

    comparison = report.compare_runs(project, run_a, run_b)   # the mean difference with its paired interval
    rows = case_differences(comparison)                       # per shared case: A, B, A - B; biggest first
    fig = differences_figure(comparison)                      # each case's A - B, the mean and its interval

The mean and its interval are `report.compare_runs`'s (a bootstrap over the cases both runs
scored, `stats.paired_difference`); this module only lays the per-case numbers out. A case's score
is the mean of its ok plays (`RunSummary.case_scores`), so a case only one run scored is left out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go

from workbench.evals.report import Comparison
from workbench.views.style import SERIES, themed

HOVER = "A %{customdata[0]:.3g} − B %{customdata[1]:.3g} = %{y:+.3g}<extra></extra>"


@dataclass(frozen=True)
class CaseDifference:
    """One case both runs scored: each run's score and A - B."""

    case_id: str
    a: float
    b: float
    difference: float


def case_differences(comparison: Comparison) -> list[CaseDifference]:
    """The cases both runs scored, the largest difference (either way) first; ties by case id."""
    a, b = comparison.a.case_scores, comparison.b.case_scores
    rows = [CaseDifference(case, a[case], b[case], a[case] - b[case]) for case in sorted(set(a) & set(b))]
    return sorted(rows, key=lambda r: -abs(r.difference))


def differences_figure(comparison: Comparison) -> go.Figure:
    """A - B per shared case (sorted), with the mean difference and its 95% paired interval as a band."""
    rows = sorted(case_differences(comparison), key=lambda r: r.difference)
    figure = go.Figure()
    # Plotly reads tags in labels; escaped, a case id is shown as it is.
    figure.add_bar(x=[html.escape(r.case_id) for r in rows], y=[r.difference for r in rows], name="A − B",
                   marker_color=[SERIES[0] if r.difference >= 0 else SERIES[1] for r in rows],
                   customdata=[[r.a, r.b] for r in rows],
                   hovertemplate=HOVER)  # fmt: skip
    figure.update_layout(xaxis_title="case (cases both runs scored)", yaxis_title="A − B", showlegend=False,
                         xaxis={"type": "category"}, height=340, shapes=_mean_shapes(comparison))  # fmt: skip
    return themed(figure)


def _mean_shapes(comparison: Comparison) -> list[dict[str, object]]:
    """The mean difference as a dashed line across the chart and its interval as a band (layout shapes: Plotly's
    add_hline / add_hrect cost ten times as much, on every rerun of the page)."""
    d, across = comparison.difference, {"xref": "paper", "x0": 0, "x1": 1}
    shapes: list[dict[str, object]] = []
    if d.low is not None and d.high is not None:
        shapes.append({"type": "rect", **across, "y0": d.low, "y1": d.high, "fillcolor": SERIES[2], "opacity": 0.15,
                       "line": {"width": 0}})  # fmt: skip
    if d.mean is not None:
        shapes.append({"type": "line", **across, "y0": d.mean, "y1": d.mean, "line": {"dash": "dash"},
                       "label": {"text": f"mean {d.mean:+.3g}", "textposition": "end"}})  # fmt: skip
    return shapes
