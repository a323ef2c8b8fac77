"""The Costs page and its read models: spend per stage, model and day, computed from a planted ledger."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from tests.apptest import open_page
from workbench.project import Project
from workbench.runs import start_run
from workbench.status import stage_spend
from workbench.views.costs import DAY_MS, daily_figure, spend_by_day, spend_by_model
from workbench.views.overview import latest_runs

# (day, stage, model, status, tokens in, tokens out, cost): cost None with tokens is an unpriced call.
CALLS: list[tuple[str, str, str, str, int | None, int | None, float | None]] = [
    ("2026-03-01", "sft.scenario", "gemini:flash", "ok", 100, 50, 0.25),
    ("2026-03-01", "sft.scenario", "gemini:flash", "retried", 10, 0, 0.5),
    ("2026-03-01", "sft.critique", "gemini:pro", "ok", 200, 100, 1.0),
    ("2026-03-02", "sft.critique", "gemini:pro", "error", None, None, None),
    ("2026-03-02", "eval.audit", "openai:local@http://127.0.0.1:9/v1", "ok", 300, 30, None),
    ("2026-03-03", "sft.scenario", "gemini:flash", "ok", 40, 20, 2.0),
]


def plant_calls(project: Project, calls: list[tuple[Any, ...]] = CALLS) -> None:
    """Ledger rows as the gateway writes them (one per request sent), at noon of each row's day."""
    with project.store.transaction() as con:
        for i, (day, stage, model, status, tokens_in, tokens_out, cost) in enumerate(calls):
            con.execute(
                "INSERT INTO llm_calls (id, created_at, stage, model, cache_key, attempt, purpose, status, tokens_in,"
                " tokens_out, cost_usd) VALUES (?, CAST(? AS TIMESTAMP) + INTERVAL 12 HOUR, ?, ?, ?, 1, 'call', ?, ?,"
                " ?, ?)",
                [f"call-{i}", day, stage, model, f"key-{i}", status, tokens_in, tokens_out, cost],
            )


def test_spend_by_model_sums_the_ledger_per_model(project: Project) -> None:
    plant_calls(project)
    by_model = {m.model: m for m in spend_by_model(project)}
    assert list(by_model) == ["gemini:flash", "gemini:pro", "openai:local@http://127.0.0.1:9/v1"]  # by cost
    flash, pro, local = by_model.values()
    assert (flash.requests, flash.tokens_in, flash.tokens_out, flash.cost_usd) == (3, 150, 70, 2.75)
    assert (flash.unpriced, flash.failed) == (0, 0)  # a retried attempt is not a failure
    assert (pro.requests, pro.cost_usd, pro.failed, pro.unpriced) == (2, 1.0, 1, 0)  # no tokens: not "unpriced"
    assert (local.cost_usd, local.unpriced) == (0.0, 1)


def test_spend_by_day_groups_by_day_and_stage(project: Project) -> None:
    plant_calls(project)
    days = {(d.day, d.stage): d for d in spend_by_day(project)}
    assert list(days) == [
        (date(2026, 3, 1), "sft.critique"),
        (date(2026, 3, 1), "sft.scenario"),
        (date(2026, 3, 2), "eval.audit"),
        (date(2026, 3, 2), "sft.critique"),
        (date(2026, 3, 3), "sft.scenario"),
    ]
    first = days[date(2026, 3, 1), "sft.scenario"]
    assert (first.requests, first.tokens_in, first.cost_usd) == (2, 110, 0.75)
    assert days[date(2026, 3, 2), "eval.audit"].unpriced == 1
    figure = daily_figure(list(days.values()))
    assert figure.layout.barmode == "stack"
    scenario = next(t for t in figure.data if t.name == "sft.scenario")
    assert list(scenario.y) == [0.75, 2.0]


