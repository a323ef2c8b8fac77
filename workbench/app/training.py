"""Training: runs, live metric charts of one run, its config and its checkpoints; a midtraining run whose base
looks post-trained is flagged, with why (`workbench/train/defaults.py`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, hub_name, traits_name
from workbench.app.theme import table
from workbench.runs import mark_interrupted
from workbench.train.defaults import base_model_warning
from workbench.train.tracking import list_checkpoints, run_metrics
from workbench.views.literal import markdown_literal
from workbench.views.style import status_badge
from workbench.views.training import (
    TrainRun,
    get_train_run,
    list_train_runs,
    metric_figures,
    refresh_every,
)

project = current_project()
mark_interrupted(project.store)  # a killed training process would otherwise look live (and refresh) forever
runs = list_train_runs(project)

st.title("Training")
if not runs:
    docs = f"{traits_name(project)}-docs"
    empty_state(
        "No training runs yet. Build a midtraining dataset from the accepted documents, then midtrain the baseline "
        "model on it; an SFT run then continues from the midtrained checkpoint.",
        command("dataset", "build", docs, "--kind", "midtrain"),
        command("train", "midtrain", "--dataset", docs, "--base-model", hub_name(project.config.roles["baseline"])),
    )
    st.stop()

columns = ["id", "method", "dataset", "base_model", "backend", "status", "last_step", "started_at", "finished_at"]
table(pd.DataFrame([vars(r) for r in runs])[columns])

ids = [r.id for r in runs]
chosen = st.selectbox("Run", ids, format_func=lambda i: f"{i} ({runs[ids.index(i)].status})")
run = runs[ids.index(chosen)]
described = (f"{run.method} on {run.dataset or run.dataset_id} from {run.base_model} with {run.backend}; "
             f"output in {run.output_dir}")  # fmt: skip
st.markdown(f"{status_badge(run.status)} {markdown_literal(described)}")  # names from the store: made literal
if warning := base_model_warning(project, run.method, run.base_model):  # a finished run too: its results need it
    st.warning(warning)
if run.error:
    st.error("The run failed:")
    st.code(run.error, language=None)


@st.fragment(run_every=refresh_every(run.status))
def charts(shown: TrainRun) -> None:
    """The run's charts, redrawn from the store on a timer while it runs (only this part reruns)."""
    if refresh_every(shown.status):
        st.caption(f"Live: redrawn every {refresh_every(shown.status):.0f} s while the run is running.")
    figures = metric_figures(run_metrics(project, shown.id))
    if not figures:
        st.info("No metrics logged yet: they appear every `logging_steps` steps once the trainer starts.")
    grid = st.columns(2)
    for i, (name, figure) in enumerate(figures):
        with grid[i % 2]:
            st.plotly_chart(figure, theme=None, key=f"chart-{name}")
    if get_train_run(project, shown.id).status != shown.status:
        st.rerun()  # the run has ended: rerun the page so its status, checkpoints and timer update


st.subheader("Metrics")
charts(run)

st.subheader("Config")
st.json(run.config, expanded=False)

st.subheader("Checkpoints")
checkpoints = list_checkpoints(project, run.id)
if checkpoints:
    table(pd.DataFrame([c.model_dump(exclude={"manifest"}) for c in checkpoints]))
else:
    st.info("No checkpoints yet: a run registers one every `save_steps` steps and at its end.")
