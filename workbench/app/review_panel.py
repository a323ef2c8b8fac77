"""The review page shared by Review and Documents: the card on top, progress, history, filters, bulk, the queue.

    render_review(["examples", "scenarios"], title="Review")

At 1400×900 the card of the row in focus, with its buttons and its answer, is above the fold in
the wide left column; the side column holds progress (reviewed / remaining, by you and by all),
this session's decisions (each undoable), the filters and the bulk action; the queue table is
below. State lives in `st.session_state` (the reviewer's place in the queue, a pending bulk
decision, the history); every read and write goes through workbench.views and workbench.review.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, traits_first, traits_name
from workbench.app.focus_panel import render_focus
from workbench.app.review_history import decided_rows, remember_decision, render_history
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import default_reviewer
from workbench.views.literal import markdown_literal
from workbench.views.queue import (
    SCORES,
    QueueFilter,
    QueueRow,
    Stage,
    count_queue,
    counted_page,
    queue_options,
    review_queue,
)
from workbench.views.review_progress import progress_line, review_progress

PAGE_SIZE = 50
# What makes rows for each stage, after what it needs first (scenarios must be accepted before examples).
FILL = {
    "scenarios": ("Generate a pilot of scenarios:", ("sft", "run", "--pilot", "5")),
    "examples": ("Examples are written for accepted scenarios: generate scenarios, accept some on this page, then run "
                 "the same command again.", ("sft", "run")),
    "documents": ("Generate a pilot of midtraining documents:", ("docs", "run", "--pilot", "2")),
}  # fmt: skip
CARD_AND_SIDE = [5, 2.4]  # the card gets the width; the side column holds progress, history, filters, bulk
BULK_ACTIONS = {"accept": "Accept", "reject": "Reject", "regenerate": "Send back for regeneration", "note": "Note"}


def render_review(stages: list[Stage], title: str) -> None:
    """The whole review page for `stages` (a choice among them when there are several).

    The card (the row in focus and its buttons) takes the wide left column, at the top; progress,
    this session's decisions, the filters and the bulk action take the narrow right one; the queue
    table comes below both.
    """
    project = current_project()
    st.title(title)
    reviewer = st.sidebar.text_input("Reviewer", value=default_reviewer(), key="reviewer").strip()
    card, side = st.columns(CARD_AND_SIDE, gap="medium")
    stage: Stage = stages[0]
    if len(stages) > 1:
        stage = side.radio("Stage", stages, horizontal=True, key="review_stage", format_func=str.capitalize)
    options = queue_options(project, stage)
    if not options.statuses:
        sentence, args = FILL[stage]
        fill = command(args[0], args[1], traits_name(project), *args[2:])
        with card:
            empty_state(f"No {stage} to review yet. {sentence} Or load the hand-written demo set.",
                        *traits_first(project), fill, command("demo", "load"))  # fmt: skip
        return
    with side:
        progress = review_progress(project, stage, reviewer)
        st.progress(progress.share, text=markdown_literal(progress_line(progress, reviewer, decided_rows(stage))))
        render_history(project, stage, reviewer)
        f = _filters(stage, options)
        start = (max(0, st.session_state.get(f"pos_{stage}", 0)) // PAGE_SIZE) * PAGE_SIZE
        try:  # the count and the page holding the reviewer's position, from one evaluation of the filter
            total, page = counted_page(project, f, offset=start, limit=PAGE_SIZE)
        except WorkbenchError as e:
            st.error(str(e))
            return
        _bulk(project, f, total, reviewer)
    if total == 0:
        card.info("No rows match these filters.")
        return
    _queue_and_card(project, f, (total, start, page), reviewer, card)


def _queue_and_card(
    project: Project, f: QueueFilter, counted: tuple[int, int, list[QueueRow]], reviewer: str, card: Any
) -> None:
    """The page of the queue holding the reviewer's position (below), and the card of the row there (top left)."""
    total, start, page = counted
    key = f"pos_{f.stage}"
    if not page:  # the position is past the end (its rows were decided, here or by someone else): go to the last
        st.session_state[key] = total - 1
        st.rerun()
    _queue_table(f, page, start, total)
    # The focused row is on the page just read, so the focus view needs no query of its own to find it.
    position = max(start, min(st.session_state.get(key, 0), start + len(page) - 1))
    st.session_state[key] = position
    with card:
        render_focus(project, f, position, total, page[position - start].id, reviewer)


