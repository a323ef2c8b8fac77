"""The Evals page's panels: one run's sample list (paged, filtered) and one sample drilled into.

    samples_panel(project, summary)             # the run's spread (or why it has none), its samples, one opened
    show_sample(project, run_id, case_id, epoch)   # one sample: status, judges, transcript, rationale

A transcript is shown turn by turn, each labelled with its role; the judge's quoted evidence is
marked where it occurs (`highlighted_markdown`: escaped text, only our highlights are markup),
tool calls are shown as code, and quotes the judge gave that occur nowhere are listed apart, so
invented evidence shows. Everything from the store is shown as text.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from workbench.evals.base import suites
from workbench.evals.report import RunSummary
from workbench.project import Project
from workbench.views.eval_samples import (
    PAGE,
    SampleFilter,
    SampleRow,
    case_scores_figure,
    count_samples,
    judge_rows,
    sample_page,
    unscored_line,
)
from workbench.views.evals import Turn, highlighted_markdown, play_options, run_label, sample_view
from workbench.views.literal import markdown_literal
from workbench.views.style import status_badge

REASON_CHARS = 60  # a reason longer than this is cut in the list; the drill-down shows it whole
CHAT_ROLES = ("user", "assistant")  # st.chat_message's own avatars; other roles get the system one


def show_turn(turn: Turn) -> None:
    """One turn in a chat bubble, labelled with its role, then its notes (the sample sits in a column)."""
    with st.chat_message(turn.role if turn.role in CHAT_ROLES else "system"):
        st.text(" · ".join(part for part in (turn.role, turn.meta) if part))
        if any(s.quoted for s in turn.segments):
            st.markdown(highlighted_markdown(turn.segments))  # escaped: only the highlights are markup
        elif any(s.text for s in turn.segments):
            st.text("".join(s.text for s in turn.segments))
        for call in turn.calls:
            st.code(call, language=None)
    for note in turn.notes:
        st.caption(note.label)  # our own fixed label
        st.text(note.text)


def show_sample(project: Project, run_id: str, case_id: str, epoch: int = 0) -> None:
    """A sample's status and score (or why it has none), its judges, transcript, rationale and quotes."""
    view = sample_view(project, run_id, case_id, epoch)
    if view is None:
        st.info("This run has no sample for this case yet.")
        return
    st.markdown(f"{markdown_literal(case_id)} · epoch {epoch} {status_badge(view.status)}")
    if view.status == "ok":
        st.metric("Score", f"{view.score:g}" if view.score is not None else "none")
    else:
        st.warning(f"Not scored ({view.status}): counted apart, never averaged into the run's score.")
        st.text(view.reason or "no reason recorded")
    judges = judge_rows(view.scores)
    if len(judges) > 1 or any(j.failure for j in judges):  # a panel: each judge's own score
        st.dataframe(pd.DataFrame([vars(j) for j in judges]), hide_index=True)
    for turn in view.turns:
        show_turn(turn)
    st.markdown("**Judge's rationale** (the passages it quotes are highlighted in the transcript)")
    st.text(view.rationale or "none")
    if view.unmatched:
        st.caption("Quoted, not found in the transcript")
        for quote in view.unmatched:
            st.text(quote)
    with st.expander("Scores and details"):
        st.json(view.scores, expanded=False)
        st.json(view.details, expanded=False)


def _score_range(summary: RunSummary) -> tuple[float, float]:
    """The run's suite's score range (0-1 for a suite this version does not know, say an imported one)."""
    suite = suites().get(summary.suite)
    low, high = suite.score_range if suite else (0.0, 1.0)
    return float(low), float(high)


def _filter(summary: RunSummary) -> SampleFilter:
    """The list's filters: statuses, and a score range that only bounds the scores when narrowed."""
    statuses = st.multiselect("Status", sorted(summary.counts), key=f"status-{summary.run_id}",
                              placeholder="every status")  # fmt: skip
    low, high = _score_range(summary)
    if high <= low:
        return SampleFilter(tuple(statuses))
    at_least, at_most = st.slider("Score", low, high, (low, high), key=f"score-{summary.run_id}")
    return SampleFilter(tuple(statuses), at_least if at_least > low else None, at_most if at_most < high else None)


def _table(rows: list[SampleRow]) -> str:
    """A page of samples as a Markdown table: every value escaped, the status as its badge."""
    several = any(r.epoch for r in rows)  # a one-epoch run lists its cases as they are
    lines = ["| case | status | score | judges' scores | reason |", "|---|---|---|---|---|"]
    for r in rows:
        reason = " ".join((r.reason or "").split())
        reason = reason if len(reason) <= REASON_CHARS else f"{reason[:REASON_CHARS]}…"
        score = "" if r.score is None else f"{r.score:g}"
        case = markdown_literal(f"{r.case_id} · epoch {r.epoch}" if several else r.case_id)
        cells = [case, status_badge(r.status), score, markdown_literal(r.judges), markdown_literal(reason)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def samples_panel(project: Project, summary: RunSummary) -> None:
    """A run's case scores (or the sentence saying why it has none) beside the list's filters; then its
    samples a page at a time, with the one picked drilled into beside them (master and detail side by side,
    so the transcript is not below 25 rows)."""
    spread, filters = st.columns([3, 2])
    with spread:
        unscored = unscored_line(project, summary)
        if unscored:  # a sentence, never an empty chart: an unscored run was not measured at 0
            st.warning(f"{run_label(summary)}: {unscored}")
        else:
            st.plotly_chart(case_scores_figure(summary, _score_range(summary)), theme=None,
                            key=f"spread-{summary.run_id}")  # fmt: skip
    with filters:
        f = _filter(summary)
        total = count_samples(project, summary.run_id, f)
        pages = max(1, math.ceil(total / PAGE))
        page = st.number_input("Page", 1, pages, 1, key=f"page-{summary.run_id}-{f}") if pages > 1 else 1
    if not total:
        st.info("No sample of this run matches these filters.")
        return
    rows = sample_page(project, summary.run_id, f, offset=(int(page) - 1) * PAGE)
    listed, detail = st.columns(2, gap="medium")
    with listed:
        plays = play_options(rows)
        picked = plays[st.selectbox("Open sample", list(plays), key=f"open-{summary.run_id}-{f}-{page}")]
        matches = "1 sample matches" if total == 1 else f"{total} samples match"
        st.caption(f"{matches} · page {page} of {pages}, {PAGE} a page")
        st.markdown(_table(rows))
    with detail:
        show_sample(project, summary.run_id, *picked)
