"""workbench/views/documents.py: a document's four stages as plain text, from its focus item.

The notebook's test cells check the panes against a real pilot; these cover the cases a pilot of
the fake model does not produce: a failed step, a step not reached, an edited text, a wrong row.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from workbench.views.documents import Pane, document_panes, structured_text
from workbench.views.focus import FocusItem, Output

PLAN = {"what": "flags the risk", "how": ["names odds", "says no"], "why": "facts first",
        "why_enters_text": "observer", "people": [], "extra": 3}  # fmt: skip


def _output(step: str, **kw: Any) -> Output:
    fields: dict[str, Any] = {"model": "m", "status": "ok", "reason": None, "text": None, "parsed": None,
                              "system_prompt": None, "note": None, "id": f"g-{step}"}  # fmt: skip
    return Output(step=step, **(fields | kw))


def _item(**kw: Any) -> FocusItem:
    fields: dict[str, Any] = {
        "stage": "documents", "table": "documents", "id": "d1", "status": "needs_review", "reason": None,
        "origin": "generated", "parent_id": None, "fields": {"text": "The final text."}, "trait": "T",
        "trait_text": "t", "scenario": None, "critique": None, "answers": [], "rejected": [], "scores": None,
        "hits": [], "events": [], "newer": [],
    }  # fmt: skip
    return FocusItem(**(fields | kw))


def test_structured_text_follows_the_labels_then_the_rest() -> None:
    text = structured_text(PLAN, {"what": "What", "how": "How", "why_enters_text": "How the why enters the text"})
    assert text.split("\n") == [
        "What: flags the risk", "How:", "- names odds", "- says no", "How the why enters the text: observer",
        "why: facts first", "people: (none)", "extra: 3",
    ]  # fmt: skip


def test_panes_lay_out_each_stage_in_pipeline_order() -> None:
    item = _item(
        answers=[_output("brainstorm", parsed=PLAN), _output("draft", text="DRAFT words")],
        critique=_output("critique", parsed={"reasons": "too tidy", "tropes": ["epiphany"]}),
    )
    brainstorm, draft, critique, final = document_panes(item)
    assert brainstorm.label == "Brainstorm" and brainstorm.generation_id == "g-brainstorm"
    assert (
        "What: flags the risk\nHow:\n- names odds" in brainstorm.text
        and "How the why enters the text: observer" in (brainstorm.text)
    )
    assert draft == Pane("Draft", "DRAFT words", "g-draft", "ok")
    assert critique.text == "Tropes:\n- epiphany\nReasons: too tidy"
    assert final == Pane("Final text", "The final text.", None, "needs_review")


def test_a_failed_step_and_the_steps_after_it_say_so() -> None:
    refused = _output("draft", status="refused", reason="safety")
    item = _item(answers=[_output("brainstorm", parsed=PLAN), refused], status="refused", reason="draft: safety",
                 fields={"text": None})  # fmt: skip
    _, draft, critique, final = document_panes(item)
    assert draft.text == "(refused: safety)" and draft.status == "refused"
    assert (critique.text, critique.generation_id, critique.status) == ("(not written yet)", None, "missing")
    assert final.text == "(refused: draft: safety)"


def test_only_documents_have_panes() -> None:
    with pytest.raises(ValueError, match="sft_examples"):
        document_panes(replace(_item(), stage="examples", table="sft_examples"))
