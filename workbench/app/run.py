"""Run: start each stage of the method in the background, its projection first, then follow or stop it.

A tab per stage (SFT data, documents, audit, dataset build, training, eval) builds the stage's
`workbench` command from its fields (`workbench.views.job_plans`), shows what it would do and cost,
the command itself beside Start, and asks to confirm before anything starts. Only the open tab
runs; `?stage=Audit` in the URL opens that one, so a reload keeps it. The jobs above the
tabs are read from the store (workbench/jobs.py), so they, their progress and their Stop buttons
survive a reload; each job is a `workbench` process of its own that goes on when the page closes.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state
from workbench.app.job_panel import jobs_panel, plan_form
from workbench.audit.datasets import list_datasets
from workbench.datasets.build import list_train_datasets
from workbench.errors import WorkbenchError
from workbench.evals.base import suites
from workbench.project import Project
from workbench.store.traits import list_versions
from workbench.train.config import METHODS
from workbench.train.launch import default_base_model
from workbench.views.job_plans import (
    JobPlan,
    audit_plan,
    batched,
    dataset_plan,
    docs_plan,
    eval_plan,
    sft_plan,
    train_plan,
)
from workbench.views.literal import markdown_literal
from workbench.views.overview import EXAMPLE_TRAITS

PILOT, FULL = "Pilot", "Full run"
BATCH_HELP = ("Send the calls through the provider's batch API (Gemini, or an OpenAI-compatible provider with "
              "batches): half the price, answers within 24 hours. The job submits each step's calls, waits for "
              "them, and goes on; `workbench batch status` shows where they stand.")  # fmt: skip
STAGE_PARAM = "stage"  # the URL query parameter naming the open tab


def _show(project: Project, make: Callable[[], JobPlan], label: str, *, batchable: bool = False) -> None:
    """The plan's form, or, when there is nothing to plan from yet, why and what to do (the CLI's own words).

    A stage whose calls can go through a provider's batch API (`batchable`) gets a switch for it.
    """
    try:
        plan = make()
    except WorkbenchError as e:
        st.info(markdown_literal(e.message))
        if e.hint:
            st.caption(markdown_literal(e.hint))
        return
    if batchable and st.toggle("Batch API", key=f"batch-{plan.kind}", help=BATCH_HELP):
        plan = batched(plan)
    plan_form(project, plan, label=label)


def _traits(project: Project, key: str) -> str | None:
    refs = [v.ref for v in list_versions(project.store)]
    if not refs:
        empty_state("No traits document yet. Add one first:", command("traits", "add", EXAMPLE_TRAITS))
        return None
    return st.selectbox("Traits version", refs, key=key)


def pipeline_tab(project: Project, kind: str) -> None:
    """The SFT or documents pipeline: a pilot (K per trait) or a full run projected from the pilot."""
    traits, what, how_many = st.columns(3)
    with traits:
        ref = _traits(project, f"{kind}-traits")
    if ref is None:
        return
    mode = what.radio("What to run", [PILOT, FULL], horizontal=True, key=f"{kind}-mode")
    unit = "scenarios per trait" if kind == "sft" else "documents per trait and type"
    default = project.config.sft.scenarios_per_chunk if kind == "sft" else project.config.docs.per_type
    first = 2 if mode == PILOT else default
    size = int(how_many.number_input(unit.capitalize(), 1, 10_000, first, key=f"{kind}-{mode}"))
    plan = sft_plan if kind == "sft" else docs_plan
    if mode == PILOT:
        _show(project, lambda: plan(project, ref, pilot=size), "Start the pilot", batchable=True)
    elif kind == "sft":
        _show(project, lambda: sft_plan(project, ref, scenarios=size), "Start the run", batchable=True)
    else:
        _show(project, lambda: docs_plan(project, ref, per_type=size), "Start the run", batchable=True)


def audit_tab(project: Project) -> None:
    datasets = {d.id: d for d in list_datasets(project)}
    if not datasets:
        empty_state(
            "No dataset to audit yet. Freeze the accepted SFT examples as one:", command("audit", "snapshot", "sft")
        )
        return
    which, how = st.columns(2)
    chosen = which.selectbox(
        "Dataset", list(datasets), key="audit-dataset",
        format_func=lambda i: f"{datasets[i].name} ({datasets[i].row_count} rows, {i[:8]})",
    )  # fmt: skip
    about = "lexical: exact counts, no model call; llm: scan, cluster and rate with the rater."
    scanner = how.radio("Scanner", ["lexical", "llm"], horizontal=True, key="audit-scanner", help=about)
    _show(project, lambda: audit_plan(project, chosen, scanner), "Start the audit", batchable=scanner == "llm")


def dataset_tab(project: Project) -> None:
    refs = [v.ref for v in list_versions(project.store)]
    left, middle, right = st.columns(3)
    kind = left.selectbox("Kind", ["sft", "preference", "midtrain"], key="dataset-kind")
    traits = middle.selectbox("Traits version", ["(all)", *refs], key="dataset-traits")
    name = right.text_input("Name", f"{kind}-data", key="dataset-name").strip()
    ref = None if traits == "(all)" else traits
    _show(project, lambda: dataset_plan(project, name, kind, ref), "Build it")


def train_tab(project: Project) -> None:
    datasets = list_train_datasets(project)
    if not datasets:
        empty_state("No training dataset yet. Build one from the accepted SFT examples:",
                    command("dataset", "build", "sft-data", "--kind", "sft"))  # fmt: skip
        return
    first, second = st.columns(2), st.columns(2)
    method = first[0].selectbox("Method", list(METHODS), key="train-method")
    ids = [d.id for d in datasets]
    names = {d.id: f"{d.name} ({d.kind}, {d.train_rows} train rows)" for d in datasets}
    dataset = first[1].selectbox("Dataset", ids, format_func=names.__getitem__, key="train-dataset")
    base = second[0].text_input("Base model", default_base_model(project, method, dataset), key=f"train-base-{method}")
    steps = int(second[1].number_input("Max steps (0: from the epochs)", 0, 1_000_000, 0, key="train-steps"))
    if not base.strip():
        st.info("Name a base model: a hub name, a model folder or checkpoint:ID.")
        return
    _show(project, lambda: train_plan(project, method, dataset, base.strip(), steps), "Start training")


def eval_tab(project: Project) -> None:
    first, second = st.columns(2), st.columns(2)
    suite = first[0].selectbox("Suite", sorted(suites()), key="eval-suite")
    target = project.config.roles.get("target", "")
    model = first[1].text_input("Model (spec)", target, key="eval-model",
                                help="gemini:…, openai:…@URL, hf:PATH or a checkpoint's folder.").strip()  # fmt: skip
    limit = int(second[0].number_input("Cases (the first N)", 1, 100_000, 5, key="eval-limit"))
    refs = [v.ref for v in list_versions(project.store)]
    traits = second[1].selectbox("Traits document (judged against)", ["(none)", *refs], key="eval-traits")
    if not model:
        st.info("Name the model to evaluate (its spec).")
        return
    ref = None if traits == "(none)" else traits
    _show(project, lambda: eval_plan(project, suite, model, limit=limit, traits_ref=ref), "Start the eval",
          batchable=True)  # fmt: skip


project = current_project()
st.title("Run")
st.caption(
    "Start a stage in the background: what it would do and cost comes first, then a confirm. Jobs keep running "
    "when the page closes; their progress survives a reload. Each command beside a button does the same in a shell."
)
st.subheader("Jobs")
jobs_panel(project)
st.subheader("Start")
# Only the open tab runs (each projects from the store); the tab is in the URL, so a reload keeps it.
tabs = {"SFT data": lambda: pipeline_tab(project, "sft"), "Documents": lambda: pipeline_tab(project, "docs"),
        "Audit": lambda: audit_tab(project), "Dataset": lambda: dataset_tab(project),
        "Training": lambda: train_tab(project), "Eval": lambda: eval_tab(project)}  # fmt: skip
for tab, show in zip(st.tabs(list(tabs), key=STAGE_PARAM, bind="query-params"), tabs.values(), strict=True):
    if tab.open:
        with tab:
            show()
