"""Evals: scores per suite and model with intervals, paired comparisons, transcripts, and two models side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, traits_first, traits_name
from workbench.evals.report import RunSummary, compare_runs, comparison_figure, list_runs, scores_figure
from workbench.views.eval_scores import interval_caption
from workbench.views.evals import (
    Turn,
    highlighted_markdown,
    play_options,
    run_cases,
    run_label,
    sample_view,
    score_rows,
    shared_cases,
)

project = current_project()
summaries = list_runs(project)
by_id = {s.run_id: s for s in summaries}

st.title("Evals")
if not summaries:
    empty_state("No eval runs yet. Run the knowledge suite on the project's target model, judged against a "
                "traits document:", *traits_first(project),
                command("eval", "run", "--suite", "knowledge", "--model", project.config.roles["target"],
                        "--traits", traits_name(project)))  # fmt: skip
    st.stop()


def label(run_id: str) -> str:
    """A run as the pickers list it (option labels are shown as plain text)."""
    return run_label(by_id[run_id])


def show_turn(turn: Turn, *, beside: bool) -> None:
    """One turn in a chat bubble; its notes in a column beside it, or under it when space is short."""
    body, side = st.columns([3, 2]) if beside and turn.notes else (st.container(), st.container())
    with body, st.chat_message(turn.role if turn.role in ("user", "assistant") else "system"):
        st.text(" · ".join(part for part in (turn.role, turn.meta) if part))
        if any(s.quoted for s in turn.segments):
            st.markdown(highlighted_markdown(turn.segments))  # escaped: only the highlights are markup
        else:
            st.text(turn.content)
    with side:
        for note in turn.notes:
            st.caption(note.label)  # our own fixed label
            st.text(note.text)


def show_sample(run_id: str, case_id: str, *, beside: bool, epoch: int = 0) -> None:
    """A sample's score (or why it has none), transcript, the judge's rationale and what it quoted."""
    view = sample_view(project, run_id, case_id, epoch)
    if view is None:
        st.info("This run has no sample for this case yet.")
        return
    if view.status == "ok":
        st.metric("Score", f"{view.score:g}" if view.score is not None else "none")
    else:
        st.warning(f"Not scored ({view.status}): counted apart, never averaged into the run's score.")
        st.text(view.reason or "no reason recorded")
    for turn in view.turns:
        show_turn(turn, beside=beside)
    st.markdown("**Judge's rationale** (the passages it quotes are highlighted in the transcript)")
    st.text(view.rationale or "none")
    if view.unmatched:
        st.caption("Quotes the judge gave that are not in the transcript")
        for quote in view.unmatched:
            st.text(quote)
    with st.expander("Scores and details"):
        st.json(view.scores, expanded=False)
        st.json(view.details, expanded=False)


scores_tab, compare_tab, transcript_tab = st.tabs(["Scores", "Compare two runs", "Transcript"])


def unscored_line(summary: RunSummary) -> str:
    """Why a run has no score: its samples by status, or that it has none yet."""
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts.items()) if n) or "no samples yet"
    return f"{label(summary.run_id)}: {counts}"


with scores_tab:
    unscored = [s for s in summaries if s.score.mean is None]
    if unscored:  # shown as text, never as a 0 bar: an unscored run was not measured at 0
        st.warning("These runs have no scored sample, so they have no bar: every sample is invalid or the judge "
                   "failed on it (each sample's reason is on the Transcript tab).")  # fmt: skip
        st.text("\n".join(unscored_line(s) for s in unscored))
    if len(unscored) < len(summaries):
        st.plotly_chart(scores_figure(summaries), key="scores")
    st.dataframe(pd.DataFrame([vars(r) for r in score_rows(summaries)]), hide_index=True)
    st.caption("Only ok samples are averaged (95% bootstrap interval over cases); invalid samples and judge "
               "failures are counted beside the score.")  # fmt: skip

with compare_tab:
    suites = sorted({s.suite for s in summaries if sum(o.suite == s.suite for o in summaries) > 1})
    if not suites:
        first = summaries[0]
        other = next((m for m in (project.config.roles[r] for r in ("baseline", "target")) if m != first.model),
                     project.config.roles["baseline"])  # fmt: skip
        empty_state("Comparing needs two runs of one suite. Run the latest run's suite on a second model:",
                    command("eval", "run", "--suite", first.suite, "--model", other))  # fmt: skip
    else:
        suite = st.selectbox("Suite", suites)
        ids = [s.run_id for s in summaries if s.suite == suite]
        run_a = st.selectbox("Run A", ids, index=0, format_func=label)
        run_b = st.selectbox("Run B", ids, index=1, format_func=label)
        comparison = compare_runs(project, run_a, run_b)
        d = comparison.difference
        st.metric("A − B, paired over the cases both scored", "n/a" if d.mean is None else f"{d.mean:+.3g}")
        st.text(interval_caption(d))
        st.plotly_chart(comparison_figure(comparison), key="comparison")
        st.subheader("Side by side on one case")
        cases = shared_cases(project, run_a, run_b)
        if not cases:
            st.info("These runs share no case.")
        else:
            case = st.selectbox("Case", cases, key="side_case")
            for column, run_id in zip(st.columns(2), (run_a, run_b), strict=True):
                with column:
                    st.text(label(run_id))
                    show_sample(run_id, case, beside=False)

with transcript_tab:
    run_id = st.selectbox("Run", [s.run_id for s in summaries], format_func=label, key="transcript_run")
    rows = run_cases(project, run_id)
    st.dataframe(pd.DataFrame([vars(r) for r in rows]), hide_index=True)
    if rows:
        plays = play_options(rows)
        case, epoch = plays[st.selectbox("Case", list(plays), key="case")]
        show_sample(run_id, case, beside=True, epoch=epoch)
