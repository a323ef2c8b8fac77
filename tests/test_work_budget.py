"""The budget cap holds for a piece of work (a stage over one traits version) across all its runs.

Every role is on the fake Gemini server with a price (tests/sft_setup.py), so calls cost money;
one scenario per batch makes the cap bite after the first request of a run.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.sft_setup import DOC, rows
from workbench.budget import budget_line, worst_case_overshoot_usd
from workbench.cli import app
from workbench.config import ConcurrencyConfig, Price
from workbench.generate.pipeline import SFTReport, run_sft
from workbench.project import Project, load_project
from workbench.runs import WorkBudget, start_run, work_budget, work_budgets
from workbench.store.traits import add_traits_file, get_version


@pytest.fixture
def capped(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The SFT project sending one request per batch, scenarios auto-approved."""
    monkeypatch.setenv("WORKBENCH_SFT__BATCH_SIZE", "1")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    return load_project(sft_project.root)


def _run(project: Project, **options: Any) -> SFTReport:
    return asyncio.run(run_sft(load_project(project.root), "test", **options))


def test_a_restart_of_work_stopped_at_its_cap_sends_nothing_and_another_version_has_its_own_cap(
    capped: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.000001")
    first = _run(capped, steps=["scenarios"])
    assert first.stopped_budget
    sent = len(fake_gemini.requests)

    again = _run(capped, steps=["scenarios"])

    assert again.stopped_budget and len(fake_gemini.requests) == sent, "a restart gets no fresh budget"
    assert rows(capped, "SELECT status FROM runs WHERE id = ?", again.run_id) == [("stopped_budget",)]
    doc = tmp_path / "traits-v2.md"
    doc.write_text(DOC.replace("plainly", "plainly and early"))
    add_traits_file(capped.store, doc, name="test")
    other = _run(capped, steps=["scenarios"])  # `test` is now version 2: another piece of work
    assert len(fake_gemini.requests) > sent
    assert work_budget(capped.store, other.run_id).work == f"sft:{get_version(capped.store, 'test').id}"


def test_an_explicit_budget_is_kept_by_the_next_run_of_the_same_work(capped: Project, fake_gemini: Any) -> None:
    first = _run(capped, steps=["scenarios"], budget_usd=0.000001)
    assert first.stopped_budget, "the gateway holds the run to its --budget, not the config's $25"
    sent = len(fake_gemini.requests)
    told: list[WorkBudget] = []

    second = _run(capped, on_start=told.append)  # no budget given: the config's $25 would let it run

    assert second.stopped_budget and len(fake_gemini.requests) == sent
    assert told[0].cap_usd == 0.000001 and told[0].cap_set_by == first.run_id
    (spent,) = rows(capped, "SELECT sum(cost_usd) FROM llm_calls")[0]  # all of it the first run's
    assert told[0].spent_usd == pytest.approx(spent) and told[0].runs == 2


def test_the_cli_says_the_cap_its_origin_and_the_worst_case_and_status_shows_spend_against_it(
    capped: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, [*args, "-p", str(capped.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    work = f"sft:{get_version(capped.store, 'test').id}"
    out = invoke("sft", "run", "test", "--pilot", "1", "--budget", "0.0001")
    assert f"Budget of {work}: cap $0.0001 (from --budget); $0.0000 spent so far on this work;" in out
    assert "worst-case overshoot about $" in out and "bounded by the calls in flight" in out
    (first,) = rows(capped, "SELECT id FROM runs")[0]
    sent = len(fake_gemini.requests)

    out = invoke("sft", "run", "test", "--pilot", "1")

    assert f"(from --budget inherited from run {first})" in out and len(fake_gemini.requests) == sent
    assert f"Stopped at the budget cap of {work}:" in out and "counted over all its runs" in out
    assert "higher --budget" in out
    assert "Budget cap: $0.00 per piece of work" in invoke("sft", "plan", "test"), "the plan shows the inherited cap"
    (spent,) = rows(capped, "SELECT sum(cost_usd) FROM llm_calls")[0]
    status = runner.invoke(app, ["status", "-p", str(capped.root)], catch_exceptions=False).output
    assert "Budgets by piece of work" in status
    (line,) = [line for line in status.splitlines() if work in line]
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells == [work, "2", f"{spent:.4f}", "0.0001", f"--budget of run {first}", "0"]


def test_the_worst_case_overshoot_is_the_calls_in_flight_times_the_costliest_call(project: Project) -> None:
    config = project.config.model_copy(
        update={
            "roles": {"generator": "gemini:cheap", "critic": "openai:dear@http://127.0.0.1:1/v1", "rater": "hf:free"},
            "prices": {"cheap": Price(input_per_mtok=1.0, output_per_mtok=2.0),
                       "dear": Price(input_per_mtok=10.0, output_per_mtok=20.0)},
            "concurrency": ConcurrencyConfig(gemini=16, openai=2),
        }
    )  # fmt: skip
    gemini = 16 * (1_000 * 1.0 + 500 * 2.0) / 1e6
    openai = 2 * (1_000 * 10.0 + 500 * 20.0) / 1e6
    worst = worst_case_overshoot_usd(config, ["generator", "critic", "rater"], prompt_tokens=1_000, output_tokens=500)
    assert worst == pytest.approx(max(gemini, openai))
    assert worst_case_overshoot_usd(config, ["rater"]) == 0, "an unpriced model's calls count nothing"
    line = budget_line(config, WorkBudget("sft:v", 1.0, 0.25, 3, None, "r1", 2), ["generator"])
    assert "cap $1.0000 (from [budget] max_cost_usd_per_run); $0.2500 spent so far on this work" in line
    assert "over 1 earlier run(s), plus 3 call(s) of a killed run whose cost is unknown" in line


def _call(project: Project, call_id: str, run_id: str, cost: float | None, status: str = "ok") -> None:
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO llm_calls (id, created_at, run_id, stage, model, cache_key, attempt, purpose,"
            " status, cost_usd) VALUES (?, TIMESTAMP '2026-03-01 12:00', ?, 'sft.scenario', 'gemini:flash', ?, 1,"
            " 'call', ?, ?)",
            [call_id, run_id, call_id, status, cost],
        )


def test_every_works_budget_matches_its_own_and_shows_calls_added_after_a_read(project: Project) -> None:
    """The Overview's list (one cached read of the ledger) agrees with the exact per-run budget, cap setter included."""
    first = start_run(project.store, "sft", work="sft:a", budget_usd=5.0)
    docs = start_run(project.store, "docs", work="docs:a", default_budget_usd=2.0)
    again = start_run(project.store, "sft", work="sft:a", default_budget_usd=9.0)  # inherits the explicit 5.0
    _call(project, "c1", first, 1.5)
    _call(project, "c2", again, 0.25)
    _call(project, "c3", again, None, status="interrupted")
    _call(project, "c4", docs, 0.5)
    listed = work_budgets(project.store)
    assert [b.work for b in listed] == ["sft:a", "docs:a"]  # newest first: sft:a's latest run started last
    for budget, run_id in zip(listed, (again, docs), strict=True):
        exact = work_budget(project.store, run_id)
        assert budget == dataclasses.replace(exact, run_id=None)
    assert (listed[0].cap_usd, listed[0].spent_usd, listed[0].unknown_calls, listed[0].cap_set_by) == (
        5.0,
        1.75,
        1,
        first,
    )
    _call(project, "late", first, 4.0)  # e.g. a dead process's call recovered after the first read
    assert work_budgets(project.store)[0].spent_usd == 5.75
