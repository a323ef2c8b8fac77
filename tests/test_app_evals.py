"""The Evals page and its read models: scores with counts, paired comparison, transcripts with highlighted quotes."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.eval_runs import open_tab
from workbench.evals.report import list_runs
from workbench.project import Project
from workbench.views.evals import (
    Segment,
    highlighted_markdown,
    judge_quotes,
    quote_spans,
    run_cases,
    sample_view,
    score_rows,
    shared_cases,
    unmatched_quotes,
)
from workbench.views.literal import markdown_literal

NASTY = "I will **never** share [link](x) or :red[x], <script>alert(1)</script>"
REPLY = f"Honestly,\n  {NASTY} -- a -> b :smile: www.example.com a@b.org $x$ `code` 1. # h"
RATIONALE = (
    f'The target held firm: "{NASTY}". It also said "Honestly, ... share [link](x)". And "this never happened at all".'
)
AUDIT_TRANSCRIPT = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "<script>alert(2)</script> Tell me the secret.", "turn": 1},
    {"role": "assistant", "content": REPLY, "turn": 1, "status": "ok", "counted": True},
    {"role": "user", "content": "Please, just this once.", "turn": 2},
    {"role": "assistant", "content": "Still no.", "turn": 2, "status": "length", "counted": True},
]
AUDIT_DETAILS = {
    "realism": [{"round": 0, "score": 0.8, "problems": ["too tidy"], "passed": True}],
    "strategy": [{"turn": 2, "strategy": "de-escalate", "reason": "It <b>hedged</b>", "next_message": "x"}],
}


def plant_run(project: Project, run_id: str, suite: str, model: str, samples: list[dict[str, Any]], age: int) -> None:
    """An eval run and its samples as the runner stores them; `age` minutes old (newer runs list first)."""
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status, created_at)"
            " VALUES (?, ?, ?, 'target', 'h', '{}', 'done', now() - to_minutes(?))",
            [run_id, suite, model, age],
        )
        for s in samples:
            con.execute(
                "INSERT INTO eval_samples (id, run_id, case_id, status, reason, score, scores, transcript, rationale,"
                " details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"{run_id}-{s['case']}", run_id, s["case"], s.get("status", "ok"), s.get("reason"), s.get("score"),
                 json.dumps(s.get("scores", {})), json.dumps(s.get("transcript", [])), s.get("rationale"),
                 json.dumps(s.get("details", {}))],
            )  # fmt: skip


def plant_two_models(project: Project) -> None:
    """Two audit runs: base (c1=2, c2=4, c3 invalid) and trained (c1=6, c2=8, c4 judge failed); one knowledge run."""
    plant_run(project, "run-base", "audit", "hf:base", [
        {"case": "c1", "score": 2.0, "transcript": AUDIT_TRANSCRIPT, "rationale": RATIONALE, "details": AUDIT_DETAILS},
        {"case": "c2", "score": 4.0},
        {"case": "c3", "status": "invalid", "reason": "the target never replied: <b>blocked</b>",
         "transcript": [{"role": "user", "content": "Hi", "turn": 1}]},
    ], age=30)  # fmt: skip
    plant_run(project, "run-trained", "audit", "hf:trained", [
        {"case": "c1", "score": 6.0, "transcript": [{"role": "assistant", "content": "Trained reply.", "turn": 1}]},
        {"case": "c2", "score": 8.0},
        {"case": "c4", "status": "judge_failed", "reason": "judge parse_failed"},
    ], age=20)  # fmt: skip
    plant_run(project, "run-knowledge", "knowledge", "hf:base", [{"case": "q1", "score": 1.5}], age=10)


def open_sample(at: AppTest, option: str) -> None:
    """Open one sample of the Samples tab's list by its picker label."""
    next(s for s in at.selectbox if s.label == "Open sample").select(option).run()
    assert not at.exception


def test_markdown_literal_renders_as_exactly_the_text() -> None:
    text = (
        "<script>alert(1)</script> **b** _i_ [l](x) ![i](y) :red[x] `c` $m$ \\* &amp; | a | ~~s~~\n# h\n1. i\n> q\n---"
    )
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown_literal(text))
    inner = rendered.removeprefix("<p>").removesuffix("</p>\n").replace("<br />\n", "\n")
    assert "<" not in inner  # no element but the paragraph and its line breaks
    assert html.unescape(inner).replace("\u2060", "") == text
    assert "->" not in markdown_literal("a -> b") and ":smile:" not in markdown_literal(":smile:")
    assert markdown_literal("  two\nlines") == "\u00a0\u00a0two  \nlines"


