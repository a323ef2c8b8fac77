"""Overview: what the project holds and what it has cost so far."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.status import project_status

project = current_project()
summary = project_status(project.store)

st.title("Overview")
cols = st.columns(4)
cols[0].metric("Traits documents", len(summary.traits))
cols[1].metric("Model requests", sum(s.requests for s in summary.spend))
cols[2].metric("Spend (USD)", f"{sum(s.cost_usd for s in summary.spend):.4f}")
cols[3].metric("Cached answers", summary.cached_answers)

st.subheader("Traits documents")
if summary.traits:
    st.dataframe(pd.DataFrame([vars(t) for t in summary.traits]), hide_index=True)
else:
    st.info("No traits documents yet. Add one with `workbench traits add data/traits/candid_care.md`.")

st.subheader("Model calls by stage")
if summary.spend:
    st.dataframe(pd.DataFrame([vars(s) for s in summary.spend]), hide_index=True)
else:
    st.info('No model calls yet. Try `workbench llm ask "Hello" --role generator`.')
