"""Evals with power: epochs, the cluster bootstrap, the power helper, judge panels and re-judging.

A suite defined here (a test double, registered by monkeypatching the suite registry) asks the
target one question per case and has its panel grade the answer with a project override of a
judge template; the target and the judges are the fake Gemini server under different model names.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from tests.fakes.rules import FakeRequest, Text
from tests.sft_setup import sft_env
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals import base
from workbench.evals.base import Case, Sample, Suite
from workbench.evals.context import EvalContext, counts_as_reply
from workbench.evals.power import components, run_power
from workbench.evals.rejudge import rejudge_run
from workbench.evals.report import compare_runs, run_summary, samples
from workbench.evals.runner import DEFAULT_TEMPERATURE, run_eval
from workbench.evals.stats import Estimate, bootstrap_mean, case_sums_mean
from workbench.llm.types import Message
from workbench.project import Project, load_project

TEMPLATE = "eval_knowledge_grade"  # overridden in the test project with the grading rubric below
RUBRIC = "Grade this answer from 0 to 10: {{ answer }}"


class Question(Case):
    question: str = Field(description="What the target is asked.")


class Grade(BaseModel):
    grade: int = Field(description="0-10.")
    reason: str = Field(description="Why.")


async def judge(ctx: EvalContext, case: Question, played: Sample) -> Sample:
    panel = await ctx.judge(TEMPLATE, schema=Grade, score=lambda g: g.grade, answer=played.transcript[-1]["content"])
    if not panel.ok:
        return panel.failed_sample(played.transcript, played.details)
    return Sample("ok", score=panel.score, scores={"words": len(played.transcript[-1]["content"].split()),
                                                   **panel.record()},
                  transcript=played.transcript, rationale=panel.verdict.reason, details=played.details)  # fmt: skip


async def run_case(ctx: EvalContext, case: Question) -> Sample:
    reply = await ctx.target([Message("user", case.question)])
    transcript = [{"role": "user", "content": case.question}, {"role": "assistant", "content": reply.text or ""}]
    if not counts_as_reply(reply):
        return Sample("invalid", transcript=transcript, reason="no reply")
    return await judge(ctx, case, Sample("ok", transcript=transcript, details={"epoch": ctx.epoch}))


QUIZ = Suite(name="quiz", case_model=Question, run_case=run_case, description="test double", score_range=(0, 10),
             beside=("words",), epochs=2, judge=judge)  # fmt: skip


class QuizModel:
    """The target answers "answer N" with N counting up per question (so epochs differ); judge-a grades
    the number N, judge-b grades N + 2, and judge-broken answers with no JSON."""

    def __init__(self) -> None:
        self.counters: dict[str, itertools.count[int]] = {}
        self.lock = threading.Lock()
        self.target_temperatures: list[Any] = []

    def __call__(self, req: FakeRequest) -> Text:
        if req.model == "fake-target":
            with self.lock:
                self.target_temperatures.append(req.params.get("temperature"))
                n = next(self.counters.setdefault(req.last_user_text, itertools.count()))
            return Text(f"answer {n}")
        n = int(req.last_user_text.rsplit(" ", 1)[-1])
        bump = {"judge-a": 0, "judge-b": 2}.get(req.model)
        if bump is None:
            return Text("no verdict here")
        return Text(json.dumps({"grade": n + bump, "reason": f"{req.model} saw {n}"}))


@pytest.fixture
def quiz(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    for key, value in sft_env(fake_gemini, WORKBENCH_ROLES__JUDGE="gemini:judge-a").items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = QuizModel()
    registry = base.suites()
    monkeypatch.setattr(base, "suites", lambda: registry | {"quiz": QUIZ})
    monkeypatch.setattr("workbench.evals.report.suites", lambda: registry | {"quiz": QUIZ})
    (project.root / "prompts").mkdir(exist_ok=True)
    (project.root / "prompts" / f"{TEMPLATE}.md").write_text(RUBRIC)
    cases = tmp_path / "quiz.jsonl"
    cases.write_text("".join(json.dumps({"id": f"q{i}", "question": f"question {i}"}) + "\n" for i in range(3)))
    monkeypatch.setenv("QUIZ_CASES", str(cases))
    return load_project(project.root)


def play(project: Project, **kwargs: Any) -> Any:
    cases = Path(__import__("os").environ["QUIZ_CASES"])
    return asyncio.run(run_eval(project, "quiz", "gemini:fake-target", cases_path=cases, **kwargs))


def test_epochs_play_each_case_k_times_at_a_temperature_and_more_epochs_extend_the_run(
    quiz: Project, fake_gemini: Any
) -> None:
    first = play(quiz)  # the suite's default: 2 epochs
    assert (first.cases, first.epochs, first.finished_now) == (3, 2, 6)
    assert set(fake_gemini.rule.target_temperatures) == {DEFAULT_TEMPERATURE}
    rows = samples(quiz, first.run_id)
    assert sorted((r["case_id"], r["epoch"]) for r in rows) == [(f"q{i}", e) for i in range(3) for e in range(2)]
    # each epoch is its own call: the target counted up, so the two plays of a case differ
    assert {r["transcript"][-1]["content"] for r in rows if r["case_id"] == "q0"} == {"answer 0", "answer 1"}

    again = play(quiz)
    assert (again.run_id, again.finished_now, again.skipped) == (first.run_id, 0, 6)
    more = play(quiz, epochs=4)
    assert (more.run_id, more.finished_now, more.skipped) == (first.run_id, 6, 6)
    summary = run_summary(quiz, first.run_id)
    assert (summary.epochs, summary.score.clusters, summary.score.n) == (4, 3, 12)
    assert summary.case_scores["q0"] == pytest.approx(np.mean([0, 1, 2, 3]))
    assert summary.beside["words"].mean == 2.0


def test_one_epoch_keeps_the_backends_temperature_and_zero_epochs_is_an_error(quiz: Project, fake_gemini: Any) -> None:
    play(quiz, epochs=1)
    assert set(fake_gemini.rule.target_temperatures) == {None}
    with pytest.raises(WorkbenchError, match="at least 1"):
        play(quiz, epochs=0)


def test_a_panel_headline_is_the_median_and_a_broken_judge_does_not_fail_the_sample(quiz: Project) -> None:
    result = play(quiz, epochs=1, judges=("gemini:judge-a", "gemini:judge-b", "gemini:judge-broken"))
    rows = {r["case_id"]: r for r in samples(quiz, result.run_id)}
    q0 = rows["q0"]  # answer 0: judge-a 0, judge-b 2 -> median 1
    assert q0["status"] == "ok" and q0["score"] == 1.0
    assert q0["scores"]["judges"] == {"gemini:judge-a": 0.0, "gemini:judge-b": 2.0}
    assert "gemini:judge-broken" in q0["scores"]["judge_failures"]
    only_broken = play(quiz, epochs=1, judges=("gemini:judge-broken",))
    assert {r["status"] for r in samples(quiz, only_broken.run_id)} == {"judge_failed"}


def test_rejudge_scores_the_stored_transcripts_with_new_judges_without_calling_the_target(
    quiz: Project, fake_gemini: Any
) -> None:
    source = play(quiz)
    calls_before = len(fake_gemini.rule.target_temperatures)
    result = asyncio.run(rejudge_run(quiz, source.run_id[:8], judges=("gemini:judge-b",)))
    assert len(fake_gemini.rule.target_temperatures) == calls_before  # the target was not replayed
    assert result.finished_now == 6
    old, new = run_summary(quiz, source.run_id), run_summary(quiz, result.run_id)
    assert new.epochs == 2 and set(new.case_scores) == set(old.case_scores)
    # judge-b grades 2 above judge-a on the very same transcripts: the difference is all the judge's
    assert compare_runs(quiz, result.run_id, source.run_id).difference.mean == pytest.approx(2.0)
    with quiz.store.connect() as con:
        assert con.execute("SELECT source_run FROM eval_runs WHERE id = ?", [result.run_id]).fetchone() == (
            source.run_id,
        )
    assert asyncio.run(rejudge_run(quiz, result.run_id, judges=("gemini:judge-b",))).run_id != result.run_id
    again = asyncio.run(rejudge_run(quiz, source.run_id, judges=("gemini:judge-b",)))
    assert (again.run_id, again.finished_now, again.skipped) == (result.run_id, 0, 6)


def test_rejudge_needs_judges_and_a_suite_with_a_judge(quiz: Project) -> None:
    source = play(quiz, epochs=1)
    with pytest.raises(WorkbenchError, match="at least one judge"):
        asyncio.run(rejudge_run(quiz, source.run_id, judges=()))


def test_the_cli_runs_epochs_prints_cases_by_epochs_and_the_power_and_rejudges(quiz: Project) -> None:
    cases = Path(__import__("os").environ["QUIZ_CASES"])
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "run", "--suite", "quiz", "--model", "gemini:fake-target", "--cases",
                              str(cases), "--epochs", "3", "--judge", "gemini:judge-a", "--judge", "gemini:judge-b",
                              "-p", str(quiz.root)], env={"COLUMNS": "300"})  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "3 cases × 3 epochs" in out.output and "3 × 3" in out.output
    assert "judges' agreement: α (interval) = " in out.output and "over 9 plays, 2 judges" in out.output
    run_id = run_summary(quiz, "").run_id
    power = runner.invoke(app, ["eval", "power", run_id, "-p", str(quiz.root)])
    assert power.exit_code == 0, power.output
    assert "smallest detectable difference" in power.output
    rejudged = runner.invoke(app, ["eval", "rejudge", run_id, "--judge", "gemini:judge-b", "-p", str(quiz.root)])
    assert rejudged.exit_code == 0, rejudged.output


def clustered_mean(plays: list[list[float]], weights: list[list[float]] | None = None, seed: int = 0) -> Estimate:
    """The cluster-bootstrap mean of plays per case (with per-play weights), through the per-case sums."""
    weights = weights or [[1.0] * len(case) for case in plays]
    weighted = [sum(v * w for v, w in zip(case, ws, strict=True)) for case, ws in zip(plays, weights, strict=True)]
    return case_sums_mean(weighted, [sum(ws) for ws in weights], sum(map(len, plays)), seed=seed)


def _coverage(clustered: bool, trials: int = 200) -> float:
    """How often a 95% interval over 20 cases x 5 epochs covers the true mean 0.5, when cases differ
    a lot (sd 0.3) and plays little (sd 0.05)."""
    rng = np.random.default_rng(7)
    covered = 0
    for trial in range(trials):
        effects = rng.normal(0.5, 0.3, size=20)
        plays = [list(effect + rng.normal(0, 0.05, size=5)) for effect in effects]
        if clustered:
            estimate = clustered_mean(plays, seed=trial)
        else:
            estimate = bootstrap_mean([v for case in plays for v in case], seed=trial)
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= 0.5 <= estimate.high
    return covered / trials


def test_the_cluster_bootstrap_covers_the_true_mean_where_treating_plays_as_independent_does_not() -> None:
    assert 0.88 <= _coverage(clustered=True) <= 0.99
    assert _coverage(clustered=False) < 0.75  # five plays of a case are not five cases


def test_a_weighted_cluster_mean_is_the_mean_over_every_point() -> None:
    # two answers: one point scored 2, three points averaging 0 -> the pooled mean is 2/4, not (2 + 0) / 2
    assert clustered_mean([[2.0], [0.0]], [[1.0], [3.0]]).mean == pytest.approx(0.5)
    assert clustered_mean([]).mean is None


def test_power_separates_case_and_play_variance_and_more_epochs_help_only_with_play_variance() -> None:
    rng = np.random.default_rng(3)
    noisy_plays = {f"c{i}": list(rng.normal(0, 1.0, size=4)) for i in range(40)}  # cases alike, plays vary
    split = components(noisy_plays)
    assert split.within == pytest.approx(1.0, abs=0.25) and split.between < 0.15
    table = {(row.cases, row.epochs): row.detectable for row in run_power(noisy_plays).table}
    assert table[(40, 10)] < table[(40, 1)] / 2  # epochs buy power when plays vary
    fixed_cases = {f"c{i}": [float(v)] * 4 for i, v in enumerate(rng.normal(0, 1.0, size=40))}
    table = {(row.cases, row.epochs): row.detectable for row in run_power(fixed_cases).table}
    assert table[(40, 10)] == pytest.approx(table[(40, 1)])  # ... and buy nothing when cases differ
    assert table[(160, 1)] == pytest.approx(table[(40, 1)] / 2)  # four times the cases halve it


def test_paired_power_uses_the_case_differences() -> None:
    rng = np.random.default_rng(5)
    hardness = rng.normal(0, 2.0, size=30)  # big case effects shared by both arms cancel when paired
    a = {f"c{i}": [float(h + 0.1)] for i, h in enumerate(hardness)}
    b = {f"c{i}": [float(h)] for i, h in enumerate(hardness)}
    paired, unpaired = run_power(a, b), run_power(a)
    assert paired.paired and paired.detectable is not None and unpaired.detectable is not None
    assert paired.detectable < unpaired.detectable / 10
