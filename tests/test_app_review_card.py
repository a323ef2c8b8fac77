"""The review card under Streamlit's test runner: the answer once, scales, evidence, lineage, history, progress, undo.

Rows (and the generations behind one example) are planted straight into the store
(tests/review_rows.py); what the pipeline writes is tested in tests/test_review_queue.py.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows
from workbench.audit.audits import start_audit
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.lexical_rules import PhraseRule
from workbench.audit.patterns import add_pattern
from workbench.generate.schemas import ExampleRating
from workbench.project import Project
from workbench.review import review, review_many
from workbench.views.literal import markdown_literal
from workbench.views.review_progress import review_progress


@pytest.fixture(autouse=True)
def _reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_REVIEWER", "ada")


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def plain(markdown: str) -> str:
    """What a reader sees of `markdown_literal` text: the escapes and word joiners gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def progress_text(at: AppTest) -> str:
    return plain(str(at.get("progress")[0].proto.text))


def batch_of(project: Project, item_id: str, action: str) -> str:
    found = rows(project, "SELECT batch_id FROM review_events WHERE item_id = ? AND action = ?", item_id, action)
    return str(found[0][0])


def plant_generations(project: Project, example_id: str, scenario_id: str, response: str) -> None:
    """The baseline, conditioned and refined answers behind an example, the refined one being its response."""
    made = [("g-base", "baseline", scenario_id, "A plain answer."), ("g-cond", "conditioned", scenario_id,
            "A first draft in character."), ("g-ref", "refined", "g-cond", response)]  # fmt: skip
    with project.store.transaction() as con:
        for gid, step, subject, text in made:
            con.execute(
                "INSERT INTO sft_generations (id, step, subject_id, variant, role, model, cache_key, text, status)"
                " VALUES (?, ?, ?, '', 'generator', 'fake:model', ?, ?, 'ok')",
                [gid, step, subject, gid, text],
            )
        con.execute("UPDATE sft_examples SET response_generation_id = 'g-ref' WHERE id = ?", [example_id])


