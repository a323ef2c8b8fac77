"""Traits: the stored versions, the chunks of one version, and a diff between two."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.store.traits import diff_refs, list_versions, version_chunks

project = current_project()
versions = list_versions(project.store)

st.title("Traits documents")
if not versions:
    st.info("No traits documents yet. Add one with `workbench traits add data/traits/candid_care.md`.")
    st.stop()

refs = [v.ref for v in versions]
chosen = st.selectbox("Version", refs, index=len(refs) - 1)
version = versions[refs.index(chosen)]
st.caption(f"id {version.id} · {version.chunk_count} chunks · from {version.source_path or 'unknown'}")

chunks = version_chunks(project.store, version.id)
table = pd.DataFrame(
    [{"#": c.position, "kind": c.kind, "section": " › ".join(c.heading_path), "title": c.title, "line": c.line}
     for c in chunks]
)  # fmt: skip
st.dataframe(table, hide_index=True)
for chunk in chunks:
    with st.expander(f"{chunk.position}. {chunk.title}"):
        st.text(chunk.text)  # shown as text, never rendered as Markdown or HTML

st.subheader("Compare two versions")
if len(refs) < 2:
    st.caption("Add a second version of a document to compare versions.")
    st.stop()
left, right = st.columns(2)
old_ref = left.selectbox("Old", refs, index=len(refs) - 2)
new_ref = right.selectbox("New", refs, index=len(refs) - 1)
_, _, diff = diff_refs(project.store, old_ref, new_ref)
st.write(f"{len(diff.added)} added · {len(diff.removed)} removed · {len(diff.changed)} changed · "
         f"{diff.unchanged_count} unchanged")  # fmt: skip
for chunk in diff.added:
    st.text(f"+ {chunk.key}: {chunk.title}")
for chunk in diff.removed:
    st.text(f"- {chunk.key}: {chunk.title}")
for change in diff.changed:
    with st.expander(f"~ {change.key}"):
        old_col, new_col = st.columns(2)
        old_col.text(change.old.text)
        new_col.text(change.new.text)
