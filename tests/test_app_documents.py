"""The Documents page's reading of a document: labelled brainstorm, visible critique, the draft → rewrite diff.

The pure functions (workbench/views/doc_view.py) are tested directly; the Streamlit layout
(workbench/app/document_view.py) under Streamlit's test runner, on documents a pilot of the fake
model wrote.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.sft_setup import rows
from workbench.generate.docs_pipeline import run_docs
from workbench.project import Project
from workbench.views.doc_view import DiffPiece, diff_markdown, diff_summary, labelled_fields, word_diff
from workbench.views.documents import BRAINSTORM_LABELS

PLAN = {"how": ["names the odds", "says no"], "what": "flags the risk", "why": "facts first",
        "why_enters_text": "observer", "people": [], "mood": "dry"}  # fmt: skip


def _shown(markdown: str) -> str:
    """What a reader sees of `diff_markdown`'s output once Markdown has done its work: escapes and marks gone."""
    text = re.sub(r":(red|green)-background\[(?:~~)?(.*?)(?:~~)?\]", r"\2", markdown.replace("  \n", "\n"))
    return re.sub(r"\\(.)", r"\1", text).replace("\u00a0", " ").replace("\u2060", "")


def test_brainstorm_fields_get_readable_labels_in_schema_order_then_unknown_ones_by_name() -> None:
    fields = labelled_fields(PLAN, BRAINSTORM_LABELS)
    assert [(f.label, f.text) for f in fields] == [
        ("What", "flags the risk"), ("How", "- names the odds\n- says no"), ("Why", "facts first"),
        ("How the why enters the text", "observer"), ("People", "(none)"), ("mood", "dry"),
    ]  # fmt: skip


def test_word_diff_marks_deleted_and_inserted_words_and_keeps_the_rest() -> None:
    pieces = word_diff("The nurse said no firmly.\nThen left.", "The nurse said no gently.\nThen left.")
    assert pieces == [
        DiffPiece("same", "The nurse said no "), DiffPiece("deleted", "firmly."),
        DiffPiece("inserted", "gently."), DiffPiece("same", "\nThen left."),
    ]  # fmt: skip
    assert diff_summary(pieces) == "6 words kept · 1 deleted · 1 inserted"
    assert word_diff("same text", "same text") == [DiffPiece("same", "same text")]


def test_diff_markdown_marks_changes_and_shows_generated_markup_literally() -> None:
    pieces = word_diff("keep <b>old</b> end", "keep **new** end\nnext line")
    md = diff_markdown(pieces)
    assert ":red-background[~~" in md and ":green-background[" in md
    deleted = re.search(r":red-background\[~~(.*?)~~\]", md)
    inserted = re.search(r":green-background\[(.*?)\]", md)
    assert deleted and inserted
    # The markup a model wrote is escaped: no raw tag, no bold, and a reader sees exactly its characters.
    assert "<b>" not in md and "**new**" not in md
    assert _shown(deleted.group(1)) == "<b>old</b>" and _shown(inserted.group(1)) == "**new**"
    assert "keep" in md and "next line" in md


def test_a_change_over_several_lines_is_marked_line_by_line() -> None:
    md = diff_markdown([DiffPiece("inserted", "one two\nthree ")])
    assert md == ":green-background[one two]  \n:green-background[three] "


DOCUMENT_VIEW = """
import os
from workbench.app.document_view import render_document
from workbench.project import load_project
from workbench.views.focus import focus_item

project = load_project(os.environ["WORKBENCH_PROJECT"])
render_document(focus_item(project, "documents", os.environ["DOC_ID"]))
"""


@pytest.fixture
def written(docs_project: Project, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The document view of the first document a pilot wrote, after its first run."""
    asyncio.run(run_docs(docs_project, "test"))
    doc_id = rows(docs_project, "SELECT id FROM documents WHERE status = 'needs_review' ORDER BY id LIMIT 1")[0][0]
    monkeypatch.setenv("WORKBENCH_PROJECT", str(docs_project.root))
    monkeypatch.setenv("DOC_ID", doc_id)
    return AppTest.from_string(DOCUMENT_VIEW, default_timeout=60).run()


def test_document_view_shows_labelled_brainstorm_critique_and_diff(written: AppTest) -> None:
    assert not written.exception
    captions = [c.value for c in written.caption]
    assert {"What", "How", "Why", "How the why enters the text"} <= set(captions)
    assert {"Verdict", "Reasons"} <= set(captions), "the critique is laid out field by field"
    assert not written.expander, "nothing is collapsed away"
    assert any("deleted" in c and "inserted" in c for c in captions)
    assert any(":green-background[" in m.value or ":red-background[" in m.value for m in written.markdown)
