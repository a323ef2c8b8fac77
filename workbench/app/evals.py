"""Evals: scores per run with intervals, each run's samples and transcripts, paired comparisons, pattern rates.

Tabs: Scores (every run, only ok samples averaged); Samples (one run's samples paged in SQL,
filterable by status and score, each drillable into its transcript with the judge's quotes
marked); Compare two runs (per-case paired differences with the mean's interval, the cases that
differ most, each drillable); Pattern rates (a patterns-suite run's outputs beside its training
data's rates). A run with no scored sample gets a sentence saying why, never an empty chart.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, traits_first, traits_name
from workbench.app.eval_panels import samples_panel, show_sample
from workbench.audit.audits import list_audits
from workbench.evals.report import compare_runs, list_runs, scores_figure
from workbench.views.eval_pairs import case_differences, differences_figure
from workbench.views.eval_patterns import output_and_data_rates, pattern_runs, rate_rows, rates_figure, run_audit
from workbench.views.eval_samples import unscored_line
from workbench.views.eval_scores import interval_caption
from workbench.views.evals import comparable_suites, run_label, score_rows, shared_cases
from workbench.views.style import themed

MOST_DIFFERENT = 10  # cases listed in the comparison's table

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


def scores() -> None:
    """Every run's score with its interval; runs with no scored sample named with why."""
    unscored = [(s, line) for s in summaries if (line := unscored_line(project, s))]
    if unscored:  # shown as text, never as a 0 bar: an unscored run was not measured at 0
        st.warning("These runs have no scored sample, so they have no bar (each sample's reason is on the "
                   "Samples tab).")  # fmt: skip
        st.text("\n".join(f"{run_label(s)}: {line}" for s, line in unscored))
    if len(unscored) < len(summaries):
        st.plotly_chart(themed(scores_figure(summaries)), theme=None, key="scores")
    st.dataframe(pd.DataFrame([vars(r) for r in score_rows(summaries)]), hide_index=True)
    st.caption("Only ok samples are averaged (95% bootstrap interval over cases); invalid samples and judge "
               "failures are counted beside the score.")  # fmt: skip


def samples() -> None:
    """One run's samples a page at a time, and the one picked drilled into."""
    samples_panel(project, by_id[st.selectbox("Run", list(by_id), format_func=label, key="samples_run")])


def compare() -> None:
    """Two runs of one suite, paired case by case; the cases that differ most, drillable."""
    suites = comparable_suites(summaries)
    if not suites:
        first = summaries[0]
        other = next((m for m in (project.config.roles[r] for r in ("baseline", "target")) if m != first.model),
                     project.config.roles["baseline"])  # fmt: skip
        empty_state("Comparing needs two runs of one suite. Run the latest run's suite on a second model:",
                    command("eval", "run", "--suite", first.suite, "--model", other))  # fmt: skip
        return
    suite = st.selectbox("Suite", suites)
    ids = [s.run_id for s in summaries if s.suite == suite]
    a_col, b_col = st.columns(2)
    run_a = a_col.selectbox("Run A", ids, index=0, format_func=label)
    run_b = b_col.selectbox("Run B", ids, index=1, format_func=label)
    if run_a == run_b:
        st.info("Run A and run B are the same run: pick two runs to compare.")
        return
    comparison = compare_runs(project, run_a, run_b)
    d = comparison.difference
    st.metric("A − B, paired over the cases both scored", "n/a" if d.mean is None else f"{d.mean:+.3g}")
    st.text(interval_caption(d))
    differences = case_differences(comparison)
    if differences:
        st.plotly_chart(differences_figure(comparison), theme=None, key="comparison")
        st.markdown("**Cases that differ most**")
        top = [{"case": r.case_id, "A": r.a, "B": r.b, "A − B": r.difference} for r in differences[:MOST_DIFFERENT]]
        st.dataframe(pd.DataFrame(top), hide_index=True)
    else:
        st.info("These runs share no scored case, so there is no paired difference to draw.")
    cases = list(dict.fromkeys([*(r.case_id for r in differences), *shared_cases(project, run_a, run_b)]))
    if not cases:
        st.info("These runs share no case.")
    else:
        case = st.selectbox("Open case (most different first)", cases, key="side_case")
        for column, shown_run in zip(st.columns(2), (run_a, run_b), strict=True):
            with column:
                st.text(label(shown_run))
                show_sample(project, shown_run, case)


def pattern_rates() -> None:
    """A patterns run's rates in the model's answers beside the training data's."""
    runs = pattern_runs(summaries)
    audits = list_audits(project)
    if not audits:
        empty_state("No pattern audit yet, so there are no data rates to set a model's outputs beside; audit "
                    "the training data:", command("audit", "snapshot", "sft"),
                    command("audit", "run", "sft"))  # fmt: skip
    elif not runs:
        empty_state("No patterns run yet: measure the audit's patterns in a trained model's answers:",
                    command("eval", "run", "--suite", "patterns", "--model", project.config.roles["target"],
                            "--set", f"audit={audits[0].id}"))  # fmt: skip
    else:
        chosen = by_id[st.selectbox("Patterns run", [s.run_id for s in runs], format_func=label, key="pattern_run")]
        audit_id = run_audit(project, chosen.run_id)
        rates = output_and_data_rates(project, chosen, audit_id) if audit_id else []
        if not audit_id or not rates:
            st.info("This run has no rated answer yet, so it has no pattern rates.")
        else:
            st.caption(f"Strict rate per pattern in the training data (audit {audit_id[:8]}) and in the answers "
                       "of the run's model, each with its 95% Wilson interval.")  # fmt: skip
            st.plotly_chart(rates_figure(rates), theme=None, key="pattern_rates")
            st.dataframe(pd.DataFrame(rate_rows(rates)), hide_index=True)


TABS = {"Scores": scores, "Samples": samples, "Compare two runs": compare, "Pattern rates": pattern_rates}
# Only the open tab runs (a rerun costs one tab's queries and figures, not four), and the open tab is in
# the URL (?tab=Samples), so a tab can be linked to and survives a reload.
for tab, draw in zip(st.tabs(list(TABS), key="tab", bind="query-params"), TABS.values(), strict=True):
    if tab.open:
        with tab:
            draw()