def test_the_answer_is_shown_once(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_examples(project, 2, response="The considered answer {i}.")
    plant_generations(project, "ex-000", "sc-000", "The considered answer 0.")
    at = open_page("review", project, monkeypatch)
    texts = [t.value for t in at.text]
    # The refined answer is the example's response: shown under review, not again under "How it was made".
    assert texts.count("The considered answer 0.") == 1
    assert "A plain answer." in texts and "A first draft in character." in texts  # the other answers still are


def test_scores_explain_their_scales_and_the_status_is_a_badge(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_examples(project, 2)
    at = open_page("review", project, monkeypatch)
    metrics = {m.label: (m.value, m.help) for m in at.metric}
    assert metrics["leakage"] == ("1 / 5", ExampleRating.model_fields["leakage"].description)
    assert metrics["embodiment"] == ("1 / 5", ExampleRating.model_fields["embodiment"].description)
    assert any(m.startswith(":orange-badge[needs review]") for m in markdown(at))


def test_filters_that_do_not_apply_are_disabled_not_missing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_examples(project, 2)
    at = open_page("review", project, monkeypatch)
    # No score and no pattern picked: their range and level are in place, disabled (no hole in the grid).
    assert at.slider(key="f_range_examples").disabled and at.selectbox(key="f_level_examples").disabled
    at.selectbox(key="f_score_examples").select("embodiment").run()
    assert not at.slider(key="f_range_examples").disabled


def test_history_counts_its_events_in_words(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = plant_examples(project, 2)
    review(project.store, "sft_examples", ids[0], "note", reviewer="bob", note="tone <b>ok</b>")
    at = open_page("review", project, monkeypatch)
    assert "**History** · 1 event" in markdown(at)
    assert any(markdown_literal("bob · note · “tone <b>ok</b>”") in c.value for c in at.caption)  # escaped
    for note in ("again", "and again"):
        review(project.store, "sft_examples", ids[0], "note", reviewer="bob", note=note)
    at.run()
    assert "**History** · 3 events" in markdown(at)


def test_an_edited_row_shows_its_edit_as_a_word_diff(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = plant_examples(project, 2)
    copy = review(
        project.store, "sft_examples", ids[1], "edit", reviewer="ada", edits={"response": "Answer one, *kinder*."}
    )
    at = open_page("review", project, monkeypatch)
    at.multiselect(key="f_status_examples").set_value(["ok"]).run()
    marked = markdown(at)
    assert copy in marked[0]  # the edited copy is in focus
    diff = next(m for m in marked if "background" in m)
    assert diff == "Answer :red-background[~~1\\.~~]:green-background[one\\, \\*kinder\\*\\.]"
    assert any(f"edited from {ids[1]}" in plain(c.value) for c in at.caption)
    assert f"**Lineage** · Replaces {markdown_literal(ids[1])} :gray-badge[superseded]" in marked


def planted_evidence(project: Project, ids: list[str]) -> None:
    """An audit whose LLM pattern quotes ex-000's answer and whose lexical pattern is the phrase "answer zero"."""
    dataset = save_dataset(project, name="examples", source="sft", format="text",
                           rows=[DatasetRow(i, {"text": f"row {i}"}, f"row {i}") for i in ids])  # fmt: skip
    audit = start_audit(project, dataset.id)
    quoted = add_pattern(project, audit.id, "Opens with a verdict", "Starts with a verdict.", broad="A verdict.",
                         strict="A verdict first.")  # fmt: skip
    evidence = [{"row_id": ids[0], "quote": "plainly *wrong*", "verified": True}]
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audit_candidates (id, audit_id, scan, name, description, kind, evidence, generation_id)"
            " VALUES ('cand-1', ?, 0, 'verdict', 'verdict', 'rhetorical', ?, 'planted')",
            [audit.id, json.dumps(evidence)],
        )
        con.execute("UPDATE audit_patterns SET candidate_ids = '[\"cand-1\"]' WHERE id = ?", [quoted.id])
        rule = PhraseRule(type="ngram", words=("answer", "zero"))
        con.execute(
            "INSERT INTO audit_patterns (id, audit_id, name, description, kind, broad, strict, origin, scans,"
            " candidate_ids, status, rule) VALUES ('lex-1', ?, 'Says \"answer zero\"', 'd', 'rhetorical', 'b', 's',"
            " 'lexical', '[]', '[]', 'active', ?)",
            [audit.id, rule.model_dump_json()],
        )
    from workbench.audit.patterns import list_patterns

    text_hash = hashlib.sha256(f"row {ids[0]}".encode()).hexdigest()
    with project.store.transaction() as con:
        for pattern in list_patterns(project, audit.id):
            con.execute(
                "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                " VALUES (?, ?, ?, 'strict', 'planted')",
                [pattern.id, pattern.criteria_hash, text_hash],
            )


def test_pattern_evidence_is_highlighted_in_the_answer(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = plant_examples(project, 2, response="Answer, zero: this is plainly *wrong* <b>{i}</b>.")
    planted_evidence(project, ids)
    at = open_page("review", project, monkeypatch)
    answer = next(m for m in markdown(at) if "background" in m)
    # The quote and the phrase (case and punctuation ignored) are marked; the rest is literal text.
    assert answer.startswith(":orange-background[Answer\\, zero]")
    assert ":orange-background[plainly \\*wrong\\*]" in answer and markdown_literal("<b>0</b>") in answer
    assert "<b>" not in answer
    assert any("**Pattern hits** · 2 patterns present" in m for m in markdown(at))


def test_progress_counts_match_the_store_and_follow_decisions(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = plant_examples(project, 6)
    review_many(project.store, "sft_examples", ids[4:], "reject", reviewer="bob")
    review(project.store, "sft_examples", ids[3], "note", reviewer="bob", note="a note decides nothing")
    at = open_page("review", project, monkeypatch)
    assert progress_text(at) == "2 of 6 examples reviewed (33%) · 4 remaining · ada: 0, 0 this session"
    at.button(key="accept").click().run()
    at.button(key="accept").click().run()
    assert progress_text(at) == "4 of 6 examples reviewed (67%) · 2 remaining · ada: 2, 2 this session"
    decided = rows(project, "SELECT count(DISTINCT item_id) FROM review_events WHERE action IN ('accept', 'reject')")
    waiting = rows(project, "SELECT count(*) FROM sft_examples WHERE status = 'needs_review'")
    progress = review_progress(project, "examples", "ada")
    assert (progress.reviewed, progress.remaining, progress.by_reviewer) == (decided[0][0], waiting[0][0], 2)


def test_any_decision_in_the_history_can_be_undone_on_its_own(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = plant_examples(project, 4)
    at = open_page("review", project, monkeypatch)
    for _ in range(3):
        at.button(key="accept").click().run()
    assert "**Your decisions this session** (3 decisions)" in markdown(at)
    # Undo the oldest (not the latest): only its row goes back, the later decisions stand.
    at.button(key=f"undo_{batch_of(project, ids[0], 'accept')}").click().run()
    assert statuses(project) == {ids[0]: "needs_review", ids[1]: "ok", ids[2]: "ok", ids[3]: "needs_review"}
    assert [i.value for i in at.info] == ["Undone: 1 restored."]
    assert any("accept ex\\-000" in c.value and "*undone*" in c.value for c in at.caption)
    # Someone else decides on the latest row since: its undo leaves it as it is and says why.
    review(project.store, "sft_examples", ids[2], "reject", reviewer="bob")
    at.button(key="undo_last").click().run()
    assert statuses(project)[ids[2]] == "rejected"
    assert "bob decided 'reject' on it since" in at.info[0].value and "1 row kept as it is" in at.info[0].value
    # U now undoes the decision before it: the one on ex-001.
    at.button(key="undo_last").click().run()
    assert statuses(project)[ids[1]] == "needs_review"
