"""Patterns: an audit's prevalence per pattern, one pattern's rows with their evidence, filtering, model outputs.

Tabs, of which only the open one runs its queries (`st.tabs(on_change="rerun")`):
Prevalence (one chart of every active pattern, LLM and lexical, marked by source; the table; add
a pattern by hand), One pattern (its definition, rates with intervals, matching and non-matching
rows a page at a time with the evidence marked, edit or remove it: `patterns_browse.py`), Filter
(a dataset without the chosen patterns' rows), Model outputs (the pattern-transfer experiment's
rates in sampled outputs, `views.pattern_transfer`).
"""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from workbench.app.context import current_project
from workbench.app.empty import command, empty_state
from workbench.app.patterns_browse import one_pattern
from workbench.audit.filters import Level
from workbench.audit.funnel import no_patterns_line
from workbench.audit.patterns import Pattern, add_pattern, edit_pattern, remove_pattern
from workbench.audit.schemas import PatternKind
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.pattern_prevalence import SamplePrevalence, sample_prevalence
from workbench.views.pattern_transfer import arm_rates, arm_rates_figure, latest_experiment
from workbench.views.patterns import (
    AuditChoice,
    AuditStatus,
    audit_choices,
    audit_status,
    build_filtered_dataset,
    prevalence_figure,
    source_of,
)
from workbench.views.style import status_badge

KINDS: list[PatternKind] = ["behavioural", "rhetorical", "structural"]
NOTICE = "patterns_notice"
TABS = ["Prevalence", "One pattern", "Filter", "Model outputs"]
TABLE_COLUMNS = ["pattern", "source", "level", "rate", "low", "high", "k", "n", "unrated", "kind", "found_by"]


def name_of(choice: AuditChoice) -> str:
    return choice.dataset.name if choice.dataset else "(dataset missing)"


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


def prevalence_tab(project: Project, found: SamplePrevalence, status: AuditStatus, audit_id: str) -> None:
    """Every active pattern's rates in one chart (LLM and lexical, marked by source) and as a table."""
    if found.rows:
        st.caption(f"On the audit's sample of {found.sample_size} rows; the bars are 95% Wilson intervals. Each "
                   "label names its source; lexical bars (hatched) are rated by their rule, with no call.")  # fmt: skip
        if status.funnel:
            st.caption(status.funnel)
        st.plotly_chart(prevalence_figure(found.rows), theme=None, key="prevalence")
        table = pd.DataFrame([vars(r) for r in found.rows]).drop(columns="pattern_id")
        shares = {c: st.column_config.NumberColumn(format="percent") for c in ("rate", "low", "high")}
        st.dataframe(table, hide_index=True, column_config=shares, column_order=TABLE_COLUMNS)
    else:  # say what the scans that ran did, not "run them"; what to run only if nothing ran
        st.info(f"{no_patterns_line(project, audit_id)} You can add a pattern by hand below.")
    with st.expander("Add a pattern by hand", expanded=not found.rows):
        add_form(project, audit_id)


def pattern_tab(project: Project, found: SamplePrevalence, audit_id: str) -> None:
    """One pattern: pick it, read it and its rows, edit or remove it."""
    if not found.patterns:
        st.info("No active patterns yet: add one by hand on the Prevalence tab, or run the audit.")
        return
    by_id = {p.id: p for p in found.patterns}
    label = {p.id: f"{p.name} · {source_of(p)}" for p in found.patterns}
    pattern = by_id[st.selectbox("Pattern", list(by_id), format_func=label.__getitem__, key="pattern")]
    one_pattern(project, pattern, [r for r in found.rows if r.pattern_id == pattern.id])
    with st.expander("Edit or remove this pattern"):
        edit_form(project, pattern, audit_id)
        if st.button("Remove this pattern", key=f"remove-{pattern.id}"):
            remove_pattern(project, pattern.id)
            st.session_state[NOTICE] = "Removed: it is no longer rated or reported."
            st.rerun()


def outputs_tab(project: Project, audit_id: str) -> None:
    """The pattern-transfer experiment's rates in each arm's sampled outputs, or where model-output rates are."""
    run = latest_experiment(project)
    if run is None:
        empty_state("No pattern-transfer experiment in this project. A trained model's own rates of this audit's "
                    "patterns come from the patterns eval suite (shown on the Evals page, beside the data's):",
                    command("eval", "run", "--suite", "patterns", "--model", project.config.roles["target"],
                            "--set", f"audit={audit_id}"))  # fmt: skip
        return
    st.caption(f"Experiment run {run.id} ({run.status}): each arm's strict rate of the planted patterns in its "
               "sampled answers, with 95% Wilson intervals.")  # fmt: skip
    st.plotly_chart(arm_rates_figure(arm_rates(project, run)), theme=None, key="arm-rates")


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
cols[3].metric("Last run", f"{status.last_run_at:%Y-%m-%d %H:%M}" if status.last_run_at else "none")
if status.last_run_status:
    cols[3].markdown(status_badge(status.last_run_status))
with st.expander("Settings and calls"):
    st.json(audit.settings)
    if status.calls:
        st.dataframe(pd.DataFrame([vars(c) for c in status.calls]), hide_index=True)

found = sample_prevalence(project, audit)
prevalence, single, filtering, outputs = st.tabs(TABS, key="patterns-tab", on_change="rerun")
with prevalence:
    if prevalence.open:
        prevalence_tab(project, found, status, audit_id)
with single:
    if single.open:
        pattern_tab(project, found, audit_id)
with filtering:
    if filtering.open and not found.patterns:
        st.info("No active patterns to filter by yet.")
    elif filtering.open:
        st.caption("Rates every row of the audited dataset (with the rater role) and saves the rows without "
                   "the chosen patterns as a new dataset, linked to its parent.")  # fmt: skip
        filter_section(project, found.patterns, audit_id)
with outputs:
    if outputs.open:
        outputs_tab(project, audit_id)
