"""Overview: what the project holds, what it has cost against each budget, its latest runs, and what to do next.

Runs whose process died are marked `interrupted` first, so they do not show as running.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, traits_name
from workbench.app.theme import table
from workbench.identity import identity_line, identity_warnings
from workbench.runs import mark_interrupted
from workbench.status import project_status
from workbench.views.costs import spend_by_model
from workbench.views.literal import markdown_literal
from workbench.views.overview import PILOT, latest_runs, next_steps, status_rows
from workbench.views.runs import budget_rows

project = current_project()
mark_interrupted(project.store)
summary = project_status(project.store)
rows = status_rows(summary)
pilot = command("sft", "run", traits_name(project), "--pilot", str(PILOT))  # what the empty states below suggest

st.title("Overview")
cols = st.columns(5)
cols[0].metric("Traits documents", len(summary.traits))
cols[1].metric("Awaiting review", sum(r.rows for r in rows if r.status == "needs_review"))
cols[2].metric("Model requests", sum(s.requests for s in summary.spend))
cols[3].metric("Spend (USD)", f"{sum(s.cost_usd for s in summary.spend):.4f}")
cols[4].metric("Cached answers", summary.cached_answers)
st.caption(markdown_literal(f"Documents describe {identity_line(project.config)}"))
for warning in identity_warnings(project):
    st.warning(markdown_literal(warning))  # names from the config and the baseline data: shown literally

st.subheader("What to do next")
steps = next_steps(project, summary)
for step in steps:  # one row per step: what to do beside the command that does it
    said, run = st.columns([2, 3], vertical_alignment="center")
    said.info(step.text)  # fixed words and numbers only; names from the store are in the command
    if step.command:
        run.code(step.command, language="bash", wrap_lines=True)
if not steps:
    st.success("Every stage has data. Compare runs on the Evals page.")

st.subheader("Traits documents")
if summary.traits:
    table(pd.DataFrame([vars(t) for t in summary.traits]))
else:
    st.info("No traits documents yet: the first step under What to do next adds one.")  # its command is there

st.subheader("Rows by stage and status")
if rows:
    table(pd.DataFrame([vars(r) for r in rows]))
else:
    empty_state("No generated rows yet. Generate a pilot of SFT data:", pilot)

st.subheader("Spend")
if summary.spend:
    by_stage, by_model = st.columns(2)
    with by_stage:
        st.caption("By stage")
        table(pd.DataFrame([vars(s) for s in summary.spend]))
    with by_model:
        st.caption("By model")
        table(pd.DataFrame([vars(m) for m in spend_by_model(project)]))
else:
    empty_state("No model calls yet. Ask the generator role one question:",
                command("llm", "ask", "Hello", "--role", "generator"))  # fmt: skip
if summary.budgets:
    st.caption("Budgets by piece of work: spend over all its runs against its cap")
    table(pd.DataFrame(budget_rows(summary.budgets)))

st.subheader("Latest runs")
runs = latest_runs(project, limit=10)
if runs:
    table(pd.DataFrame([vars(r) for r in runs]))
else:
    empty_state("No runs yet. Generation, training and eval runs appear here, starting with a pilot:", pilot)
