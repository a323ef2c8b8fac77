"""Patterns: an audit's prevalence per pattern, each pattern's examples and criteria, and filtering by them."""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state
from workbench.audit.filters import Level
from workbench.audit.funnel import no_patterns_line
from workbench.audit.patterns import Pattern, add_pattern, edit_pattern, remove_pattern
from workbench.audit.prevalence import audit_report
from workbench.audit.schemas import PatternKind
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.patterns import (
    AuditChoice,
    ExampleRow,
    audit_choices,
    audit_status,
    build_filtered_dataset,
    pattern_examples,
    prevalence_figure,
    prevalence_rows,
)

KINDS: list[PatternKind] = ["behavioural", "rhetorical", "structural"]
NOTICE = "patterns_notice"


def name_of(choice: AuditChoice) -> str:
    return choice.dataset.name if choice.dataset else "(dataset missing)"


def show_examples(title: str, total: int, rows: list[ExampleRow]) -> None:
    st.markdown(f"**{title}** ({total} rated rows)")
    for row in rows:
        with st.container(border=True):
            st.text(f"row {row.row_id} · group {row.group or '-'} · rated {row.level}")
            st.text(row.text)


def edit_form(project: Project, pattern: Pattern, audit_id: str) -> None:
    with st.form(f"edit-{pattern.id}"):
        st.markdown("**Edit this pattern**")
        kind = KINDS.index(cast(PatternKind, pattern.kind))
        values: dict[str, str | None] = {
            "name": st.text_input("Name", pattern.name, key=f"edit-name-{pattern.id}"),
            "description": st.text_area("Description", pattern.description, key=f"edit-description-{pattern.id}"),
            "kind": st.selectbox("Kind", KINDS, index=kind, key=f"edit-kind-{pattern.id}"),
            "broad": st.text_area("Broad criterion", pattern.broad, key=f"edit-broad-{pattern.id}"),
            "strict": st.text_area("Strict criterion", pattern.strict, key=f"edit-strict-{pattern.id}"),
        }
        if st.form_submit_button("Save criteria"):
            changes = {k: v for k, v in values.items() if v is not None and v != getattr(pattern, k)}
            if not changes:
                st.info("Nothing changed.")
                return
            try:
                edited = edit_pattern(project, pattern.id, **changes)
            except WorkbenchError as e:
                st.error(str(e))
                return
            st.session_state[NOTICE] = (
                f"Saved (criteria hash {edited.criteria_hash[:12]}). Its ratings are under the old criteria: "
                f"re-rate it with `workbench audit rate {audit_id}`."
            )
            st.rerun()


def add_form(project: Project, audit_id: str) -> None:
    with st.form("add-pattern", clear_on_submit=True):
        st.markdown("**Add a pattern by hand**")
        name = st.text_input("Name", key="add-name")
        description = st.text_area("Description", key="add-description")
        kind = st.selectbox("Kind", KINDS, key="add-kind")
        broad = st.text_area("Broad criterion", key="add-broad")
        strict = st.text_area("Strict criterion", key="add-strict")
        if st.form_submit_button("Add pattern"):
            try:
                add_pattern(project, audit_id, name, description, broad=broad, strict=strict, kind=kind)
            except WorkbenchError as e:
                st.error(str(e))
                return
            st.session_state[NOTICE] = f"Added. Rate it with `workbench audit rate {audit_id}`."
            st.rerun()


def filter_section(project: Project, patterns: list[Pattern], audit_id: str) -> None:
    names = {p.id: p.name for p in patterns}
    chosen = st.multiselect("Patterns to filter out", list(names), format_func=names.__getitem__, key="filter-patterns")
    level: Level = st.radio("Drop rows where a pattern is", ["strict", "broad"], horizontal=True, key="filter-level")
    name = st.text_input("Name of the new dataset (optional)", key="filter-name")
    if not st.button("Build filtered dataset", disabled=not chosen, key="filter-build"):
        return
    try:
        with st.spinner("Rating every row of the dataset against the chosen patterns…"):
            result = build_filtered_dataset(project, audit_id, chosen, level, name or None)
    except WorkbenchError as e:
        st.error(str(e))
        return
    st.success(f"Saved dataset {result.dataset.id}: kept {result.kept} rows, removed {result.removed}.")
    st.text(f"Name: {result.dataset.name}")


