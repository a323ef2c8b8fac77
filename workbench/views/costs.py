"""What the model calls have cost, per model and per day and stage: the Costs page and the Overview read these.

    models = spend_by_model(project)       # one row per model spec, most expensive first
    days = spend_by_day(project)           # one row per (day, stage), oldest day first
    if priced(days):                       # rows that cost something; $0 is never drawn
        st.plotly_chart(daily_figure(days))  # stacked bars: USD per day (day ticks), one colour per stage

Spend per stage is `workbench.status.stage_spend(store)` (also in `project_status(...).spend`).
Every figure is aggregated in SQL over the `llm_calls` ledger (one row per request sent) and read
again only once calls have been added (`workbench.store.ledger_reads.ledger_rows`), so the pages stay fast on
a large ledger. A call with token counts but no price (its model is missing from `[prices]`) adds
no USD and is counted as `unpriced`, so a total never looks complete when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import plotly.graph_objects as go

from workbench.project import Project
from workbench.store.ledger_reads import ledger_rows
from workbench.views.style import themed

DAY_MS = 86_400_000  # Plotly measures date axes and bar widths in milliseconds

# The columns every spend row shares, in the order of the dataclasses' fields after their keys.
_TOTALS = """count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0),
             count(*) FILTER (WHERE cost_usd IS NULL AND tokens_in IS NOT NULL)"""


@dataclass(frozen=True)
class ModelSpend:
    """Requests sent to one model spec, with tokens and cost.

    Attributes:
        model: The model spec as the ledger records it.
        requests: Requests sent (retries and repair turns included).
        tokens_in: Input tokens.
        tokens_out: Output tokens.
        cost_usd: Cost of the priced requests.
        unpriced: Requests with token counts but no price.
        failed: Requests that ended in neither `ok` nor `retried`.
    """

    model: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    unpriced: int
    failed: int


@dataclass(frozen=True)
class DaySpend:
    """Requests of one stage on one day (the ledger's local dates).

    Attributes:
        day: The day.
        stage: The stage (`sft.scenario`, `eval.audit`, ...).
        requests: Requests sent.
        tokens_in: Input tokens.
        tokens_out: Output tokens.
        cost_usd: Cost of the priced requests.
        unpriced: Requests with token counts but no price.
    """

    day: date
    stage: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    unpriced: int


def spend_by_model(project: Project) -> list[ModelSpend]:
    """Spend per model spec, most expensive first (then by requests)."""
    rows = ledger_rows(
        project.store,
        f"SELECT model, {_TOTALS}, count(*) FILTER (WHERE status NOT IN ('ok', 'retried'))"
        " FROM llm_calls GROUP BY model ORDER BY 5 DESC, 2 DESC, model",
    )
    return [ModelSpend(*row) for row in rows]


def spend_by_day(project: Project) -> list[DaySpend]:
    """Spend per day and stage, oldest day first."""
    rows = ledger_rows(
        project.store,
        f"SELECT CAST(created_at AS DATE) AS day, stage, {_TOTALS} FROM llm_calls GROUP BY day, stage"
        " ORDER BY day, stage",
    )
    return [DaySpend(*row) for row in rows]


def priced(days: list[DaySpend]) -> list[DaySpend]:
    """The rows that cost something: a day and stage at $0 (nothing sent, or only unpriced calls) is not drawn."""
    return [d for d in days if d.cost_usd > 0]


def daily_figure(days: list[DaySpend]) -> go.Figure:
    """USD per day as bars stacked by stage, on a date axis ticked by day; $0 rows are left out.

    Unpriced requests are in each bar's hover text. The axis spans whole days around the data, so a
    ledger whose calls all fell within seconds still reads as one day rather than milliseconds.
    """
    shown = priced(days)
    figure = go.Figure()
    for stage in sorted({d.stage for d in shown}):
        rows = [d for d in shown if d.stage == stage]
        figure.add_bar(
            x=[d.day for d in rows], y=[d.cost_usd for d in rows], name=stage, width=0.8 * DAY_MS,
            hovertext=[f"{d.requests} requests, {d.tokens_in} in / {d.tokens_out} out, {d.unpriced} unpriced"
                       for d in rows],
        )  # fmt: skip
    figure.update_layout(barmode="stack", yaxis_title="USD", legend_title="stage")
    figure.update_xaxes(type="date", dtick=DAY_MS, tickformat="%Y-%m-%d", title="day")
    if shown:  # half a day either side of the first and last bars, so a single day is a day wide, not a blip
        first, last = min(d.day for d in shown), max(d.day for d in shown)
        figure.update_xaxes(range=[_at_hour(first, -12), _at_hour(last, 12)])
    return themed(figure)


def _at_hour(day: date, hours: int) -> datetime:
    """`hours` from the start of `day`; a date axis range needs times to reach past the day's bar."""
    return datetime.combine(day, time()) + timedelta(hours=hours)
