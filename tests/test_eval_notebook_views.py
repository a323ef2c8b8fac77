"""The read models and helpers the eval notebook (notebooks/06_eval.py) wires its widgets to."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest

from tests.test_app_evals import NASTY, plant_run
from workbench.errors import WorkbenchError
from workbench.evals.report import RunSummary, list_runs
from workbench.evals.runner import parse_settings
from workbench.evals.stats import bootstrap_mean
from workbench.project import Project, load_project
from workbench.train.tracking import register_checkpoint
from workbench.views.evals import (
    Segment,
    checkpoint_specs,
    comparable_suites,
    highlighted_html,
    model_specs,
    role_specs,
    run_label,
)


def summary(run_id: str, suite: str) -> RunSummary:
    return RunSummary(run_id=run_id, suite=suite, model="gemini:m", arm="target", status="done",
                      created_at=datetime.now(), counts={}, score=bootstrap_mean([]), case_scores={})  # fmt: skip


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
