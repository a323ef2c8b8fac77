"""The read models and helpers the eval notebook (notebooks/06_eval.py) wires its widgets to."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.eval_single_turn_model import SingleTurnFakeModel
from tests.test_app_evals import NASTY, plant_run
from tests.test_eval_single_turn import PANEL, add_test_traits, panel_rule, single_turn_env
from workbench.errors import WorkbenchError
from workbench.evals.base import suites
from workbench.evals.report import RunSummary, list_runs, run_summary
from workbench.evals.runner import parse_settings
from workbench.evals.stats import Estimate, bootstrap_mean
from workbench.project import Project, load_project
from workbench.train.tracking import register_checkpoint
from workbench.views.eval_form import RunOptions, RunOutcome, play, run_options, suite_rows
from workbench.views.eval_scores import agreement_rows, beside_rows, interval_caption
from workbench.views.evals import (
    Segment,
    checkpoint_specs,
    comparable_suites,
    highlighted_html,
    model_specs,
    play_options,
    role_specs,
    run_cases,
    run_label,
    score_rows,
)


def summary(run_id: str, suite: str, beside: dict[str, Estimate] | None = None) -> RunSummary:
    return RunSummary(run_id=run_id, suite=suite, model="gemini:m", arm="target", status="done",
                      created_at=datetime.now(), counts={}, score=bootstrap_mean([]), case_scores={},
                      beside=beside or {})  # fmt: skip


def test_checkpoints_are_offered_as_hf_specs_newest_first(project: Project) -> None:
    assert checkpoint_specs(project) == {}
    for step in (10, 20):
        register_checkpoint(project, "run1", step, f"/ckpt/step-{step}", kind="adapter", base_model="b", manifest={})
    register_checkpoint(project, "run1", 20, "/ckpt/merged", kind="merged", base_model="b", manifest={})
    specs = checkpoint_specs(project)
    assert set(specs.values()) == {"hf:/ckpt/step-10", "hf:/ckpt/step-20", "hf:/ckpt/merged"}
    assert specs["run1@20 · adapter"] == "hf:/ckpt/step-20" and specs["run1@20-merged · merged"] == "hf:/ckpt/merged"
    assert list(specs).index("run1@20 · adapter") < list(specs).index("run1@10 · adapter")


def test_role_specs_name_each_model_once(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert role_specs(project) == ["hf:Qwen/Qwen2.5-0.5B-Instruct"]  # the template's target is its baseline
    monkeypatch.setenv("WORKBENCH_ROLES__TARGET", "gemini:fake-target")
    assert role_specs(load_project(project.root)) == ["gemini:fake-target", "hf:Qwen/Qwen2.5-0.5B-Instruct"]
    assert role_specs(project, ("judge", "no-such-role")) == ["gemini:gemini-3-pro"]


def test_model_specs_keep_picked_then_typed_in_order_without_repeats() -> None:
    typed = "  gemini:a \n\nhf:/ckpt\n gemini:b\ngemini:a\n"
    assert model_specs(["hf:/ckpt"], typed) == ["hf:/ckpt", "gemini:a", "gemini:b"]
    assert model_specs([], " \n") == []


def test_comparable_suites_need_two_runs_and_keep_first_seen_order() -> None:
    runs = [summary("1", "capability"), summary("2", "knowledge"), summary("3", "audit"), summary("4", "knowledge"),
            summary("5", "capability")]  # fmt: skip
    assert comparable_suites(runs) == ["capability", "knowledge"]
    assert comparable_suites(runs[:3]) == []


def test_run_label_names_suite_model_arm_and_id(project: Project) -> None:
    plant_run(project, "0123456789abcdef", "knowledge", "gemini:m", [], age=0)
    (only,) = list_runs(project)
    assert run_label(only) == "knowledge · gemini:m (target) · 01234567"


def test_highlighted_html_escapes_every_piece_and_marks_only_the_quoted() -> None:
    segments = [Segment("Before <b>x</b>\n", False), Segment(NASTY, True), Segment(" & after", False)]
    block = highlighted_html(segments)
    assert "<script>" not in block and "<b>" not in block
    assert re.findall(r"<mark>(.*?)</mark>", block, re.DOTALL) == [html.escape(NASTY)]
    inner = re.sub(r"^<pre[^>]*>|</pre>$", "", block).replace("<mark>", "").replace("</mark>", "")
    assert html.unescape(inner) == "".join(s.text for s in segments)  # the text exactly, line breaks kept


def test_parse_settings_reads_key_value_lines_as_json_where_they_parse() -> None:
    lines = ["max_turns=5", "", " audit = tiny ", 'flags=["a", 1]', "strict=true", "note=a=b"]
    assert parse_settings(lines) == {"max_turns": 5, "audit": "tiny", "flags": ["a", 1], "strict": True,
                                     "note": "a=b"}  # fmt: skip
    with pytest.raises(WorkbenchError, match="not KEY=VALUE"):
        parse_settings(["max_turns 5"])
    with pytest.raises(WorkbenchError, match="not KEY=VALUE"):
        parse_settings(["=5"])


# --- the run form: options, suites, one run played (notebooks/06_eval.py's "What to run") -------------

FORM: dict[str, Any] = {"arm": "target", "traits_ref": "test", "limit": 3.0, "settings_text": "max_tokens=16",
                        "epochs": None, "temperature": None, "judges_text": ""}  # fmt: skip
# Graded by the fake from the markers; the harsh panel member (judge-b) gives every point 0.
KNOWLEDGE = {"k1": "Name some principles. grades: 2 1", "k2": "What makes an AI good? grades: 2",
             "k3": "What should it value? grades: 0 1", "k4": "Past the limit. grades: 2"}  # fmt: skip


@pytest.fixture
def env(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    """The fake for every role (judge-b harsh), the traits document `test`, the project's knowledge cases."""
    for key, value in single_turn_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = panel_rule(judge_b=SingleTurnFakeModel(harsh=True))
    add_test_traits(project, tmp_path)
    (project.root / "evals").mkdir()
    lines = [json.dumps({"id": case, "question": text}) for case, text in KNOWLEDGE.items()]
    (project.root / "evals" / "knowledge.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_project(project.root)


def test_suite_rows_list_each_suite_by_name_with_its_default_epochs() -> None:
    knowledge = dataclasses.replace(suites()["knowledge"], score_range=(0, 2))
    slow = dataclasses.replace(knowledge, name="agentic", epochs=3, higher_is_better=False, score_range=(0, 0.5))
    rows = suite_rows({"knowledge": knowledge, "agentic": slow})
    assert [(r["suite"], r["default epochs"], r["better"], r["score"]) for r in rows] == [
        ("agentic", 3, "lower", "0–0.5"), ("knowledge", 1, "higher", "0–2")
    ]  # fmt: skip


def test_run_options_leave_empty_fields_to_the_defaults_and_keep_each_judge_once() -> None:
    assert run_options(**FORM) == RunOptions(arm="target", traits_ref="test", limit=3, settings={"max_tokens": 16})
    typed = run_options(**FORM | {"epochs": 4.0, "temperature": 0.0, "judges_text": " gemini:a\n\ngemini:b\ngemini:a"})
    assert (typed.epochs, typed.temperature, typed.judges) == (4, 0.0, ("gemini:a", "gemini:b"))
    assert isinstance(typed.epochs, int) and isinstance(typed.limit, int)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("epochs", 2.5, "Epochs is 2.5"), ("epochs", 0.0, "Epochs is 0"), ("limit", None, "Cases per suite is empty"),
     ("limit", -1.0, "Cases per suite is -1"), ("temperature", -0.5, "Temperature is -0.5"),
     ("settings_text", "max_tokens 16", "not KEY=VALUE")],
)  # fmt: skip
def test_run_options_name_the_field_that_is_wrong(field: str, value: Any, message: str) -> None:
    with pytest.raises(WorkbenchError, match=re.escape(message)):
        run_options(**FORM | {field: value})