def _filters(stage: Stage, options: Any) -> QueueFilter:
    """The filters, two to a row in the side column; a filter that does not apply now is shown disabled, not hidden,
    so the grid never has a hole and nothing moves when a score or a pattern is picked."""
    with st.expander("Filters", expanded=True):
        default_status = ["needs_review"] if "needs_review" in options.statuses else []
        key = f"f_status_{stage}"
        # The browser sends back an option's label, so labels must not change between reruns: a count in
        # the label (it changes with every decision) made the selection vanish. Counts go in a caption.
        # A chosen status stays an option when its last row leaves it (a bulk accept empties needs_review).
        counts = {s: options.statuses.get(s, 0) for s in sorted({*options.statuses, *st.session_state.get(key, [])})}
        statuses = st.multiselect("Status", list(counts), default=default_status, key=key)
        st.caption(" · ".join(f"{status}: {n}" for status, n in counts.items()))
        c1, c2 = st.columns(2)
        chunks = dict(options.chunks)
        chunk = c1.selectbox(
            "Trait", [None, *chunks], format_func=lambda c: chunks.get(c, "all"), key=f"f_chunk_{stage}"
        )
        reviewers = ["(anyone)", "(not reviewed yet)", *options.reviewers]
        who = c2.selectbox("Reviewer", reviewers, key=f"f_reviewer_{stage}")
        c3, c4 = st.columns(2)
        scored = stage != "scenarios"
        score = c3.selectbox(
            "Score",
            [None, *SCORES],
            format_func=lambda s: s or "any",
            key=f"f_score_{stage}",
            disabled=not scored,
            help=None if scored else "Scenarios have no autorater scores.",
        )
        low, high = c4.slider("Range", 1, 5, (1, 5), key=f"f_range_{stage}", disabled=not score)
        c5, c6 = st.columns(2)
        patterns = dict(options.patterns)
        pattern = c5.selectbox(
            "Pattern", [None, *patterns], format_func=lambda p: patterns.get(p, "any"), key=f"f_pattern_{stage}"
        )
        level = c6.selectbox("Rated", ["broad", "strict", "absent"], key=f"f_level_{stage}", disabled=not pattern)
        search = st.text_input("Text contains", key=f"f_search_{stage}")
    return QueueFilter(
        stage=stage, statuses=tuple(statuses), chunk_id=chunk, score=score,
        score_min=low if score else None, score_max=high if score else None,
        pattern_id=pattern, pattern_level=level,  # type: ignore[arg-type]
        reviewer=None if who.startswith("(") else who, unreviewed=who == "(not reviewed yet)", search=search or None,
    )  # fmt: skip


def _bulk(project: Project, f: QueueFilter, total: int, reviewer: str) -> None:
    """A decision over every row the filter selects: pick, see the count, confirm."""
    with st.expander(f"Bulk action over all {total} matching {f.stage}"):
        action = st.selectbox("Action", list(BULK_ACTIONS), format_func=BULK_ACTIONS.__getitem__, key="bulk_action")
        note = st.text_input("Note (required to send back or note)", key="bulk_note")
        pending = st.session_state.get("bulk_pending")
        if pending is None or pending["filter"] != f:
            if st.button(f"{BULK_ACTIONS[action]} all {total}…", disabled=total == 0, key="bulk_start"):
                st.session_state["bulk_pending"] = {"filter": f, "action": action, "count": total}
                st.rerun()
            return
        st.warning(f"{BULK_ACTIONS[pending['action']]}: all {pending['count']} {f.stage} matching the"
                   " filters. You can undo it afterwards.")  # fmt: skip
        if note:
            st.text(f"With the note: {note}")
        yes, no = st.columns(2)
        if yes.button(f"Confirm: {pending['action']} {pending['count']}", type="primary", key="bulk_confirm"):
            st.session_state.pop("bulk_pending")
            if count_queue(project, f) != pending["count"]:
                st.error("The matching rows changed since you asked (someone else is reviewing?). Look and ask again.")
                return
            try:
                batch = review_queue(project, f, pending["action"], reviewer=reviewer, note=note or None)
            except WorkbenchError as e:
                st.error(str(e))
                return
            count = len(batch.current_ids)
            remember_decision(f.stage, batch.batch_id, f"{BULK_ACTIONS[batch.action]}: {count} {f.stage}", items=count)
            st.rerun()
        if no.button("Cancel", key="bulk_cancel"):
            st.session_state.pop("bulk_pending")
            st.rerun()


def _queue_table(f: QueueFilter, page: list[QueueRow], start: int, total: int) -> None:
    """The page of the queue that holds the focused row; selecting a row focuses it."""
    table = pd.DataFrame(
        [{"#": start + i + 1, "status": r.status, "trait": r.trait, "text": r.preview, "origin": r.origin,
          **{s: (r.scores or {}).get(s) for s in SCORES if f.stage != "scenarios"}, "id": r.id}
         for i, r in enumerate(page)]
    )  # fmt: skip
    st.caption(f"{total} {f.stage} match · showing {start + 1}–{start + len(page)}")
    picked = st.dataframe(
        table, hide_index=True, on_select="rerun", selection_mode="single-row", key=f"queue_{f.stage}_{start}"
    )
    # The selection outlives reruns, so only a *new* selection moves the focus (Next/Previous move it too).
    rows = picked.selection.rows if picked else []
    chosen = start + rows[0] if rows else None
    if chosen is not None and chosen != st.session_state.get(f"picked_{f.stage}"):
        st.session_state[f"pos_{f.stage}"] = chosen
    st.session_state[f"picked_{f.stage}"] = chosen
