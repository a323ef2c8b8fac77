"""The Patterns page's tabs: LLM and lexical patterns in one chart, one pattern's rows paged with the evidence marked.

The scenario (written for these tests): 30 notes from a made-up repair shop. The first 25 open
with "Bottom line:"; the first note also holds `<b>` tags and `**stars**`, which must show as
they are. A lexical opener pattern is rated by its rule; an LLM pattern has scan evidence on one
row, one quote found in it (in other spacing) and one the row does not contain.
"""

from __future__ import annotations

import html
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.notebook_scenarios import nb07_pattern_transfer
from workbench.audit.audits import Audit, start_audit
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.lexical import LexicalFinding, save_lexical_patterns
from workbench.audit.lexical_rules import PhraseRule, rate_lexical
from workbench.audit.patterns import Pattern, add_pattern, get_pattern, list_patterns
from workbench.audit.prevalence import audit_report
from workbench.embeddings import text_hash
from workbench.project import Project
from workbench.views.literal import markdown_literal
from workbench.views.pattern_evidence import example_pages
from workbench.views.pattern_prevalence import sample_prevalence
from workbench.views.patterns import prevalence_rows

ROWS, OPENING = 30, 25
MARKUP = "Bottom line: keep the <b>receipt</b> and **never** pay twice."
INVENTED = "a promise the shop never made"


def note(i: int) -> str:
    if i == 0:
        return MARKUP
    body = f"the kettle {i} needs a new   fuse, keep the receipt."
    return f"Bottom line: {body}" if i < OPENING else f"Sadly {body}"


def plant(project: Project) -> tuple[Audit, Pattern, Pattern]:
    """The notes, an audit of them, the lexical opener (rated by its rule) and an LLM pattern with evidence."""
    rows = [DatasetRow(f"n{i:02}", {"text": note(i)}, note(i), "shop") for i in range(ROWS)]
    dataset = save_dataset(project, name="repair notes", source="file", format="text", rows=rows)
    audit = start_audit(project, dataset.id)
    rule = PhraseRule(type="opener", words=("bottom", "line"))
    finding = LexicalFinding("opener", "bottom line", OPENING, OPENING / ROWS, None, None, OPENING / ROWS, rule)
    with project.store.transaction() as con:
        save_lexical_patterns(con, audit.id, [finding], dataset, None)
    [lexical] = list_patterns(project, audit.id)
    llm = add_pattern(project, audit.id, "Advises keeping proof", "Tells the reader to keep proof of purchase.",
                      broad="Mentions proof of purchase.", strict="Tells the reader to keep the receipt.")  # fmt: skip
    evidence = [{"row_id": "n01", "quote": "needs a new fuse, keep the receipt", "verified": True},
                {"row_id": "n01", "quote": INVENTED, "verified": False}]  # fmt: skip
    hashes = [text_hash(r.text) for r in rows]
    with project.store.transaction() as con:
        rate_lexical(con, [(lexical.id, lexical.criteria_hash, rule)], hashes)
        con.execute(
            "INSERT INTO audit_candidates (id, audit_id, scan, name, description, kind, evidence, generation_id)"
            " VALUES ('cand-proof', ?, 0, 'keeps proof', 'keeps proof', 'behavioural', ?, 'planted')",
            [audit.id, json.dumps(evidence)],
        )
        con.execute("UPDATE audit_patterns SET origin = 'found', scans = '[0, 1]', candidate_ids = '[\"cand-proof\"]'"
                    " WHERE id = ?", [llm.id])  # fmt: skip
        con.execute(
            "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
            " SELECT ?, ?, unnest(?), unnest(?), 'planted'",
            [llm.id, llm.criteria_hash, hashes, ["strict"] * 5 + ["absent"] * (ROWS - 5)],
        )
    return audit, lexical, get_pattern(project, llm.id)  # with the scans and candidates set above


def one_pattern(project: Project, monkeypatch: pytest.MonkeyPatch, pattern: Pattern) -> AppTest:
    at = open_page("patterns", project, monkeypatch)
    at.session_state["patterns-tab"] = "One pattern"
    at.run()
    at.selectbox(key="pattern").select(pattern.id).run()
    assert not at.exception
    return at


def shown_rows(at: AppTest) -> list[str]:
    """The row ids of the rows shown, in order: the matching list's, then the non-matching one's."""
    return [t.value.split(" · ")[0].removeprefix("row ") for t in at.text if t.value.startswith("row n")]