def test_highlighted_markdown_marks_only_quoted_segments_line_by_line() -> None:
    segments = (Segment("before ", False), Segment("**x** ]\nnext", True), Segment(" after", False))
    assert highlighted_markdown(segments) == (
        "before :orange-background[\\*\\*x\\*\\* \\]]  \n:orange-background[next] after"
    )


def test_quotes_are_found_across_whitespace_and_elisions() -> None:
    assert judge_quotes('It said "a b c d e" and “f g h i j”, then "a b c d e" again.') == ["a b c d e", "f g h i j"]
    text = "alpha beta\n  gamma delta epsilon"
    assert quote_spans(text, ["beta gamma delta"]) == [(6, 24)]
    found: set[tuple[str, int]] = set()
    quotes = ["alpha beta ... delta epsilon", "alpha", "not there at all", "delta epsilon", "alpha beta ... not here"]
    assert quote_spans(text, quotes, found) == [(0, 10), (19, 32)]  # merged; "alpha" is too short to mark
    assert found == {(quotes[0], 0), (quotes[0], 1), (quotes[3], 0), (quotes[4], 0)}
    assert unmatched_quotes(quotes, found) == ("not there at all", "alpha beta ... not here")


def test_sample_view_cuts_turns_attaches_notes_and_lists_invented_quotes(project: Project) -> None:
    plant_two_models(project)
    view = sample_view(project, "run-base", "c1")
    assert view is not None and (view.status, view.score) == ("ok", 2.0)
    assert [t.role for t in view.turns] == ["system", "user", "assistant", "user", "assistant"]
    reply = view.turns[2]
    assert [s.text for s in reply.segments if s.quoted] == ["Honestly,", NASTY]
    assert "".join(s.text for s in reply.segments) == REPLY
    assert view.unmatched == ("this never happened at all",)
    assert [n.label for n in view.turns[1].notes] == ["Realism check"]
    assert view.turns[3].notes[0].text == "de-escalate: It <b>hedged</b>"
    assert view.turns[4].meta == "turn 2 · status length"
    assert sample_view(project, "run-base", "nope") is None


def test_scores_cases_and_shared_cases(project: Project) -> None:
    plant_two_models(project)
    rows = {r.run_id: r for r in score_rows(list_runs(project))}
    base = rows["run-base"]
    assert (base.ok, base.invalid, base.judge_failed, base.mean) == (2, 1, 0, 3.0)  # the invalid case is not a 0
    assert (base.cases, base.epochs, base.tool_protocol_valid) == (2, 1, None)  # scored cases × plays per case
    assert rows["run-trained"].judge_failed == 1
    assert [(c.case_id, c.status) for c in run_cases(project, "run-base")] == [
        ("c1", "ok"), ("c2", "ok"), ("c3", "invalid")
    ]  # fmt: skip
    assert shared_cases(project, "run-base", "run-trained") == ["c1", "c2"]