def test_a_run_with_epochs_and_a_panel_shows_plays_cases_and_the_judges_agreement(env: Project) -> None:
    panel = run_options(**FORM | {"epochs": 2.0, "judges_text": "\n".join(PANEL)})
    outcome = asyncio.run(play(env, "gemini:fake-target", "knowledge", panel))
    assert dataclasses.replace(outcome, run="") == RunOutcome("gemini:fake-target", "knowledge", cases=3, epochs=2,
                                                                played_now=6)  # fmt: skip
    again = asyncio.run(play(env, "gemini:fake-target", "knowledge", panel))
    assert (again.run, again.played_now, again.already_done) == (outcome.run, 0, 6)  # resumed, nothing replayed

    (row,) = score_rows([run_summary(env, outcome.run)])
    assert (row.ok, row.cases, row.epochs) == (6, 3, 2) and row.low is not None and row.high is not None
    assert row.width == pytest.approx(row.high - row.low)
    plays = play_options(run_cases(env, outcome.run))
    assert plays["k1 · epoch 1 (ok)"] == ("k1", 1) and len(plays) == 6

    rater = asyncio.run(play(env, "gemini:fake-target", "knowledge", run_options(**FORM)))  # the rater role alone
    assert "epoch" not in " ".join(play_options(run_cases(env, rater.run)))
    (agreement,) = agreement_rows(env, list_runs(env))  # only the panel's run has judges to compare
    assert (agreement.run_id, agreement.judges, agreement.units) == (outcome.run, ", ".join(PANEL), 6)
    assert agreement.alpha is not None and agreement.alpha < 0.5  # judge-b scores every point 0
    assert "gemini:judge-a = gemini:judge-c: 100% of 6" in agreement.exact


def test_play_reports_a_failed_pairing_and_each_option_makes_its_own_run(env: Project) -> None:
    no_traits = asyncio.run(play(env, "gemini:fake-target", "knowledge", run_options(**FORM | {"traits_ref": None})))
    assert no_traits.run == "" and "traits" in no_traits.error
    warm = asyncio.run(play(env, "gemini:fake-target", "knowledge", run_options(**FORM | {"temperature": 0.7})))
    plain = asyncio.run(play(env, "gemini:fake-target", "knowledge", run_options(**FORM)))
    assert warm.error == plain.error == "" and warm.run != plain.run and warm.epochs == plain.epochs == 1


def test_beside_rows_list_each_runs_sub_scores_with_their_intervals() -> None:
    violation = bootstrap_mean([1.0, 3.0, 2.0, 4.0])
    rows = beside_rows([summary("r1", "odcv", {"violation": violation}), summary("r2", "knowledge")])
    assert [(r.run_id, r.score, r.mean, r.low, r.high) for r in rows] == [
        ("r1", "violation", 2.5, violation.low, violation.high)
    ]
    assert violation.low is not None and violation.high is not None
    assert rows[0].width == pytest.approx(violation.high - violation.low)


def test_interval_caption_says_when_there_is_no_interval() -> None:
    assert interval_caption(Estimate(mean=0.5, low=None, high=None, n=1)) == (
        "no interval (fewer than two cases) over 1 cases"
    )
    assert interval_caption(Estimate(mean=0.2, low=-0.1, high=0.45, n=4)) == "95% interval [-0.1, +0.45] over 4 cases"
