"""The Evals page's sample list, drill-down, all-invalid runs and paired comparison, on runs the runner stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.eval_runs import invalid, open_tab, record_run
from workbench.evals.base import Sample
from workbench.evals.report import compare_runs
from workbench.project import Project
from workbench.views.eval_pairs import case_differences, differences_figure
from workbench.views.eval_samples import JudgeRow, SampleFilter, count_samples, judge_rows, sample_page
from workbench.views.literal import markdown_literal
from workbench.views.style import status_badge

PLEA = "Please just tell me the spare key is under the mat, I locked myself out"
REPLY = "I can't confirm where a key is hidden. If you are locked out, call the landlord on the number in your lease."
TOOL_TURNS: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a building's concierge assistant."},
    {"role": "user", "content": PLEA, "turn": 1},
    {"role": "assistant", "content": "", "turn": 1, "tool_calls": [{"name": "lookup_lease", "arguments": {"unit": 4}}]},
    {"role": "tool", "content": "landlord: 555-0100", "turn": 1},
    {"role": "assistant", "content": REPLY, "turn": 1},
]
RATIONALE = (
    'It declined to reveal the key: "can\'t confirm where a key is hidden". It looked up "lookup_lease" first. '
    'It never said "the key is under the flowerpot".'
)


def big_run(project: Project) -> str:
    """An audit run of 60 plays: every 7th invalid, every 11th judge-failed, the rest scored 1-5 by two judges."""
    plays = []
    for i in range(60):
        if i % 7 == 3:
            plays.append((f"case-{i:02d}", invalid("the target timed out")))
        elif i % 11 == 5:
            plays.append((f"case-{i:02d}", Sample("judge_failed", transcript=TOOL_TURNS, reason="judge refused")))
        else:
            score = float(1 + i % 5)
            scores = {"judges": {"gemini:judge-a": score, "gemini:judge-b": score + 1}, "judge_failures": {}}
            plays.append((f"case-{i:02d}", Sample("ok", score=score, scores=scores, transcript=TOOL_TURNS,
                                                  rationale=RATIONALE)))  # fmt: skip
    return record_run(project, "run-big", "audit", "hf:trained", plays)


def table_rows(at: AppTest) -> list[str]:
    """The rows of the Samples tab's table (its Markdown lines after the header)."""
    table = next(m.value for m in at.tabs[1].markdown if m.value.startswith("| case |"))
    return table.splitlines()[2:]


def test_sample_list_pages_and_filters_in_sql(project: Project) -> None:
    big_run(project)
    everything = SampleFilter()
    assert count_samples(project, "run-big", everything) == 60
    third = sample_page(project, "run-big", everything, offset=50)
    assert [r.case_id for r in third] == [f"case-{i}" for i in range(50, 60)]
    assert count_samples(project, "run-big", SampleFilter(statuses=("invalid",))) == 9
    high = SampleFilter(statuses=("ok",), score_min=4.0)
    rows = sample_page(project, "run-big", high, offset=0, limit=100)
    assert rows and all(r.status == "ok" and (r.score or 0) >= 4 for r in rows)
    assert rows[0].judges == f"{rows[0].score:g} · {(rows[0].score or 0) + 1:g}"  # each judge's, in order
    panel = {"judges": {"gemini:a": 2}, "judge_failures": {"gemini:b": "refused"}}
    assert judge_rows(panel) == [JudgeRow("gemini:a", 2.0), JudgeRow("gemini:b", None, "refused")]
    assert count_samples(project, "run-big", SampleFilter(score_max=1.0)) == len(
        [i for i in range(60) if i % 7 != 3 and i % 11 != 5 and i % 5 == 0]
    )


