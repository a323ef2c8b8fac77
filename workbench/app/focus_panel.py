"""The focus view of the review pages: one row with everything a reviewer weighs, and the decision buttons.

Keyboard: A accept · X reject · E edit · N note / send back · J next · K previous · U undo the last
decision. Streamlit ignores these keys while the cursor is in a text box, so typing an edit or a
note never triggers them. Every text from the store is shown with st.text (never as Markdown/HTML).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.app.document_view import render_document
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import review_many
from workbench.views.focus import FocusItem, Output, focus_item
from workbench.views.literal import markdown_literal
from workbench.views.queue import SCORES, QueueFilter, queue_ids

LABELS = {
    "baseline": "Baseline (no system prompt)",
    "conditioned": "Conditioned (trait in the system prompt)",
    "refined": "Refined",
    "brainstorm": "Brainstorm",
    "draft": "Draft",
    "rejected": "Rejected answer",
    "rejected_check": "Check of the rejected answer",
}
FIELD_LABELS = {"scenario": "Scenario", "user_prompt": "User prompt", "response": "Response",
                "rejected": "Rejected answer", "text": "Document"}  # fmt: skip


def render_focus(project: Project, f: QueueFilter, position: int, total: int, item_id: str, reviewer: str) -> None:
    """The row at the reviewer's position in the filtered queue, its context and the decision buttons."""
    item = focus_item(project, f.stage, item_id)
    st.divider()
    st.subheader(f"{position + 1} of {total}")
    replaces = f" · replaces {item.parent_id}" if item.parent_id else ""
    st.caption(markdown_literal(f"{item.id} · {item.status} · {item.origin}{replaces}"))
    if item.reason:
        st.text(f"Reason: {item.reason}")  # a filter's scores or a reviewer's note: text, never Markdown
    if error := st.session_state.pop("focus_error", None):
        st.error(error)
    _buttons(project, f, item, reviewer)
    if st.session_state.get("editing") == item.id:
        _editor(project, f, item, reviewer)
    elif st.session_state.get("noting") == item.id:
        _note_form(project, f, item, reviewer)
    _content(item)


def remember_decision(stage: str, batch_id: str, summary: str) -> None:
    """Keep the latest decision on this stage so its page can offer to undo it."""
    st.session_state[f"last_decision_{stage}"] = {"batch_id": batch_id, "summary": summary}


def _decide(project: Project, f: QueueFilter, item_id: str, action: str, reviewer: str, **kwargs: Any) -> None:
    """Record one decision; move on when the row is still where it was in the queue."""
    try:
        batch = review_many(project.store, f.table, [item_id], action, reviewer=reviewer, **kwargs)
    except WorkbenchError as e:
        st.session_state["focus_error"] = str(e)
        return
    remember_decision(f.stage, batch.batch_id, f"{action} {item_id}")
    st.session_state["editing"] = st.session_state["noting"] = None
    key = f"pos_{f.stage}"
    if queue_ids(project, f, offset=st.session_state.get(key, 0), limit=1) == [item_id]:
        st.session_state[key] = st.session_state.get(key, 0) + 1


def _move(f: QueueFilter, step: int) -> None:
    key = f"pos_{f.stage}"
    st.session_state[key] = max(0, st.session_state.get(key, 0) + step)
    st.session_state["editing"] = st.session_state["noting"] = None


def _open(mode: str, item_id: str) -> None:
    st.session_state["editing" if mode == "edit" else "noting"] = item_id
    st.session_state["noting" if mode == "edit" else "editing"] = None


def _buttons(project: Project, f: QueueFilter, item: FocusItem, reviewer: str) -> None:
    cols = st.columns(6)
    decide = (project, f, item.id)
    cols[0].button("Accept", shortcut="A", type="primary", on_click=_decide, args=(*decide, "accept", reviewer),
                   key="accept", help="Accept (A)")  # fmt: skip
    cols[1].button("Reject", shortcut="X", on_click=_decide, args=(*decide, "reject", reviewer), key="reject",
                   help="Reject (X)")  # fmt: skip
    cols[2].button("Edit", shortcut="E", on_click=_open, args=("edit", item.id), key="edit", help="Edit (E)")
    cols[3].button("Note", shortcut="N", on_click=_open, args=("note", item.id), key="note",
                   help="Write a note, or send back for regeneration with it (N)")  # fmt: skip
    cols[4].button("Previous", shortcut="K", on_click=_move, args=(f, -1), key="previous", help="Previous (K)")
    cols[5].button("Next", shortcut="J", on_click=_move, args=(f, 1), key="next", help="Next (J)")


