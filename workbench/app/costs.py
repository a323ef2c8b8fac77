"""Costs: what the model calls have cost, per stage, per model and per day."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state
from workbench.app.theme import table
from workbench.status import stage_spend
from workbench.views.costs import daily_figure, priced, spend_by_day, spend_by_model

project = current_project()
stages = stage_spend(project.store)  # the spend only: this page shows no row counts

st.title("Costs")
if not stages:
    empty_state("No model calls yet. Ask the generator role one question to see a call and its cost here:",
                command("llm", "ask", "Hello", "--role", "generator"))  # fmt: skip
    st.stop()

unpriced = sum(s.unpriced for s in stages)
cols = st.columns(5)
cols[0].metric("Spend (USD)", f"{sum(s.cost_usd for s in stages):.4f}")
cols[1].metric("Requests", sum(s.requests for s in stages))
cols[2].metric("Tokens in", sum(s.tokens_in for s in stages))
cols[3].metric("Tokens out", sum(s.tokens_out for s in stages))
cols[4].metric("Unpriced requests", unpriced)
if unpriced:
    st.warning(
        f"{unpriced} requests have token counts but no price, so the totals leave them out. "
        "Add their models under `[prices]` in workbench.toml."
    )

st.subheader("Per day, by stage")
days = spend_by_day(project)
if priced(days):
    st.plotly_chart(daily_figure(days), theme=None)
else:  # a chart of $0 bars says nothing; the requests and unpriced counts are above and in the tables
    st.info("No priced spend to chart yet: every request so far is free or has no price.")
with st.expander("Per day and stage, as a table"):
    table(pd.DataFrame([vars(d) for d in days]))

st.subheader("Per stage")
table(pd.DataFrame([vars(s) for s in stages]))

st.subheader("Per model")
table(pd.DataFrame([vars(m) for m in spend_by_model(project)]))
