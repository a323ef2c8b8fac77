"""Traits: add a document (preview, tick traits), browse stored versions, and diff two versions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state
from workbench.app.traits_add import add_section
from workbench.project import Project
from workbench.store.traits import diff_refs, list_versions, version_chunks
from workbench.traits import Chunk
from workbench.views.literal import markdown_literal
from workbench.views.overview import EXAMPLE_TRAITS
from workbench.views.traits_preview import chunk_summary


def _chunk_table(chunks: list[Chunk]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"#": c.position, "kind": c.kind, "section": " › ".join(c.heading_path), "title": c.title, "line": c.line}
         for c in chunks],
        columns=["#", "kind", "section", "title", "line"],
    )  # fmt: skip


def _version_view(chunks: list[Chunk]) -> None:
    """Counts, the chunk table (boundaries apart) and one chunk's text at a time."""
    summary = chunk_summary(chunks)
    st.text(summary.counts_line)
    with st.expander("Traits per top-level heading"):
        st.dataframe(pd.DataFrame(summary.traits_by_heading, columns=["heading", "traits"]), hide_index=True)
    st.dataframe(_chunk_table([c for c in chunks if c.kind != "boundary"]), hide_index=True)
    boundaries = [c for c in chunks if c.kind == "boundary"]
    if boundaries:
        st.subheader(f"Boundaries ({len(boundaries)}): never instilled; the critic checks them")
        st.dataframe(_chunk_table(boundaries), hide_index=True)
    # One chunk's text at a time: a 150-trait document would otherwise be 150 expanders.
    label = "Read a chunk"
    shown = st.selectbox(label, chunks, format_func=lambda c: f"{c.position}. {c.kind}: {c.title}", key="traits_read")
    if shown is not None:
        st.text(shown.text)  # shown as text, never rendered as Markdown or HTML


def _diff_view(project: Project, refs: list[str]) -> None:
    st.subheader("Compare two versions")
    if len(refs) < 2:
        st.caption("Add a second version of a document to compare versions.")
        return
    left, right = st.columns(2)
    old_ref = left.selectbox("Old", refs, index=len(refs) - 2, key="traits_diff_old")
    new_ref = right.selectbox("New", refs, index=len(refs) - 1, key="traits_diff_new")
    _, _, diff = diff_refs(project.store, old_ref, new_ref)
    st.write(f"{len(diff.added)} added · {len(diff.removed)} removed · {len(diff.changed)} changed · "
             f"{diff.unchanged_count} unchanged")  # fmt: skip
    for chunk in diff.added:
        st.text(f"+ {chunk.key}: {chunk.title}")
    for chunk in diff.removed:
        st.text(f"- {chunk.key}: {chunk.title}")
    for change in diff.changed:
        with st.expander(f"~ {markdown_literal(change.key)}"):
            old_col, new_col = st.columns(2)
            old_col.text(change.old.text)
            new_col.text(change.new.text)


project = current_project()
versions = list_versions(project.store)

st.title("Traits documents")
browse, add = st.tabs(["Versions", "Add a document"])
with add:
    add_section(project)
with browse:
    if not versions:
        empty_state("No traits documents yet. Add one in the next tab, or add the example document:",
                    command("traits", "add", EXAMPLE_TRAITS))  # fmt: skip
    else:
        refs = [v.ref for v in versions]
        chosen = st.selectbox("Version", refs, index=len(refs) - 1, key="traits_version")
        version = versions[refs.index(chosen)]
        where = f"read as {version.format} · from {version.source_path or '?'}"
        st.text(f"id {version.id} · {version.chunk_count} chunks · {where}")
        _version_view(version_chunks(project.store, version.id))
        _diff_view(project, refs)