def _editor(project: Project, f: QueueFilter, item: FocusItem, reviewer: str) -> None:
    """Text areas for the editable fields; saving writes a new version and supersedes this one."""
    with st.form(f"edit_{item.id}"):
        values = {name: st.text_area(FIELD_LABELS.get(name, name), value or "", height=200, key=f"edit_{name}")
                  for name, value in item.fields.items() if value is not None}  # fmt: skip
        save, cancel = st.columns(2)
        if save.form_submit_button("Save edit", type="primary"):
            changed = {k: v for k, v in values.items() if v != (item.fields[k] or "")}
            if not changed:
                st.session_state["focus_error"] = "Nothing was changed; nothing was saved."
            else:
                _decide(project, f, item.id, "edit", reviewer, edits=changed)
            st.rerun()
        if cancel.form_submit_button("Cancel"):
            st.session_state["editing"] = None
            st.rerun()


def _note_form(project: Project, f: QueueFilter, item: FocusItem, reviewer: str) -> None:
    with st.form(f"note_{item.id}"):
        note = st.text_input("Note", key="note_text")
        save, back, cancel = st.columns(3)
        for column, label, action in ((save, "Save note", "note"), (back, "Send back with this note", "regenerate")):
            if column.form_submit_button(label):
                _decide(project, f, item.id, action, reviewer, note=note)
                st.rerun()
        if cancel.form_submit_button("Cancel"):
            st.session_state["noting"] = None
            st.rerun()


def _output(column: Any, output: Output) -> None:
    column.markdown(f"**{markdown_literal(LABELS.get(output.step, output.step))}**")
    column.caption(markdown_literal(f"{output.model} · {output.status}"))
    if output.reason:
        column.text(output.reason)
    if output.text is not None and output.step != "brainstorm":
        column.text(output.text)
    elif output.parsed is not None:
        column.json(output.parsed)
    if output.note:
        column.text(f"Reviewer's note in its prompt: {output.note}")
    if output.system_prompt:
        with column.expander("System prompt (stored beside the row, never exported)"):
            st.text(output.system_prompt)


def _content(item: FocusItem) -> None:
    if item.trait:
        with st.expander(f"Trait: {markdown_literal(item.trait)}"):
            st.text(item.trait_text or "")
    st.markdown("**Under review**")
    for name, value in item.fields.items():
        if value is not None:
            st.caption(FIELD_LABELS.get(name, name))
            st.text(value)
    if item.stage == "examples" and item.scenario:
        st.caption("Scenario")
        st.text(item.scenario)
    if item.stage == "documents":  # brainstorm and critique as labelled fields, draft → rewrite as a diff
        render_document(item)
    elif item.answers:
        st.markdown("**How it was made**")
        for column, output in zip(st.columns(len(item.answers)), item.answers, strict=True):
            _output(column, output)
    if item.critique is not None and item.stage != "documents":
        with st.expander("Critique"):
            _output(st.container(), item.critique)
    for output in item.rejected:
        with st.expander(markdown_literal(LABELS.get(output.step, output.step))):
            _output(st.container(), output)
    _verdicts(item)


def _verdicts(item: FocusItem) -> None:
    if item.scores:
        st.markdown("**Autorater**")
        for column, name in zip(st.columns(len(SCORES)), SCORES, strict=True):
            column.metric(name, item.scores.get(name, "–"))
        st.text(str(item.scores.get("reasons", "")))
    if item.hits:
        st.markdown("**Pattern hits**")
        st.dataframe(pd.DataFrame([{"pattern": h.name, "rated": h.level, "audit": h.audit_id[:8]} for h in item.hits]),
                     hide_index=True)  # fmt: skip
    if item.newer:
        st.caption(markdown_literal("Replaced by: " + ", ".join(f"{i} ({o}, {s})" for i, o, s in item.newer)))
    st.markdown(f"**History** ({len(item.events)} events)")
    if item.events:
        st.dataframe(pd.DataFrame([vars(e) for e in item.events]), hide_index=True)
