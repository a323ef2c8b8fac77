"""The Documents page's reading of one document: its plan and critique under labels, the draft against the rewrite.

    render_document(focus_item(project, "documents", doc_id))

The logic is in workbench.views.doc_view and workbench.views.documents; this only lays it out.
Generated text is shown with st.text, and the diff through `diff_markdown`, which escapes it.
"""

from __future__ import annotations

import streamlit as st

from workbench.views.doc_view import diff_markdown, diff_summary, labelled_fields, word_diff
from workbench.views.documents import BRAINSTORM_LABELS, CRITIQUE_LABELS, Pane, document_panes
from workbench.views.focus import FocusItem, Output
from workbench.views.literal import markdown_literal


def render_document(item: FocusItem) -> None:
    """The document's brainstorm, critique and draft → rewrite diff, each visible at once (no expanders)."""
    brainstorm, draft, critique, final = document_panes(item)
    plan, review = st.columns(2)
    with plan:
        _structured("Brainstorm", brainstorm, _step(item.answers, "brainstorm"), BRAINSTORM_LABELS)
    with review:
        _structured("Critique", critique, item.critique, CRITIQUE_LABELS)
    st.markdown("**Draft → rewrite**")
    written = _step(item.answers, "draft")
    if written is None or not written.text or not item.fields.get("text"):
        st.text(f"Draft: {draft.text}\nRewrite: {final.text}")  # nothing to compare yet
        return
    pieces = word_diff(written.text, final.text)
    st.caption(diff_summary(pieces) + " (struck on red: only in the draft; on green: only in the rewrite)")
    st.markdown(diff_markdown(pieces))


def _step(outputs: list[Output], step: str) -> Output | None:
    return next((o for o in outputs if o.step == step), None)


def _structured(title: str, pane: Pane, output: Output | None, labels: dict[str, str]) -> None:
    """A structured step field by field, or the pane's placeholder when it has no parsed output."""
    st.markdown(f"**{title}**")
    if output is None or output.parsed is None:
        st.text(pane.text)
        return
    for field in labelled_fields(output.parsed, labels):
        st.caption(markdown_literal(field.label))  # an unknown field shows its own name, which came from a model
        st.text(field.text)
