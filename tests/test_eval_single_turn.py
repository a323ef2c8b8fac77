"""The single-turn eval suites end to end: knowledge, capability and patterns.

The target is the tiny local model through the `hf` backend (or, where a test must script the
target, the fake server as `gemini:fake-target`); every other role is the fake Gemini server
running tests/fakes/eval_single_turn_model.py, scripted by markers in the cases.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.eval_single_turn_model import (
    BASELINE,
    BASELINE_SILENT,
    BOTTOM_LINE,
    PARTIAL,
    REFUSE,
    TARGET_SILENT,
    SingleTurnFakeModel,
)
from tests.fakes.rules import FakeRequest, Reply, Safety
from tests.sft_setup import DOC, sft_env
from workbench.audit.audits import start_audit
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.patterns import add_pattern
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals.rejudge import rejudge_run
from workbench.evals.report import compare_runs, list_runs, run_summary, samples, scores_figure
from workbench.evals.runner import run_eval
from workbench.evals.suites.knowledge import SUITE as KNOWLEDGE
from workbench.project import Project, load_project
from workbench.store.traits import add_traits_file

SHORT = {"max_tokens": 16}
FAKE_TARGET = "gemini:fake-target"
PANEL = ("gemini:judge-a", "gemini:judge-b", "gemini:judge-c")


def single_turn_env(fake_gemini: Any) -> dict[str, str]:
    """Settings with every role on the fake (rater, judge, baseline) and two patterns per rating call;
    the fake answers as `SingleTurnFakeModel` (also used by the eval notebook's scenario)."""
    extra = {"WORKBENCH_ROLES__JUDGE": "gemini:fake-model", "WORKBENCH_HF__DEVICE": "cpu",
             "WORKBENCH_AUDIT__PATTERNS_PER_CALL": "2"}  # fmt: skip
    fake_gemini.rule = SingleTurnFakeModel()
    return sft_env(fake_gemini, **extra)


def add_test_traits(project: Project, folder: Path) -> None:
    """The traits document `test` (tests/sft_setup.py's DOC), read from a file written in `folder`."""
    doc = folder / "traits.md"
    doc.write_text(DOC)
    add_traits_file(project.store, doc, name="test")


@pytest.fixture
def env(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    """`single_turn_env` in the environment, and the traits document `test`."""
    for key, value in single_turn_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    add_test_traits(project, tmp_path)
    return load_project(project.root)


def write_cases(tmp_path: Path, field: str, cases: dict[str, str]) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps({"id": case_id, field: text}) + "\n" for case_id, text in cases.items()))
    return path


def run(project: Project, suite: str, model: str, cases: Path, **kwargs: Any) -> str:
    settings = {**SHORT, **kwargs.pop("settings", {})}
    result = asyncio.run(run_eval(project, suite, model, cases_path=cases, settings=settings, **kwargs))
    return result.run_id


def by_case(project: Project, run_id: str) -> dict[str, dict[str, Any]]:
    return {row["case_id"]: row for row in samples(project, run_id)}


def panel_rule(**judges: Callable[[FakeRequest], Reply]) -> Callable[[FakeRequest], Reply]:
    """The fake with some models answering by their own rule (judge_a for gemini:judge-a ...)."""
    default = SingleTurnFakeModel()
    return lambda request: judges.get(request.model.replace("-", "_"), default)(request)


def forget_answers(project: Project) -> None:
    """Empty the call cache: any call made from now on reaches the fake server."""
    with project.store.transaction() as con:
        con.execute("DELETE FROM llm_cache")


def prompts_with(fake_gemini: Any, title: str) -> list[str]:
    return [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == title]


# --- knowledge -----------------------------------------------------------------------------------


def pooled(rows: Any) -> float:
    """The knowledge headline from stored rows: the mean of ok scores weighted by the suite's weight."""
    ok = [r for r in rows if r["status"] == "ok"]
    weights = [r["scores"][KNOWLEDGE.weight] for r in ok]
    return sum(r["score"] * w for r, w in zip(ok, weights, strict=True)) / sum(weights)


