"""The Patterns page and its read models: prevalence, examples under current criteria, edits, the filter."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.audit_fixtures import ROWS
from tests.audit_setup import BOTTOM_LINE_RATE
from tests.fakes.audit_model import AuditFakeModel
from workbench.audit.audits import Audit, start_audit
from workbench.audit.datasets import DatasetRow, get_dataset, save_dataset
from workbench.audit.patterns import Pattern, add_pattern, edit_pattern, get_pattern
from workbench.audit.prevalence import audit_report
from workbench.embeddings import text_hash
from workbench.project import Project
from workbench.views.patterns import (
    audit_choices,
    audit_status,
    build_filtered_dataset,
    pattern_examples,
    prevalence_rows,
)

SCRIPT = "<script>alert('pwned')</script>"
# Levels of the ten planted rows for the two patterns: 3 strict, 2 broad only, 5 absent; then 1 strict.
OPENER_LEVELS = ["strict", "strict", "strict", "broad", "broad", "absent", "absent", "absent", "absent", "absent"]
HEDGE_LEVELS = ["absent"] * 9 + ["strict"]


def plant(project: Project) -> tuple[Audit, Pattern, Pattern]:
    """Ten text rows (the first with a script tag), an audit of them, two patterns and their ratings."""
    rows = [DatasetRow(f"r{i}", {"text": f"row {i}"}, f"Answer {i}." + (f" {SCRIPT}" if i == 0 else ""),
                       "Trait A" if i % 2 == 0 else "Trait B") for i in range(10)]  # fmt: skip
    dataset = save_dataset(project, name="planted", source="file", format="text", rows=rows)
    audit = start_audit(project, dataset.id)
    opener = add_pattern(project, audit.id, "Validating opener", "Opens by validating feelings.",
                         broad="Validates anywhere.", strict="First sentence validates.",
                         kind="rhetorical")  # fmt: skip
    hedge = add_pattern(project, audit.id, "Hedged close", "Ends on a hedge.", broad="A hedge.", strict="Last hedge.")
    with project.store.transaction() as con:
        for pattern, levels in ((opener, OPENER_LEVELS), (hedge, HEDGE_LEVELS)):
            con.execute(
                "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                " SELECT ?, ?, unnest(?), unnest(?), 'planted'",
                [pattern.id, pattern.criteria_hash, [text_hash(r.text) for r in rows], levels],
            )
    return audit, opener, hedge


def on_tab(at: AppTest, name: str) -> AppTest:
    """Open one of the page's tabs (only the open one runs)."""
    at.session_state["patterns-tab"] = name
    return at.run()


def test_read_models_follow_the_planted_ratings(project: Project) -> None:
    audit, opener, hedge = plant(project)
    [choice] = audit_choices(project)
    assert (choice.audit.id, choice.dataset.name if choice.dataset else None) == (audit.id, "planted")
    status = audit_status(project, audit.id)
    assert (status.active_patterns, status.removed_patterns, status.candidates) == (2, 0, 0)
    assert status.last_run_status is None and status.calls == []

    rows = {(r.pattern, r.level): r for r in prevalence_rows(audit_report(project, audit.id))}
    assert (rows["Validating opener", "broad"].k, rows["Validating opener", "broad"].n) == (5, 10)
    assert rows["Validating opener", "strict"].rate == 0.3
    assert rows["Hedged close", "strict"].low < 0.1 < rows["Hedged close", "strict"].high
    assert rows["Hedged close", "broad"].found_by == "manual"

    strict = pattern_examples(project, opener.id, "strict", limit=2)
    assert [r.row_id for r in strict.matching] == ["r0", "r1"] and strict.matching_total == 3
    assert SCRIPT in strict.matching[0].text and strict.matching[0].group == "Trait A"
    assert [r.row_id for r in strict.not_matching] == ["r5", "r6"] and strict.not_matching_total == 5
    broad = pattern_examples(project, opener.id, "broad", limit=10)
    assert [r.level for r in broad.matching] == OPENER_LEVELS[:5] and broad.not_matching_total == 5
    assert pattern_examples(project, hedge.id, "broad").matching_total == 1

    # Every row is rated for both patterns already, so the filter decides without a model call.
    result = build_filtered_dataset(project, audit.id, [opener.id, hedge.id], "broad", name="clean")
    assert (result.kept, result.removed, result.dataset.name) == (4, 6, "clean")


def test_an_edit_leaves_no_examples_until_rated_again(project: Project) -> None:
    _, opener, _ = plant(project)
    edit_pattern(project, opener.id, strict="The very first sentence validates.")
    examples = pattern_examples(project, opener.id, "strict")
    assert (examples.matching, examples.not_matching, examples.matching_total) == ([], [], 0)


