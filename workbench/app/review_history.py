"""The reviewer's decisions this session, newest first, each undoable on its own (U undoes the latest).

    remember_decision("examples", batch.batch_id, "accept ex-001", items=1)   # after every decision
    render_history(project, "examples", reviewer)                              # the list with its buttons

The history lives in `st.session_state` (it is this browser session's, not the store's: the store
keeps every event anyway). An undo goes through workbench.review_undo.undo_batch, so a row that
changed since the decision (someone reviewed it again, its edit was reviewed) is left as it is and
the message says which and why. An undone entry stays in the list, marked, so the list reads as
what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review_undo import UndoResult, undo_batch
from workbench.views.literal import markdown_literal

HISTORY = "review_history"
MESSAGE = "undo_message"
SHOWN = 8  # entries listed before the rest go into a scrolling box
SKIPS_SHOWN = 3  # rows named in an undo message that left some as they were


@dataclass(frozen=True)
class Decision:
    """One decision made on a review page this session.

    Attributes:
        batch_id: The review batch, which undo_batch() takes.
        stage: The stage it was made on.
        summary: What was decided, in words ("accept ex-001", "Reject: 12 examples").
        items: How many rows it covered.
        at: When it was made.
        undone: How its undo went ("undone", "undone in part", ...), once one ran.
    """

    batch_id: str
    stage: str
    summary: str
    items: int
    at: datetime
    undone: str | None = None


def plural(count: int, noun: str) -> str:
    """ "1 event", "3 events", "0 rows": a count with its noun."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def remember_decision(stage: str, batch_id: str, summary: str, items: int) -> None:
    """Add a decision to this session's history."""
    st.session_state.setdefault(HISTORY, []).append(Decision(batch_id, stage, summary, items, datetime.now()))


def decisions(stage: str) -> list[Decision]:
    """This session's decisions on `stage`, newest first."""
    return [d for d in reversed(st.session_state.get(HISTORY, [])) if d.stage == stage]


def decided_rows(stage: str) -> int:
    """Rows decided on `stage` this session (undone decisions not counted)."""
    return sum(d.items for d in decisions(stage) if d.undone is None)


def undo_message(result: UndoResult) -> str:
    """What an undo did, in one sentence: how many rows went back, and which stayed as they were and why."""
    message = f"Undone: {result.restored} restored"
    if not result.skipped:
        return message + "."
    named = "; ".join(f"{item}: {why}" for item, why in list(result.skipped.items())[:SKIPS_SHOWN])
    more = f"; and {len(result.skipped) - SKIPS_SHOWN} more" if len(result.skipped) > SKIPS_SHOWN else ""
    kept = f"{plural(len(result.skipped), 'row')} kept as {'it is' if len(result.skipped) == 1 else 'they are'}"
    return f"{message}; {kept}, changed since the decision ({named}{more})."


def undone_label(result: UndoResult) -> str:
    """How the history marks an entry once its undo ran."""
    if not result.skipped:
        return "undone"
    return "undone in part" if result.restored else "not undone: changed since"


def _undo(project: Project, batch_id: str, reviewer: str) -> None:
    """Undo one decision of the history (a button's callback, so the next run already shows the result)."""
    try:
        result = undo_batch(project.store, batch_id, reviewer=reviewer)
    except WorkbenchError as e:
        st.session_state[MESSAGE] = str(e)
        return
    st.session_state[MESSAGE] = undo_message(result)
    st.session_state[HISTORY] = [
        replace(d, undone=undone_label(result)) if d.batch_id == batch_id else d
        for d in st.session_state.get(HISTORY, [])
    ]


def render_history(project: Project, stage: str, reviewer: str) -> None:
    """The last undo's message, then this session's decisions with an Undo button each (U: the latest)."""
    if message := st.session_state.pop(MESSAGE, None):
        st.info(message)
    entries = decisions(stage)
    if not entries:
        return
    st.markdown(f"**Your decisions this session** ({plural(len(entries), 'decision')})")
    box = st.container(height=320) if len(entries) > SHOWN else st.container()
    latest = next((d.batch_id for d in entries if d.undone is None), None)
    for entry in entries:
        text, action = box.columns([5, 3], vertical_alignment="center")
        when = entry.at.strftime("%H:%M:%S")
        if entry.undone is not None:
            text.caption(markdown_literal(f"{when} · {entry.summary}") + f" · *{markdown_literal(entry.undone)}*")
            continue
        text.caption(markdown_literal(f"{when} · {entry.summary}"))
        is_latest = entry.batch_id == latest
        action.button(
            "Undo", key="undo_last" if is_latest else f"undo_{entry.batch_id}", shortcut="U" if is_latest else None,
            on_click=_undo, args=(project, entry.batch_id, reviewer),
            help="Undo the latest decision (U)" if is_latest else "Undo this decision",
        )  # fmt: skip