def test_the_tabs_chart_lexical_and_llm_patterns_together(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    audit, lexical, llm = plant(project)
    at = open_page("patterns", project, monkeypatch)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Prevalence", "One pattern", "Filter", "Model outputs"]
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    # One chart: every pattern's bar is labelled with its source (names escaped for Plotly, which reads tags in
    # labels and shows &quot; as "), and the lexical one is hatched.
    strict = next(trace for trace in figure["data"] if trace["name"] == "strict")
    assert strict["x"] == [f"{llm.name} · LLM", f"{html.escape(lexical.name)} · lexical"]  # found by scans first
    assert strict["marker"]["pattern"]["shape"] == ["", "/"]
    table = next(d.value for d in at.dataframe if "source" in d.value.columns)
    assert set(zip(table["pattern"], table["source"], strict=True)) == {(lexical.name, "lexical"), (llm.name, "LLM")}
    # The page's fast count is the report's, pattern by pattern and level by level.
    assert sample_prevalence(project, audit).rows == prevalence_rows(audit_report(project, audit.id))


def test_a_lexical_hit_is_marked_in_the_row_and_the_rest_stays_literal(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, lexical, _ = plant(project)
    at = one_pattern(project, monkeypatch, lexical)
    marked = [m.value for m in at.markdown if m.value.startswith(":orange-background[Bottom line]")]
    rest = markdown_literal(MARKUP.removeprefix("Bottom line"), line_start=False)
    assert marked[0] == ":orange-background[Bottom line]" + rest and "\\<b\\>receipt" in rest
    assert all("<b>" not in m.value and "**never**" not in m.value for m in at.markdown)
    # An opener is marked once, at the start, in each of the page's ten matching rows; a non-matching row is text.
    assert len(marked) == 10 and all(m.count("background") == 1 for m in marked)
    assert any(t.value == note(OPENING) for t in at.text)


def test_scan_quotes_are_marked_or_shown_beside_the_row(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, llm = plant(project)
    at = one_pattern(project, monkeypatch, llm)
    # n01 shows in the matching list and among the rows the scans quoted, its found quote marked in both.
    rows = [m.value for m in at.markdown if "kettle 1 " in m.value]
    assert len(rows) == 2 and all(":orange-background[needs a new" in r and r.count("background") == 1 for r in rows)
    assert f"> {INVENTED}" in [m.value for m in at.markdown]
    assert "Quoted by a scan, not found verbatim in this row:" in [c.value for c in at.caption]


def test_matching_and_non_matching_rows_are_paged(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _, lexical, _ = plant(project)
    at = one_pattern(project, monkeypatch, lexical)
    first = [f"n{i:02}" for i in range(10)]
    absent = [f"n{i:02}" for i in range(OPENING, ROWS)]
    assert shown_rows(at) == first + absent
    assert "rows 1–10 of 25" in [c.value for c in at.caption]
    at.button(key=f"page-match-{lexical.id}-strict-next").click().run()
    assert shown_rows(at) == [f"n{i:02}" for i in range(10, 20)] + absent
    at.button(key=f"page-match-{lexical.id}-strict-next").click().run()
    assert shown_rows(at) == [f"n{i:02}" for i in range(20, OPENING)] + absent
    assert at.button(key=f"page-match-{lexical.id}-strict-next").disabled


def test_a_page_past_the_last_shows_the_last(project: Project) -> None:
    _, lexical, _ = plant(project)
    matching, absent = example_pages(project, lexical, "strict", (7, 0))
    assert (matching.page, matching.pages, matching.total, len(matching.rows)) == (2, 3, OPENING, 5)
    assert (absent.page, absent.pages, absent.total) == (0, 1, ROWS - OPENING)


def rate(project: Project, pattern: Pattern, levels: dict[int, str]) -> None:
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
            " SELECT ?, ?, unnest(?), unnest(?), 'planted'",
            [pattern.id, pattern.criteria_hash, [text_hash(note(i)) for i in levels], list(levels.values())],
        )


def test_ratings_added_after_a_page_was_read_show_on_the_next(project: Project) -> None:
    audit, _, _ = plant(project)
    kettle = add_pattern(project, audit.id, "Names the appliance", "Says which appliance failed.",
                         broad="Names an appliance.", strict="Names the appliance and its part.")  # fmt: skip
    rate(project, kettle, {i: "strict" if i < 3 else "absent" for i in range(10)})  # a first run rates ten rows
    matching, absent = example_pages(project, kettle, "strict", (0, 0))
    assert (matching.total, absent.total) == (3, 7)
    first = {(r.pattern, r.level): (r.k, r.n) for r in sample_prevalence(project, audit).rows}
    assert first["Names the appliance", "strict"] == (3, 10)

    rate(project, kettle, {i: "strict" if i < 12 else "absent" for i in range(10, ROWS)})  # the next run, the rest
    matching, absent = example_pages(project, kettle, "strict", (0, 0))
    assert (matching.total, absent.total) == (5, ROWS - 5)
    assert [r.row_id for r in matching.rows] == ["n00", "n01", "n02", "n10", "n11"]
    later = {(r.pattern, r.level): (r.k, r.n) for r in sample_prevalence(project, audit).rows}
    assert later["Names the appliance", "strict"] == (5, ROWS)


def test_model_outputs_have_their_own_tab(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    audit, _, _ = plant(project)
    at = open_page("patterns", project, monkeypatch)
    at.session_state["patterns-tab"] = "Model outputs"
    at.run()
    assert not at.exception
    model = project.config.roles["target"]
    assert [c.value for c in at.code] == [f"workbench eval run --suite patterns --model {model} --set audit={audit.id}"]


def test_the_experiment_rates_of_sampled_outputs_are_charted_on_their_tab(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb07_pattern_transfer.prepare(project)  # a recorded run of the pattern-transfer experiment, planted
    at = open_page("patterns", project, monkeypatch)
    at.session_state["patterns-tab"] = "Model outputs"
    at.run()
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    strict = {trace["name"]: dict(zip(trace["x"], trace["y"], strict=True)) for trace in figure["data"]}
    assert {arm: (rates["bluf"], rates["validation"]) for arm, rates in strict.items()} == {
        arm: (bluf / 10, validation / 10) for arm, (bluf, validation) in nb07_pattern_transfer.EXPECTED.items()
    }
