"""Datasets: audit datasets with their lineage, and training datasets with their composition and export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state, traits_name
from workbench.app.theme import table
from workbench.datasets.build import SPLITS, train_dataset_entries
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.datasets import (
    Composition,
    audit_dataset_jsonl,
    audit_dataset_lineage,
    composition_figure,
    dataset_composition,
    export_to_project,
    manifest_summary,
    train_dataset_summaries,
)

PREVIEW_ROWS = 3


def audit_datasets(project: Project) -> None:
    st.subheader("Audit datasets")
    lineage = audit_dataset_lineage(project)
    if not lineage:
        empty_state("No audit datasets yet. Freeze the accepted SFT rows as one (or import a JSONL file with "
                    "workbench audit import):", command("audit", "snapshot", "sft"))  # fmt: skip
        return
    table(pd.DataFrame([vars(d) for d in lineage]))
    by_id = {d.id: d for d in lineage}
    chosen = st.selectbox("Audit dataset", list(by_id), format_func=lambda i: f"{by_id[i].name} · {i[:12]}")
    # The JSONL is made only when the button is pressed: a dataset may hold 100,000 rows.
    st.download_button("Download JSONL", data=lambda: audit_dataset_jsonl(project, chosen),
                       file_name=f"audit-dataset-{chosen[:12]}.jsonl", mime="application/jsonl")  # fmt: skip


def composition_section(composition: Composition) -> None:
    fraction, origins = composition.synthetic_fraction(), composition.by_origin()
    cols = st.columns(4)
    cols[0].metric("Rows", composition.total())
    cols[1].metric("Synthetic rows", origins.get("synthetic", 0))
    cols[2].metric("Baseline rows", origins.get("baseline", 0))
    cols[3].metric("Synthetic fraction", f"{fraction:.1%}" if fraction is not None else "–")
    rows, chart = st.columns(2)
    with rows:
        table(pd.DataFrame([{"origin": r.origin, "trait": r.trait or "(baseline)", "traits version": r.traits_version,
                             "train": r.train, "validation": r.validation} for r in composition.rows]))  # fmt: skip
    chart.plotly_chart(composition_figure(composition), theme=None)
    versions = composition.by_traits_version()
    if versions:
        table(pd.DataFrame({"traits version": list(versions), "synthetic rows": list(versions.values())}))


def train_datasets(project: Project) -> None:
    st.subheader("Training datasets")
    summaries = train_dataset_summaries(project)
    if not summaries:
        empty_state("No training datasets yet. Build one from the accepted SFT rows:",
                    command("dataset", "build", f"{traits_name(project)}-sft", "--kind", "sft"))  # fmt: skip
        return
    table(pd.DataFrame([{**vars(s), "recipe": str(s.recipe)} for s in summaries]))
    by_id = {s.id: s for s in summaries}
    chosen = st.selectbox("Training dataset", list(by_id), format_func=lambda i: f"{by_id[i].name} · {i[:12]}")
    st.markdown("**Composition**")
    manifest = manifest_summary(project, chosen)
    if manifest["baseline"]:
        st.text(f"Baseline: {manifest['baseline']['origin']} ({manifest['baseline']['used']} rows used)")
    composition_section(dataset_composition(project, chosen))
    with st.expander("Manifest"):
        st.json(manifest)
    st.markdown("**Preview**")
    split = st.radio("Split", SPLITS, horizontal=True)
    for row in train_dataset_entries(project, chosen, split, PREVIEW_ROWS):
        st.text(f"{row.split} #{row.position} · {row.origin} · source {row.source_id or '-'}")
        st.json(row.record)
    if st.button("Export to the project folder", key="export"):
        try:
            files = export_to_project(project, chosen)
        except WorkbenchError as e:
            st.error(str(e))
            return
        st.success("Exported:")
        st.code("\n".join(str(p) for p in files.all()), language=None)


project = current_project()
st.title("Datasets")
audit_datasets(project)
train_datasets(project)