def test_patterns_page_on_an_empty_project_says_how_to_start(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("patterns", project, monkeypatch)
    assert not at.exception
    assert [c.value for c in at.code] == ["workbench audit snapshot sft", "workbench audit run sft"]


def test_patterns_page_shows_prevalence_and_examples_as_text(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant(project)
    at = open_page("patterns", project, monkeypatch)
    assert not at.exception
    assert at.get("plotly_chart")
    table = next(d.value for d in at.dataframe if "level" in d.value.columns)
    found = {(r.pattern, r.level): (r.k, r.n) for r in table.itertuples()}
    assert found == {("Validating opener", "broad"): (5, 10), ("Validating opener", "strict"): (3, 10),
                     ("Hedged close", "broad"): (1, 10), ("Hedged close", "strict"): (1, 10)}  # fmt: skip
    # On its tab, the first pattern is chosen; its first strict match carries the script tag, shown as text.
    on_tab(at, "One pattern")
    assert not at.exception
    assert any(t.value == f"Answer 0. {SCRIPT}" for t in at.text)
    assert all("<script>" not in m.value for m in at.markdown)
    assert any(t.value == "row r0 · group Trait A · rated strict" for t in at.text)


def test_editing_criteria_in_the_form_changes_the_stored_pattern(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit, opener, _ = plant(project)
    at = on_tab(open_page("patterns", project, monkeypatch), "One pattern")
    at.text_area(key=f"edit-strict-{opener.id}").input("The reply's first sentence validates feelings.")
    at.button(key=f"FormSubmitter:edit-{opener.id}-Save criteria").click().run()
    assert not at.exception
    edited = get_pattern(project, opener.id)
    assert edited.strict == "The reply's first sentence validates feelings."
    assert edited.criteria_hash != opener.criteria_hash
    assert f"workbench audit rate {audit.id}" in at.success[0].value
    # Its old ratings no longer count: nothing matches under the new criteria.
    assert not any(SCRIPT in t.value for t in at.text)


def test_adding_and_removing_patterns_through_the_page(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    audit, opener, _ = plant(project)
    at = open_page("patterns", project, monkeypatch)
    at.text_input(key="add-name").input("Bottom line up front")
    at.text_area(key="add-description").input("Opens with the verdict.")
    at.text_area(key="add-broad").input("A verdict early.")
    at.text_area(key="add-strict").input("The first sentence is the verdict.")
    at.button(key="FormSubmitter:add-pattern-Add pattern").click().run()
    assert not at.exception
    added = get_pattern(project, "Bottom line up front", audit.id)
    assert (added.origin, added.strict) == ("manual", "The first sentence is the verdict.")

    on_tab(at, "One pattern").selectbox(key="pattern").select(opener.id).run()
    at.button(key=f"remove-{opener.id}").click().run()
    assert not at.exception
    assert get_pattern(project, opener.id).status == "removed"


def test_the_filter_button_reuses_ratings_and_shows_a_missing_key_as_an_error(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit, opener, _ = plant(project)
    unrated = add_pattern(project, audit.id, "Unrated", "Never rated.", broad="Anything.", strict="Everything.")
    at = on_tab(open_page("patterns", project, monkeypatch), "Filter")
    # Every row is already rated for the opener, so the filter needs no model call.
    at.multiselect(key="filter-patterns").select(opener.id).run()
    at.button(key="filter-build").click().run()
    assert not at.exception
    assert "kept 7 rows, removed 3" in at.success[0].value
    # The unrated pattern needs the rater, and no key is configured: an error, not a traceback.
    at.multiselect(key="filter-patterns").unselect(opener.id).select(unrated.id).run()
    at.button(key="filter-build").click().run()
    assert not at.exception
    assert "GEMINI_API_KEY" in at.error[0].value
    assert not at.success


def test_the_filter_button_builds_a_filtered_dataset_with_the_fake_rater(
    audit_project: Project, fake: AuditFakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = start_audit(audit_project, "planted")
    bottom = add_pattern(audit_project, audit.id, "Bottom line up front", "Starts with 'Bottom line:'.",
                         broad="A verdict comes first.", strict="The answer starts with 'Bottom line:'.")  # fmt: skip
    at = on_tab(open_page("patterns", audit_project, monkeypatch), "Filter")
    at.multiselect(key="filter-patterns").select(bottom.id).run()
    at.text_input(key="filter-name").input("planted, no bottom lines").run()
    at.button(key="filter-build").click().run()
    assert not at.exception, at.exception
    removed = round(BOTTOM_LINE_RATE * ROWS)
    assert f"kept {ROWS - removed} rows, removed {removed}" in at.success[0].value
    filtered = get_dataset(audit_project, "planted, no bottom lines")
    assert (filtered.source, filtered.row_count, filtered.parent_id) == ("filtered", ROWS - removed, audit.dataset_id)
    status = audit_status(audit_project, audit.id)  # the filter's run is the audit's newest
    assert status.last_run_status == "done" and fake.rate_calls == ROWS // 10
    assert [(c.step, c.status, c.calls) for c in status.calls] == [("rate", "ok", fake.rate_calls)]