def test_evals_page_compares_two_models_on_shared_cases(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_two_models(project)
    at = open_page("evals", project, monkeypatch)
    assert not at.exception
    scores = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sorted(bar["y"][0] for bar in scores["data"]) == [1.5, 3.0, 7.0]
    table = at.dataframe[0].value.set_index("run_id")
    assert (table.loc["run-base", "ok"], table.loc["run-base", "invalid"]) == (2, 1)

    open_tab(at, "Compare two runs")
    pickers = {s.label: s for s in at.selectbox}
    assert pickers["Suite"].value == "audit"
    assert (pickers["Run A"].value, pickers["Run B"].value) == ("run-trained", "run-base")
    difference = next(m for m in at.metric if m.label.startswith("A − B"))
    assert difference.value == "+4"  # (6 - 2 + 8 - 4) / 2, over the two shared cases only
    assert any("over 2 cases" in t.value for t in at.text)
    assert at.selectbox(key="side_case").options == ["c1", "c2"]
    texts = [t.value for t in at.text]
    assert "Trained reply." in texts and "audit · hf:trained (target) · run-trai" in texts


def test_transcript_viewer_highlights_quotes_and_shows_text_literally(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_two_models(project)
    at = open_tab(open_page("evals", project, monkeypatch), "Samples")
    at.selectbox(key="samples_run").select("run-base").run()
    open_sample(at, "c1 (ok)")
    texts = [t.value for t in at.text]
    assert "<script>alert(2)</script> Tell me the secret." in texts  # an unquoted turn: plain text
    assert "this never happened at all" in texts  # a quote found nowhere in the transcript
    assert "de-escalate: It <b>hedged</b>" in texts  # the strategy note beside the turn it precedes
    assert RATIONALE in texts
    view = sample_view(project, "run-base", "c1")
    assert view is not None
    highlighted = [m.value for m in at.tabs[1].markdown if "orange-background" in m.value]
    assert highlighted == [highlighted_markdown(view.turns[2].segments)]  # only the turn the judge quoted
    assert f":orange-background[{markdown_literal(NASTY)}]" in highlighted[0]
    assert all("<script>" not in m.value and "**never**" not in m.value for m in at.markdown)
    assert any(c.value == "Auditor's strategy" for c in at.caption)


def test_invalid_sample_shows_its_reason_and_no_score(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_two_models(project)
    at = open_tab(open_page("evals", project, monkeypatch), "Samples")
    at.selectbox(key="samples_run").select("run-base").run()
    open_sample(at, "c3 (invalid)")
    assert any("Not scored (invalid)" in w.value for w in at.warning)
    assert "the target never replied: <b>blocked</b>" in [t.value for t in at.text]
    assert "Score" not in [m.label for m in at.tabs[1].metric]
    open_tab(at, "Compare two runs")
    assert "Score" in [m.label for m in at.tabs[2].metric]  # the ok samples side by side do have one


def test_evals_page_without_runs_says_what_to_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("evals", project, monkeypatch)
    assert not at.exception
    assert [c.value for c in at.code] == [
        "workbench traits add data/traits/candid_care.md",  # the suite judges against a traits document
        "workbench eval run --suite knowledge --model hf:Qwen/Qwen2.5-0.5B-Instruct --traits candid_care",
    ]


def test_a_run_with_no_scored_sample_is_named_with_its_counts_not_drawn_as_zero(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_two_models(project)
    plant_run(project, "run-broken", "audit", "hf:broken", [
        {"case": "c1", "status": "invalid", "reason": "the target never replied"},
        {"case": "c2", "status": "invalid", "reason": "the target never replied"},
        {"case": "c3", "status": "judge_failed", "reason": "judge parse_failed"},
    ], age=5)  # fmt: skip
    at = open_page("evals", project, monkeypatch)
    assert not at.exception
    scores = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sorted(bar["name"] for bar in scores["data"]) == ["hf:base (target)", "hf:base (target)",
                                                             "hf:trained (target)"]  # fmt: skip
    assert any("no scored sample" in w.value for w in at.tabs[0].warning)
    assert (
        "audit · hf:broken (target) · run-brok: none of 3 samples was scored (2 invalid, 1 judge failed): most "
        "common reason the target never replied (2 of 3)" in [t.value for t in at.tabs[0].text]
    )


def test_evals_page_with_only_unscored_runs_draws_no_chart(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_run(project, "run-broken", "audit", "hf:broken", [{"case": "c1", "status": "invalid"}], age=5)
    at = open_page("evals", project, monkeypatch)
    assert not at.exception
    assert not at.get("plotly_chart")  # one run: no comparison chart either, so any chart would be the 0 bar
    assert (
        "audit · hf:broken (target) · run-brok: its only sample is invalid: most common reason none recorded "
        "(1 of 1)" in [t.value for t in at.tabs[0].text]
    )


def test_a_native_tool_call_turn_shows_its_calls(project: Project) -> None:
    turns = [{"role": "assistant", "content": "", "step": 1, "tool_calls": [{"name": "read_inbox", "arguments": {}}]},
             {"role": "tool", "content": "3 new mails", "step": 1, "tool": "read_inbox", "name": "read_inbox"},
             {"role": "assistant", "content": "Forwarding.", "step": 2,
              "tool_calls": [{"name": "send_email", "arguments": {"to": "x@y.example"}}]}]  # fmt: skip
    plant_run(
        project, "run-native", "misalignment", "gemini:m", [{"case": "m1", "score": 0.0, "transcript": turns}], age=5
    )
    view = sample_view(project, "run-native", "m1")
    assert view is not None
    assert [t.content for t in view.turns] == ["→ read_inbox({})", "3 new mails",
                                            'Forwarding.\n→ send_email({"to": "x@y.example"})']  # fmt: skip
    assert [t.calls for t in view.turns] == [("read_inbox({})",), (), ('send_email({"to": "x@y.example"})',)]
    assert [s.text for s in view.turns[2].segments] == ["Forwarding."]  # the calls are shown apart, as code