project = current_project()
st.title("Patterns")
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice)
choices = audit_choices(project)
if not choices:
    empty_state("No audits yet. Freeze the accepted SFT rows as an audit dataset, then audit it:",
                command("audit", "snapshot", "sft"), command("audit", "run", "sft"))  # fmt: skip
    st.stop()

by_id = {c.audit.id: c for c in choices}
audit_id = st.selectbox("Audit", list(by_id), format_func=lambda i: f"{name_of(by_id[i])} · {i[:12]}")
audit, dataset = by_id[audit_id].audit, by_id[audit_id].dataset
if dataset is None:
    st.error(f"The dataset {audit.dataset_id} this audit measured is no longer in the store.")
    st.stop()
st.text(f"Dataset {dataset.name} ({dataset.id}): {dataset.row_count} {dataset.format} rows from {dataset.source}")
status = audit_status(project, audit_id)
cols = st.columns(4)
cols[0].metric("Candidates", status.candidates, help=f"from {status.scans_reporting} scans")
cols[1].metric("Active patterns", status.active_patterns)
cols[2].metric("Removed patterns", status.removed_patterns)
cols[3].metric("Last run", status.last_run_status or "none")
with st.expander("Settings and calls"):
    st.json(audit.settings)
    if status.calls:
        st.dataframe(pd.DataFrame([vars(c) for c in status.calls]), hide_index=True)

st.subheader("Prevalence")
report = audit_report(project, audit_id)
rows = prevalence_rows(report)
if rows:
    st.caption(f"On the audit's sample of {report.sample_size} rows; bars are 95% Wilson intervals.")
    if status.funnel:
        st.caption(status.funnel)
    st.plotly_chart(prevalence_figure(rows))
    table = pd.DataFrame([vars(r) for r in rows]).drop(columns="pattern_id")
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="percent") for c in ("rate", "low", "high")})  # fmt: skip
else:  # say what the scans that ran did, not "run them"; what to run only if nothing ran
    st.info(f"{no_patterns_line(project, audit_id)} You can add a pattern by hand below.")

patterns = [p.pattern for p in report.patterns]  # the active ones, as list_patterns orders them
if patterns:
    st.subheader("A pattern")
    by_pattern = {p.id: p for p in patterns}
    pattern = by_pattern[st.selectbox("Pattern", list(by_pattern), format_func=lambda i: by_pattern[i].name)]
    st.text(f"{pattern.kind}, {pattern.provenance} · id {pattern.id}")
    for label, value in (("Description", pattern.description), ("Broad", pattern.broad), ("Strict", pattern.strict)):
        st.markdown(f"**{label}**")
        st.text(value)
    left, right = st.columns(2)
    shown_level: Level = left.radio("Matching at", ["strict", "broad"], horizontal=True, key="examples-level")
    limit = int(right.number_input("Examples of each", min_value=1, max_value=50, value=5))
    examples = pattern_examples(project, pattern.id, shown_level, limit)
    match_col, other_col = st.columns(2)
    with match_col:
        show_examples("Matching", examples.matching_total, examples.matching)
    with other_col:
        show_examples("Not matching", examples.not_matching_total, examples.not_matching)
    edit_form(project, pattern, audit_id)
    if st.button("Remove this pattern", key=f"remove-{pattern.id}"):
        remove_pattern(project, pattern.id)
        st.session_state[NOTICE] = "Removed: it is no longer rated or reported."
        st.rerun()

add_form(project, audit_id)
if patterns:
    st.subheader("Build a filtered dataset")
    st.caption("Rates every row of the audited dataset (with the rater role) and saves the rows without "
               "the chosen patterns as a new dataset, linked to its parent.")  # fmt: skip
    filter_section(project, patterns, audit_id)
