"""The Review and Documents pages under Streamlit's test runner: decisions, bulk actions with undo, literal text."""

from __future__ import annotations

import asyncio

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows
from workbench.generate.docs_pipeline import run_docs
from workbench.project import Project
from workbench.views.literal import markdown_literal

PAYLOAD = '<script>alert("x")</script><b>bold</b>'


@pytest.fixture(autouse=True)
def _reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_REVIEWER", "ada")


def shown_text(at: object) -> list[str]:
    return [t.value for t in at.text]  # type: ignore[attr-defined]


def test_empty_review_page_says_which_command_fills_it(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("review", project, monkeypatch)
    assert not at.exception
    assert [c.value for c in at.code] == ["workbench traits add data/traits/candid_care.md",
                                          "workbench sft run candid_care", "workbench demo load"]  # fmt: skip


def test_accept_records_an_event_and_moves_to_the_next(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = plant_examples(project, 3, response=PAYLOAD + " {i}")
    at = open_page("review", project, monkeypatch)
    assert not at.exception
    assert at.subheader[0].value == "1 of 3"
    # The HTML in the response is shown as text, verbatim, and never reaches Markdown.
    assert PAYLOAD + " 0" in shown_text(at)
    assert all("<script>" not in m.value for m in at.markdown)
    at.button(key="accept").click().run()
    assert statuses(project)[ids[0]] == "ok"
    assert rows(project, "SELECT item_id, action, reviewer FROM review_events") == [(ids[0], "accept", "ada")]
    # The accepted row left the needs_review queue: the next one is in focus.
    assert at.subheader[0].value == "1 of 2" and PAYLOAD + " 1" in shown_text(at)
    # Undo puts it back.
    at.button(key="undo_last").click().run()
    assert statuses(project)[ids[0]] == "needs_review" and at.subheader[0].value == "1 of 3"
    assert [i.value for i in at.info] == ["Undone: 1 restored."]


def test_next_previous_edit_and_note(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = plant_examples(project, 3)
    at = open_page("review", project, monkeypatch)
    at.button(key="next").click().run()
    assert at.subheader[0].value == "2 of 3" and "Answer 1." in shown_text(at)
    at.button(key="edit").click().run()
    at.text_area(key="edit_response").input("A better answer.")  # a form: sent with its submit button
    at.button[[b.label for b in at.button].index("Save edit")].click().run()
    assert not at.exception
    edited = rows(project, "SELECT id, parent_id, origin, status FROM sft_examples WHERE parent_id = ?", ids[1])
    assert edited and edited[0][2:] == ("edited", "ok") and statuses(project)[ids[1]] == "superseded"
    assert rows(project, "SELECT response FROM sft_examples WHERE id = ?", edited[0][0]) == [("A better answer.",)]
    # Now in focus: the next waiting row (ex-002); send it back with a note.
    at.button(key="note").click().run()
    at.text_input(key="note_text").input("more concrete, please")
    at.button[[b.label for b in at.button].index("Send back with this note")].click().run()
    assert statuses(project)[ids[2]] == "sent_back"
    assert rows(project, "SELECT note FROM review_events WHERE action = 'regenerate'") == [("more concrete, please",)]
    at.button(key="previous").click().run()
    assert "Answer 0." in shown_text(at)


def test_bulk_action_over_the_filter_with_confirmation_and_undo(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = plant_examples(project, 10)
    at = open_page("review", project, monkeypatch)
    at.selectbox(key="f_score_examples").select("embodiment").run()
    at.slider(key="f_range_examples").set_range(1, 2).run()
    low = [x for i, x in enumerate(ids) if i % 5 in (0, 1)]
    assert at.subheader[0].value == f"1 of {len(low)}"
    at.selectbox(key="bulk_action").select("reject").run()
    at.button(key="bulk_start").click().run()
    assert any(f"all {len(low)} examples" in w.value for w in at.warning)
    assert set(statuses(project).values()) == {"needs_review"}, "nothing happens before the confirmation"
    at.button(key="bulk_confirm").click().run()
    assert {i for i, s in statuses(project).items() if s == "rejected"} == set(low)
    # The bulk action is in this session's decisions, with an Undo of its own (U: the latest).
    assert any(markdown_literal(f"Reject: {len(low)} examples") in c.value for c in at.caption)
    at.button(key="undo_last").click().run()
    assert set(statuses(project).values()) == {"needs_review"}
    assert rows(project, "SELECT count(*) FROM review_events WHERE action = 'undo'") == [(len(low),)]


def test_documents_page_shows_brainstorm_draft_and_critique(
    docs_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(run_docs(docs_project, "test"))
    waiting = rows(docs_project, "SELECT count(*) FROM documents WHERE status = 'needs_review'")[0][0]
    assert waiting > 0
    at = open_page("documents", docs_project, monkeypatch)
    assert not at.exception
    bold = [m.value for m in at.markdown]
    assert "**Brainstorm**" in bold and "**Draft → rewrite**" in bold
    labels = [c.value for c in at.caption]
    assert "What" in labels and "Verdict" in labels  # brainstorm and critique field by field, not as JSON
    assert not any(e.label == "Critique" for e in at.expander)  # the critique is shown, not collapsed
    assert at.subheader[0].value == f"1 of {waiting}"
    at.button(key="reject").click().run()
    assert rows(docs_project, "SELECT count(*) FROM documents WHERE status = 'rejected'") == [(1,)]


def _send_status_labels(at: AppTest, labels: list[str]) -> None:
    """Set the Status filter as the browser does: it sends back the labels it showed for the chosen options."""
    at.multiselect(key="f_status_examples").set_value(labels)


def test_status_filter_keeps_its_selection_through_decisions_and_undo(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_examples(project, 4)
    at = open_page("review", project, monkeypatch)
    shown = list(at.multiselect(key="f_status_examples").values)  # the labels on screen for ["needs_review"]
    for focus, answer in (("1 of 3", "Answer 1."), ("1 of 2", "Answer 2.")):
        at.button(key="accept").click()
        _send_status_labels(at, shown)
        at.run()
        # The filter still holds needs_review, so the next waiting row is in focus, not an accepted one.
        assert at.multiselect(key="f_status_examples").value == ["needs_review"]
        assert at.subheader[0].value == focus and answer in shown_text(at)
    at.button(key="undo_last").click()
    _send_status_labels(at, shown)
    at.run()
    assert at.multiselect(key="f_status_examples").value == ["needs_review"]
    assert at.subheader[0].value == "1 of 3" and "Answer 1." in shown_text(at)


def test_status_filter_survives_a_bulk_action_that_empties_its_status(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_examples(project, 3)
    at = open_page("review", project, monkeypatch)
    at.button(key="bulk_start").click().run()
    at.button(key="bulk_confirm").click()
    _send_status_labels(at, list(at.multiselect(key="f_status_examples").values))
    at.run()
    assert set(statuses(project).values()) == {"ok"}
    # No row waits any more: the queue says so instead of dropping the filter and showing the accepted rows.
    assert at.multiselect(key="f_status_examples").value == ["needs_review"]
    assert "No rows match these filters." in [i.value for i in at.info] and not at.subheader