def test_daily_figure_draws_days_on_a_day_axis_and_nothing_at_zero(project: Project) -> None:
    plant_calls(project)
    figure = daily_figure(spend_by_day(project))
    # eval.audit's only day is unpriced and sft.critique's 2 March call failed: $0, so no bar for them.
    bars = {(t.name, day): y for t in figure.data for day, y in zip(t.x, t.y, strict=True)}
    assert bars == {("sft.critique", date(2026, 3, 1)): 1.0, ("sft.scenario", date(2026, 3, 1)): 0.75,
                    ("sft.scenario", date(2026, 3, 3)): 2.0}  # fmt: skip
    axis = figure.layout.xaxis
    assert (axis.type, axis.dtick, axis.tickformat) == ("date", DAY_MS, "%Y-%m-%d")
    assert list(axis.range) == [datetime(2026, 2, 28, 12), datetime(2026, 3, 3, 12)]


def test_calls_within_seconds_of_one_day_chart_as_that_day(project: Project) -> None:
    plant_calls(project, [("2026-03-05", "sft.scenario", "gemini:flash", "ok", 10, 5, 0.01)] * 3)
    axis = daily_figure(spend_by_day(project)).layout.xaxis
    assert (axis.type, axis.dtick) == ("date", DAY_MS)  # ticks a day apart, not milliseconds
    assert list(axis.range) == [datetime(2026, 3, 4, 12), datetime(2026, 3, 5, 12)]  # one day wide


def test_costs_page_with_only_unpriced_calls_says_so_instead_of_charting_zero(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_calls(project, [("2026-03-05", "eval.audit", "openai:local@http://127.0.0.1:9/v1", "ok", 300, 30, None)])
    at = open_page("costs", project, monkeypatch)
    assert not at.exception
    assert not at.get("plotly_chart")
    assert any("No priced spend to chart" in i.value for i in at.info)
    assert any("1 requests have token counts but no price" in w.value for w in at.warning)


def test_costs_page_shows_totals_tables_and_a_stacked_chart(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_calls(project)
    at = open_page("costs", project, monkeypatch)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Spend (USD)"] == "3.7500"
    assert metrics["Requests"] == "6"
    assert metrics["Unpriced requests"] == "1"
    assert any("1 requests have token counts but no price" in w.value for w in at.warning)
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert {t["name"] for t in spec["data"]} == {"sft.scenario", "sft.critique"}  # eval.audit spent $0: no bar
    assert spec["layout"]["barmode"] == "stack"
    tables = [d.value for d in at.dataframe]
    per_stage = next(t for t in tables if "stage" in t.columns and "day" not in t.columns)
    assert per_stage.set_index("stage").loc["sft.critique", "cost_usd"] == 1.0
    per_model = next(t for t in tables if "model" in t.columns)
    assert per_model.set_index("model").loc["gemini:flash", "cost_usd"] == 2.75


def test_costs_page_without_calls_says_what_to_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("costs", project, monkeypatch)
    assert not at.exception
    assert at.info and [c.value for c in at.code] == ["workbench llm ask Hello --role generator"]


def test_spend_read_again_shows_calls_added_since_even_older_ones(project: Project) -> None:
    plant_calls(project)
    run_id = start_run(project.store, "sft")
    assert stage_spend(project.store) and spend_by_model(project) and spend_by_day(project)  # read once
    assert latest_runs(project)[0].cost_usd == 0.0
    # A call replayed from a dead process's log is stamped earlier than the newest row already stored.
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO llm_calls (id, created_at, run_id, stage, model, cache_key, attempt, purpose, status,"
            " tokens_in, tokens_out, cost_usd) VALUES ('late', TIMESTAMP '2026-03-01 13:00', ?, 'sft.scenario',"
            " 'gemini:flash', 'late', 1, 'call', 'ok', 1, 1, 4.0)",
            [run_id],
        )
    assert {s.stage: s.requests for s in stage_spend(project.store)}["sft.scenario"] == 4
    assert {m.model: m.cost_usd for m in spend_by_model(project)}["gemini:flash"] == 6.75
    assert {(d.day, d.stage): d.requests for d in spend_by_day(project)}[date(2026, 3, 1), "sft.scenario"] == 3
    assert latest_runs(project)[0].cost_usd == 4.0