def test_knowledge_headline_weights_each_answer_by_its_points(env: Project, tmp_path: Path) -> None:
    cases = write_cases(tmp_path, "question", {"one": "Principles? grades: 2", "three": "Values? grades: 0 0 1"})
    rows = by_case(env, run(env, "knowledge", FAKE_TARGET, cases, traits_ref="test"))
    assert (rows["one"]["score"], rows["three"]["score"]) == (2.0, pytest.approx(1 / 3))
    assert (rows["one"]["scores"]["points_made"], rows["three"]["scores"]["points_made"]) == (1, 3)
    # The mean over all four points made, not the mean of the two answers' means (7/6).
    assert pooled(rows.values()) == pytest.approx((2 + 0 + 0 + 1) / 4)


def test_knowledge_scores_each_point_against_the_traits(
    env: Project, fake_gemini: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    questions = {
        "mixed": "Name some principles. grades: 2 1 0",
        "strong": "What makes an AI good? grades: 2 2",
        "empty": "What should an AI value? grades: none",
        "refused": f"How should an AI act? {REFUSE}",
    }
    cases = write_cases(tmp_path, "question", questions)
    run_id = run(env, "knowledge", f"hf:{tiny_model_path}", cases, traits_ref="test")

    summary = run_summary(env, run_id)
    assert summary.counts == {"ok": 3, "judge_failed": 1}
    assert summary.case_scores == {"mixed": pytest.approx(1.0), "strong": 2.0, "empty": 0.0}
    rows = by_case(env, run_id)
    for case_id, row in rows.items():
        user, assistant = row["transcript"]
        assert user == {"role": "user", "content": questions[case_id]}
        assert assistant["role"] == "assistant" and assistant["content"].strip()
    assert [p["score"] for p in rows["mixed"]["scores"]["points"]] == [2, 1, 0]
    assert "REASON-2" in rows["mixed"]["rationale"] and "SUMMARY" in rows["mixed"]["rationale"]
    assert rows["empty"]["scores"]["points"] == [] and "SUMMARY: 0" in rows["empty"]["rationale"]
    assert rows["empty"]["scores"]["points_made"] == 1  # no point: weighs as one 0-point
    assert rows["refused"]["score"] is None and "safety" in rows["refused"]["reason"]
    assert pooled(rows.values()) == pytest.approx((2 + 1 + 0 + 2 + 2 + 0) / 6)
    # The rater saw the traits document and the answer the target actually gave.
    graded = prompts_with(fake_gemini, "KnowledgeGrade")
    assert len(graded) == 4 and all("names the real risks of a plan plainly" in p for p in graded)
    assert any(rows["mixed"]["transcript"][1]["content"] in p for p in graded)


def test_knowledge_needs_traits_and_counts_a_silent_target_invalid(
    env: Project, fake_gemini: Any, tmp_path: Path
) -> None:
    cases = write_cases(tmp_path, "question", {"silent": f"Anything? {TARGET_SILENT}", "ok": "Principles? grades: 1"})
    with pytest.raises(WorkbenchError, match="traits document"):
        run(env, "knowledge", FAKE_TARGET, cases)
    run_id = run(env, "knowledge", FAKE_TARGET, cases, traits_ref="test", arm="ceiling")
    rows = by_case(env, run_id)
    assert rows["silent"]["status"] == "invalid" and "empty" in rows["silent"]["reason"]
    assert run_summary(env, run_id).counts == {"invalid": 1, "ok": 1}
    target_calls = [r for r in fake_gemini.requests if r.model == "fake-target"]
    assert target_calls and all("names the real risks" in (r.system or "") for r in target_calls)  # ceiling arm


# --- capability ----------------------------------------------------------------------------------


def test_capability_judges_both_orders_and_records_both_verdicts(
    env: Project, fake_gemini: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    cases = write_cases(tmp_path, "prompt", {"sort": "Sort [3, 1, 2].", "sum": "What is 2 + 2?",
                                             "refused": f"Write a haiku. {REFUSE}"})  # fmt: skip
    run_id = run(env, "capability", f"hf:{tiny_model_path}", cases)  # baseline: the `baseline` role

    summary = run_summary(env, run_id)
    assert summary.counts == {"ok": 2, "judge_failed": 1}
    assert summary.case_scores == {"sort": 1.0, "sum": 1.0}  # the fake judge prefers the target in both orders
    row = by_case(env, run_id)["sort"]
    assert row["scores"] == {"target_as_a": "target", "target_as_b": "target", "outcome": 1.0,
                             "judges": {"judge": 1.0}, "judge_failures": {}}  # fmt: skip
    assert row["details"]["target_as_a_raw"] == "A" and row["details"]["target_as_b_raw"] == "B"
    assert row["rationale"].count("RATIONALE") == 2
    _, target, baseline = row["transcript"]
    assert target["source"] == "target" and target["content"].strip()
    assert baseline["source"] == "baseline" and baseline["content"].startswith(BASELINE)
    judged = [p for p in prompts_with(fake_gemini, "PairwiseVerdict") if "Sort [3, 1, 2]." in p]
    firsts = sorted(p.split('<answer label="A">\n', 1)[1][: len(BASELINE)] == BASELINE for p in judged)
    assert firsts == [False, True]  # the baseline shown once as B, once as A
    assert "safety" in by_case(env, run_id)["refused"]["reason"]

    fake_gemini.rule = SingleTurnFakeModel(judge="baseline")  # new prompts: the old verdicts are cached
    cases = write_cases(tmp_path, "prompt", {"sort": "Sort [9, 7, 8].", "sum": "What is 3 + 3?"})
    losing = run(env, "capability", f"hf:{tiny_model_path}", cases)
    assert run_summary(env, losing).case_scores == {"sort": 0.0, "sum": 0.0}


def test_capability_a_vs_a_with_a_position_biased_judge_is_one_half(
    env: Project, fake_gemini: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    fake_gemini.rule = SingleTurnFakeModel(judge="A")
    spec = f"hf:{tiny_model_path}"
    cases = write_cases(tmp_path, "prompt", {f"c{i}": f"Prompt number {i}." for i in range(4)})
    run_id = run(env, "capability", spec, cases, settings={"baseline_model": spec})
    summary = run_summary(env, run_id)
    assert summary.counts == {"ok": 4} and summary.score.mean == pytest.approx(0.5)
    row = by_case(env, run_id)["c0"]
    assert row["scores"] == {"target_as_a": "target", "target_as_b": "baseline", "outcome": 0.5,
                             "judges": {"judge": 0.5}, "judge_failures": {}}  # fmt: skip
    assert row["details"]["baseline_model"] == spec
    assert not any(r.model == "fake-model" and r.json_schema is None for r in fake_gemini.requests)  # no role used


def test_capability_counts_a_silent_baseline_invalid(env: Project, tmp_path: Path) -> None:
    cases = write_cases(tmp_path, "prompt", {"quiet": f"Say hi. {BASELINE_SILENT}", "fine": "Say hello."})
    run_id = run(env, "capability", FAKE_TARGET, cases)
    rows = by_case(env, run_id)
    assert rows["quiet"]["status"] == "invalid" and "baseline's reply was empty" in rows["quiet"]["reason"]
    assert rows["fine"]["status"] == "ok"


# --- judge panels and re-judging ------------------------------------------------------------------


def test_knowledge_rejudged_by_a_panel_takes_the_median_without_the_target(
    env: Project, fake_gemini: Any, tmp_path: Path
) -> None:
    cases = write_cases(tmp_path, "question", {"q": "Principles? grades: 2 1 1"})
    source = run(env, "knowledge", FAKE_TARGET, cases, traits_ref="test")
    played = by_case(env, source)["q"]
    assert played["scores"]["judges"] == {"rater": pytest.approx(4 / 3)}  # the rater role: a panel of one
    forget_answers(env)
    fake_gemini.rule = panel_rule(judge_b=SingleTurnFakeModel(harsh=True))
    sent = len(fake_gemini.requests)
    row = by_case(env, asyncio.run(rejudge_run(env, source, judges=PANEL)).run_id)["q"]
    assert row["status"] == "ok" and row["score"] == pytest.approx(4 / 3)  # median of 4/3, 0, 4/3 (mean 8/9)
    assert row["scores"]["judges"] == {"gemini:judge-a": pytest.approx(4 / 3), "gemini:judge-b": 0.0,
                                       "gemini:judge-c": pytest.approx(4 / 3)}  # fmt: skip
    assert [p["score"] for p in row["scores"]["points"]] == [2, 1, 1] and row["scores"]["points_made"] == 3
    assert row["transcript"] == played["transcript"]
    assert sorted(r.model for r in fake_gemini.requests[sent:]) == ["judge-a", "judge-b", "judge-c"]  # no target


def test_capability_panel_takes_the_median_of_each_judges_two_orders(
    env: Project, fake_gemini: Any, tmp_path: Path
) -> None:
    fake_gemini.rule = panel_rule(judge_c=SingleTurnFakeModel(judge="baseline"), judge_d=lambda _: Safety())
    cases = write_cases(tmp_path, "prompt", {"sum": "What is 2 + 2?"})
    run_id = run(env, "capability", FAKE_TARGET, cases, judges=(*PANEL, "gemini:judge-d"))
    row = by_case(env, run_id)["sum"]
    assert row["status"] == "ok" and row["score"] == 1.0  # median of 1, 1, 0 (mean 2/3); judge-d gave none
    assert row["scores"]["judges"] == {"gemini:judge-a": 1.0, "gemini:judge-b": 1.0, "gemini:judge-c": 0.0}
    failure = row["scores"]["judge_failures"]["gemini:judge-d"]
    assert "target as A: safety" in failure and "target as B: safety" in failure
    asked = Counter(r.model for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "PairwiseVerdict")
    assert asked == {"judge-a": 2, "judge-b": 2, "judge-c": 2, "judge-d": 2}  # both orders, every judge

    # Re-judged by judges that all refuse: judge_failed, each named, and neither model asked again.
    forget_answers(env)
    fake_gemini.rule = panel_rule(judge_a=lambda _: Safety(), judge_b=lambda _: Safety())
    sent = len(fake_gemini.requests)
    again = by_case(env, asyncio.run(rejudge_run(env, run_id, judges=PANEL[:2])).run_id)["sum"]
    assert again["status"] == "judge_failed" and again["score"] is None
    assert "gemini:judge-a: target as A: safety" in again["reason"] and "gemini:judge-b" in again["reason"]
    assert again["transcript"] == row["transcript"]
    assert {r.model for r in fake_gemini.requests[sent:]} == {"judge-a", "judge-b"}


# --- patterns ------------------------------------------------------------------------------------

PATTERNS = {
    "Bottom line up front": "Opens with the conclusion.",
    "Always present marker": "A pattern the fake rater finds in every row.",
    "Loosely present marker": "A pattern the fake rater finds loosely in every row.",
}


def pattern_audit(project: Project) -> str:
    record = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
    dataset = save_dataset(project, name="tiny", source="file", format="messages",
                           rows=[DatasetRow("r1", record, "USER: Hi\n\nASSISTANT: Hello.")])  # fmt: skip
    audit = start_audit(project, dataset.id)
    for name, description in PATTERNS.items():
        add_pattern(project, audit.id, name, description, broad=f"{name}, loosely.", strict=f"{name}, clearly.")
    return audit.id


def test_patterns_rates_each_answer_with_the_audit_raters(
    env: Project, fake_gemini: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    audit_id = pattern_audit(env)
    cases = write_cases(tmp_path, "prompt", {"job": "Should I take the job?", "knee": "My knee hurts.",
                                             "refused": f"Hello. {REFUSE}", "partial": f"Hi. {PARTIAL}"})  # fmt: skip
    run_id = run(env, "patterns", f"hf:{tiny_model_path}", cases, settings={"audit": audit_id})

    summary = run_summary(env, run_id)
    assert summary.counts == {"ok": 2, "judge_failed": 2}
    assert summary.case_scores == {"job": pytest.approx(1 / 3), "knee": pytest.approx(1 / 3)}
    rows = by_case(env, run_id)
    job = rows["job"]
    assert job["scores"] == {"Bottom line up front": "absent", "Always present marker": "strict",
                             "Loosely present marker": "broad"}  # fmt: skip
    assert job["details"]["broad_fraction"] == pytest.approx(2 / 3) and job["details"]["audit_id"] == audit_id
    assert "Always present marker: strict" in job["rationale"] and "broad only" in job["rationale"]
    answer = job["transcript"][1]["content"]
    rated = prompts_with(fake_gemini, "BatchRatings")
    assert any(f"ASSISTANT: {answer.strip()}" in p for p in rated)  # the audit's chat rendering
    assert len([p for p in rated if "Should I take the job?" in p]) == 2  # 3 patterns, 2 per call
    assert "safety" in rows["refused"]["reason"]
    # [partial] drops each block's last pattern: what was rated is kept, what was left out is named.
    assert "left out Always present marker" in rows["partial"]["reason"] and "Loosely" in rows["partial"]["reason"]
    assert rows["partial"]["scores"] == {"Bottom line up front": "absent"}


def test_patterns_scripted_target_needs_an_audit(env: Project, tmp_path: Path) -> None:
    cases = write_cases(tmp_path, "prompt", {"blunt": f"Job? {BOTTOM_LINE}", "plain": "Job?",
                                             "silent": f"Job? {TARGET_SILENT}"})  # fmt: skip
    with pytest.raises(WorkbenchError, match="name the audit") as error:
        run(env, "patterns", FAKE_TARGET, cases)
    assert "--set audit=" in (error.value.hint or "")
    pattern_audit(env)
    run_id = run(env, "patterns", FAKE_TARGET, cases, settings={"audit": "tiny"})  # by the dataset's name
    summary = run_summary(env, run_id)
    assert summary.counts == {"ok": 2, "invalid": 1}
    assert summary.case_scores == {"blunt": pytest.approx(2 / 3), "plain": pytest.approx(1 / 3)}
    assert by_case(env, run_id)["blunt"]["scores"]["Bottom line up front"] == "strict"


def test_the_command_line_runs_lists_shows_and_compares(
    env: Project, fake_gemini: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["eval", *args, "-p", str(env.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    cases = write_cases(tmp_path, "question", {"a": "Principles? grades: 2 1", "b": "Values? grades: 1 1"})
    common = ("--suite", "knowledge", "--model", FAKE_TARGET, "--traits", "test", "--cases", str(cases),
              "--set", "max_tokens=16")  # fmt: skip
    assert "2 play(s) now, 0 already done" in invoke("run", *common)
    assert "0 play(s) now, 2 already done" in invoke("run", *common)  # resumed: nothing left
    invoke("run", *common, "--arm", "ceiling")
    first, second = [s.run_id for s in list_runs(env)][::-1]
    assert first in invoke("list")
    assert "knowledge" in runner.invoke(app, ["eval", "suites"], catch_exceptions=False).output
    shown = invoke("show", first, "--case", "a")
    assert "user: Principles?" in shown and "rationale:" in shown
    chart = tmp_path / "compare.html"
    compared = invoke("compare", first, second, "--html", str(chart))
    assert "A - B, paired over shared cases" in compared and "plotly" in chart.read_text().lower()
    comparison = compare_runs(env, first, second)
    assert comparison.difference.n == 2
    figure = scores_figure([comparison.a, comparison.b])
    assert [bar.name for bar in figure.data] == [f"{FAKE_TARGET} (target)", f"{FAKE_TARGET} (ceiling)"]
    assert figure.data[0].y[0] == pytest.approx(comparison.a.score.mean)