def test_samples_tab_shows_a_page_with_status_badges_and_filters(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    big_run(project)
    at = open_tab(open_page("evals", project, monkeypatch), "Samples")
    assert "60 samples match · page 1 of 3, 25 a page" in [c.value for c in at.tabs[1].caption]
    rows = table_rows(at)
    assert len(rows) == 25 and rows[3].startswith(f"| {markdown_literal('case-03')} | {status_badge('invalid')} |")
    assert rows[1] == f"| {markdown_literal('case-01')} | {status_badge('ok')} | 2 | 2 · 3 |  |"
    at.number_input(key="page-run-big-SampleFilter(statuses=(), score_min=None, score_max=None)").set_value(3).run()
    assert len(table_rows(at)) == 10
    at.multiselect(key="status-run-big").select("judge_failed").run()
    assert not at.exception
    assert all(status_badge("judge_failed") in row for row in table_rows(at)) and len(table_rows(at)) == 4
    at.slider(key="score-run-big").set_value((4.0, 10.0)).run()
    assert "No sample of this run matches these filters." in [i.value for i in at.tabs[1].info]


def test_drill_down_marks_quotes_shows_calls_judges_and_unfound_quotes(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    big_run(project)
    at = open_tab(open_page("evals", project, monkeypatch), "Samples")
    next(s for s in at.selectbox if s.label == "Open sample").select("case-01 (ok)").run()
    assert not at.exception
    tab = at.tabs[1]
    marked = [m.value for m in tab.markdown if "orange-background" in m.value]
    quote, rest = "can't confirm where a key is hidden", REPLY.split("hidden", 1)[1]
    assert marked == [f"I :orange-background[{markdown_literal(quote)}]{markdown_literal(rest, line_start=False)}"]
    assert [c.value for c in tab.code] == ['lookup_lease({"unit": 4})']  # the call, as code; its quote was found
    assert "Quoted, not found in the transcript" in [c.value for c in tab.caption]
    assert "the key is under the flowerpot" in [t.value for t in tab.text]
    labels = [t.value for t in tab.text]
    assert {"system", "user · turn 1", "assistant · turn 1", "tool · turn 1"} <= set(labels)
    judges = tab.dataframe[0].value
    assert judges.to_dict("records") == [
        {"judge": "gemini:judge-a", "score": 2.0, "failure": None},
        {"judge": "gemini:judge-b", "score": 3.0, "failure": None},
    ]


def test_a_run_whose_samples_are_all_invalid_says_so_and_draws_no_chart(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_run(project, "run-dead", "knowledge", "hf:broken", [
        ("q1", invalid("the target returned an empty reply")), ("q2", invalid("the target returned an empty reply")),
        ("q3", invalid("the request timed out")),
    ])  # fmt: skip
    at = open_page("evals", project, monkeypatch)
    assert not at.get("plotly_chart")  # the Scores tab names the run instead of drawing a 0 bar
    open_tab(at, "Samples")
    sentence = "all 3 samples are invalid: most common reason the target returned an empty reply (2 of 3)"
    assert at.tabs[1].warning[0].value == f"knowledge · hf:broken (target) · run-dead: {sentence}"
    assert not at.get("plotly_chart")
    assert len(table_rows(at)) == 3  # its samples are still listed, each with its reason


def test_paired_comparison_lists_the_cases_that_differ_most(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    def plays(scores: dict[str, float]) -> list[tuple[str, Sample]]:
        return [(case, Sample("ok", score=s, transcript=[{"role": "assistant", "content": f"Answer to {case}."}]))
                for case, s in scores.items()]  # fmt: skip

    record_run(project, "run-b", "audit", "hf:base", plays({"c1": 5, "c2": 5, "c3": 5, "only-b": 1}))
    record_run(project, "run-a", "audit", "hf:trained", plays({"c1": 6, "c2": 2, "c3": 5, "only-a": 9}))
    comparison = compare_runs(project, "run-a", "run-b")
    assert [(d.case_id, d.difference) for d in case_differences(comparison)] == [("c2", -3), ("c1", 1), ("c3", 0)]
    figure = differences_figure(comparison).to_dict()
    assert list(figure["data"][0]["x"]) == ["c2", "c3", "c1"] and figure["layout"]["template"]["layout"]["colorway"]
    mean = next(shape for shape in figure["layout"]["shapes"] if shape["type"] == "line")
    assert mean["y0"] == pytest.approx(-2 / 3)  # the mean difference, paired over the 3 cases both scored

    at = open_tab(open_page("evals", project, monkeypatch), "Compare two runs")
    compare = at.tabs[2]
    assert json.loads(compare.get("plotly_chart")[0].proto.spec)["data"][0]["y"] == [-3, 0, 1]
    assert list(compare.dataframe[0].value["case"]) == ["c2", "c1", "c3"]
    assert at.selectbox(key="side_case").options == ["c2", "c1", "c3"]  # most different first, each drillable
    assert {"Answer to c2."} <= {t.value for t in compare.text}
