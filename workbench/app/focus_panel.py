"""The review card's head: where the row is in the queue, its status, the decision buttons and their forms.

    render_focus(project, f, position, total, item_id, reviewer)   # the header, the buttons, then the card body

Keyboard: A accept · X reject · E edit · N note / send back · J next · K previous (U, undo the
latest decision, is on the history's button: workbench.app.review_history). Streamlit ignores
these keys while the cursor is in a text box, so typing an edit or a note never triggers them.
The body of the card (text, scores, hits, lineage, history) is workbench.app.review_card's.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.app.review_card import FIELD_LABELS, render_card
from workbench.app.review_history import remember_decision
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import review_many
from workbench.views.focus import FocusItem, focus_item
from workbench.views.literal import markdown_literal
from workbench.views.queue import QueueFilter, queue_ids
from workbench.views.style import status_badge


def render_focus(project: Project, f: QueueFilter, position: int, total: int, item_id: str, reviewer: str) -> None:
    """The row at the reviewer's position in the filtered queue, its context and the decision buttons."""
    item = focus_item(project, f.stage, item_id)
    st.subheader(f"{position + 1} of {total}")
    trait = f" · {markdown_literal(item.trait)}" if item.trait else ""
    st.markdown(f"{status_badge(item.status)} {markdown_literal(f'{item.id} · {item.origin}')}{trait}")
    if error := st.session_state.pop("focus_error", None):
        st.error(error)
    _buttons(project, f, item, reviewer)
    if item.reason:
        st.text(f"Reason: {item.reason}")  # a filter's scores or a reviewer's note: text, never Markdown
    if st.session_state.get("editing") == item.id:
        _editor(project, f, item, reviewer)
    elif st.session_state.get("noting") == item.id:
        _note_form(project, f, item, reviewer)
    render_card(item)


def _decide(project: Project, f: QueueFilter, item_id: str, action: str, reviewer: str, **kwargs: Any) -> None:
    """Record one decision; move on when the row is still where it was in the queue.

    A button's callback runs before the rerun's store session (app.py), so it opens its own: the
    decision and the position check share one connection instead of opening the store twice.
    """
    with project.store.session():
        try:
            batch = review_many(project.store, f.table, [item_id], action, reviewer=reviewer, **kwargs)
        except WorkbenchError as e:
            st.session_state["focus_error"] = str(e)
            return
        remember_decision(f.stage, batch.batch_id, f"{action} {item_id}", items=1)
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
    cols = st.columns(6, gap="small")
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
