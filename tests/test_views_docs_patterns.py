"""What notebooks 03 (documents) and 04 (pattern audit) show, built by workbench/views outside the cells.

The notebooks' own test cells and scenario scripts check a whole walk against the fake model;
these cover each helper on its own, including the cases a walk does not reach: a document with a
reason, an unpriced model, no budget cap, a lexical-only figure, each way the dataset form is wrong.
"""

from __future__ import annotations

import asyncio
import html
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from tests.lexical_setup import lexical_rows
from tests.review_rows import TRAITS_DOC
from workbench.audit.cost import AuditProjection
from workbench.audit.datasets import list_datasets
from workbench.audit.filters import FilterResult
from workbench.audit.patterns import add_pattern
from workbench.audit.prevalence import audit_report
from workbench.audit.run import run_audit
from workbench.config_stages import AuditConfig
from workbench.errors import WorkbenchError
from workbench.generate.cost import CostProjection, StageProjection
from workbench.project import Project
from workbench.review import ReviewBatch
from workbench.store.traits import add_traits_file, version_chunks
from workbench.views import audit_sources, documents, patterns, projections
from workbench.views.focus import focus_item
from workbench.views.patterns import AuditStatus, ExampleRow, PatternExamples
from workbench.views.queue import QueueOptions, QueueRow

STAGES = [
    StageProjection("docs.draft", 4.0, 1000.0, 500.0, 0.0012),
    StageProjection("docs.rating", 2.0, 300, 50, 0.0003),
]
WHEN = datetime(2026, 1, 1)


def _document(project: Project, text: str = "The final text.") -> str:
    doc = Path(project.root) / "traits.md"
    doc.write_text(TRAITS_DOC)
    version = add_traits_file(project.store, doc, name="planted").version
    chunk = version_chunks(project.store, version.id)[0]
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names,"
            " text, origin, status) VALUES ('doc-1', ?, ?, 'email', 300, 0, 0, '[]', ?, 'generated', 'needs_review')",
            [version.id, chunk.id, text],
        )
    return "doc-1"


def test_the_form_choices_label_types_statuses_and_traits() -> None:
    assert documents.type_options({"email": 300, "memo": 150}) == {
        "email (~300 words)": "email",
        "memo (~150 words)": "memo",
    }
    options = QueueOptions(
        {"needs_review": 4, "ok": 2}, chunks=[("c1", "Candid"), ("c2", "Kind")], reviewers=[], patterns=[]
    )
    choices = documents.queue_choices(options)
    assert choices.statuses == {"needs_review (4)": "needs_review", "ok (2)": "ok"}
    assert choices.awaiting == ["needs_review (4)"]
    assert choices.traits == {documents.EVERY_TRAIT: "", "Candid": "c1", "Kind": "c2"}
    assert documents.queue_choices(QueueOptions({"ok": 1}, [], [], [])).awaiting == []
    assert documents.DocsChoice("t@1", ["c1", "c2"], ["email", "memo", "post"]).slots(3) == 18


def test_document_rows_carry_every_score_column_even_when_unscored() -> None:
    scored = QueueRow("d1", "needs_review", "Candid", "Dear…", "generated", {"realism": 5, "reasons": "x"}, WHEN)
    rows = documents.document_rows([scored, replace(scored, id="d2", scores=None)])
    assert list(rows[0]) == ["id", "trait", "status", "origin", *documents.SCORES, "document"]
    assert rows[0]["realism"] == 5 and rows[0]["document"] == "Dear…" and "reasons" not in rows[0]
    assert all(rows[1][s] is None for s in documents.SCORES)


def test_a_decision_is_recorded_as_the_form_gives_it(project: Project) -> None:
    doc_id = _document(project)
    item = focus_item(project, "documents", doc_id)
    assert documents.document_heading(item) == f"Document {doc_id}\nCandid · needs_review · generated"
    assert documents.document_heading(replace(item, reason="leakage 4")).endswith("generated\nReason: leakage 4")
    assert documents.history_rows(item) == []

    noted = documents.record_decision(project, doc_id, action="note", reviewer="ana", note="Too tidy.",
                                      edited_text="ignored unless editing")  # fmt: skip
    assert noted == doc_id and focus_item(project, "documents", doc_id).fields["text"] == "The final text."
    edited = documents.record_decision(project, doc_id, action="edit", reviewer="ana", note="", edited_text="New.")
    assert edited != doc_id and focus_item(project, "documents", edited).fields["text"] == "New."
    history = [(e["action"], e["note"]) for e in documents.history_rows(focus_item(project, "documents", doc_id))]
    assert history == [("note", "Too tidy."), ("edit", None)]
    with pytest.raises(WorkbenchError, match="needs a note"):  # an empty note is none, and sending back needs one
        documents.record_decision(project, edited, action="regenerate", reviewer="ana", note="", edited_text="")


def test_the_lines_say_what_was_recorded_or_what_pressing_would_do() -> None:
    assert documents.decision_line("accept", None) == "Press **Record decision** to apply it to this document."
    assert documents.decision_line("edit", "d2") == "Recorded **edit**; the current row is `d2`."
    assert documents.acceptance_line(None) == "Press **Accept all shown** to accept every document listed."
    batch = ReviewBatch(batch_id="b1", table="documents", action="accept", current_ids=["a", "b"])
    assert documents.acceptance_line(batch) == "Accepted **2** document(s); undo with `workbench undo b1`."


def test_both_projections_word_the_totals_the_same_way() -> None:
    priced = CostProjection(measured_slots=6, remaining_slots=12, stages=STAGES, unmeasured=[], budget_usd=2.0)
    assert projections.cost_sentence(priced) == "~6 calls, ~1,850 tokens, **$0.0015** (budget: $2.00 per run)"
    unpriced = replace(priced, stages=[replace(STAGES[0], cost_usd=None)], budget_usd=None)
    assert projections.cost_sentence(unpriced) == (
        "~4 calls, ~1,500 tokens, **unknown (no price for a model)** (budget: no cap)"
    )

    docs = projections.docs_view(priced)
    assert docs.summary.startswith("**Projection:** 12 document slot(s) to fill, from per-slot averages over the 6 ")
    assert docs.summary.endswith(projections.cost_sentence(priced) + ".")
    assert [r["stage"] for r in docs.rows] == ["docs.draft", "docs.rating"] and docs.notes == docs.warnings == []
    done = projections.docs_view(replace(priced, remaining_slots=0, unmeasured=["docs.critique", "docs.rewrite"]))
    assert len(done.notes) == 1 and "Nothing left to fill" in done.notes[0]
    assert done.warnings == ["Not measured yet, so not in the totals: docs.critique, docs.rewrite"]

    plan = AuditProjection(cost=priced, rows=200, sample=120, patterns=10, assumptions=["4 tokens per character"])
    status = AuditStatus(candidates=9, scans_reporting=5, active_patterns=3, removed_patterns=0,
                         last_run_status=None, last_run_at=None, calls=[])  # fmt: skip
    audit = projections.audit_view(plan, AuditConfig(scans=8, rows_per_scan=20, min_scans=2), status)
    assert audit.cost is priced and audit.summary.startswith("### Projection\n\n200 rows; 120 sampled and rated ")
    assert audit.summary.endswith(f"10 patterns: {projections.cost_sentence(priced)}.")
    assert audit.notes == [
        "Settings (`[audit]`): 8 scans of 20 rows, kept when found by 2; this audit has 9 candidates and 3 "
        "patterns so far."
    ]
    assert audit.warnings == ["Assumed, not measured: 4 tokens per character."]


@pytest.fixture
def chats(project: Project) -> Path:
    path = Path(project.root) / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lexical_rows(60)), encoding="utf-8")
    return path


def test_the_dataset_form_picks_imports_and_says_what_is_wrong(project: Project, chats: Path) -> None:
    form = audit_sources.DatasetForm(audit_sources.IMPORT, path=f"  {chats}  ", name="  chats ")
    imported = audit_sources.chosen_dataset(project, form)
    assert (imported.name, imported.row_count, imported.format) == ("chats", 60, "messages")
    picked = audit_sources.DatasetForm(audit_sources.STORED, stored_id=imported.id)
    assert audit_sources.chosen_dataset(project, picked) == imported
    assert audit_sources.dataset_line(imported) == f"Dataset `{imported.id}`: **60** messages rows (file)."
    assert audit_sources.origin_text(imported).startswith("chats · from ")
    child = imported.model_copy(update={"id": "kid", "parent_id": imported.id})
    assert patterns.filtered_line(FilterResult(child, removed=3, kept=57, steps=[])) == (
        f"Saved dataset `kid` (parent `{imported.id}`): removed **3** rows, kept **57**."
    )
    bad = {
        "No dataset is picked": replace(picked, stored_id=None),
        "No file to import": replace(form, path="  "),
        "Unknown format 'csv'": replace(form, file_format="csv"),
        "Unknown kind of rows 'tweets'": audit_sources.DatasetForm(audit_sources.SNAPSHOT, store_kind="tweets"),
        "Unknown dataset source": audit_sources.DatasetForm("somewhere"),
    }
    for message, wrong in bad.items():
        with pytest.raises(WorkbenchError, match=message):
            audit_sources.chosen_dataset(project, wrong)
    assert [d.id for d in list_datasets(project)] == [imported.id]  # nothing stored by a wrong form


def test_the_reference_choices_leave_out_the_audited_dataset() -> None:
    lineage = audit_sources.AuditDatasetLineage
    known = [lineage("abcdef0123", "base", "file", None, "text", 3, None, None, WHEN),
             lineage("0123456789", "base", "file", None, "text", 3, None, None, WHEN)]  # fmt: skip
    assert audit_sources.dataset_options(known, excluding="abcdef0123") == {"base · 01234567": "0123456789"}


def test_the_findings_view_charts_only_the_lexical_patterns(project: Project, chats: Path) -> None:
    dataset = audit_sources.chosen_dataset(project, audit_sources.DatasetForm(audit_sources.IMPORT, path=str(chats)))
    counted = asyncio.run(run_audit(project, dataset.id, scanner="lexical"))
    add_pattern(project, counted.audit_id, "Hedges", "Hedges every claim.", broad="some hedging", strict="hedges")
    report = audit_report(project, counted.audit_id)
    view = patterns.findings_view(counted.findings, report, against_reference=False)
    lexical = [html.escape(p.pattern.name) for p in report.patterns if p.pattern.rule is not None]
    assert lexical and "Hedges" in [p.pattern.name for p in report.patterns]
    lexical = [f"{name} · lexical" for name in lexical]  # each bar's label names its source
    assert [list(bar.x) for bar in view.figure.data] == [lexical, lexical]  # broad and strict
    assert len(view.rows) == len(counted.findings) > 0
    assert view.heading.startswith(f"**{len(counted.findings)} findings**, best first (score: share); rated on ")
    assert "(score: log-odds z)" in patterns.findings_view(counted.findings, report, against_reference=True).heading

    found = report.patterns[0].pattern
    manual = next(p.pattern for p in report.patterns if p.pattern.rule is None)
    assert patterns.model_found([found, manual]) == [manual]
    twin = found.model_copy(update={"id": "ff" + found.id})  # two patterns may share a name
    assert patterns.pattern_options([found, twin]) == {f"{found.name} · {found.id[:8]}": found.id,
                                                       f"{found.name} · ff{found.id[:6]}": twin.id}  # fmt: skip
    row = {"name": "Hedges", "kind": "behavioural", "found by": manual.found_by, "broad": "some hedging",
           "strict": "hedges", "id": manual.id}  # fmt: skip
    assert patterns.pattern_rows([manual]) == [row]


def test_shares_examples_and_headings_are_shown_as_written() -> None:
    assert patterns.percent(0.125) == "12.5%" and patterns.percent(None) == "–"
    assert {c: f(0.5) for c, f in patterns.percent_format(["rate", "low"]).items()} == {"rate": "50.0%", "low": "50.0%"}
    heading = "### 3 patterns: found by the scans, counted, or added"
    assert patterns.patterns_heading(3, edited=True) == heading + " (as edited)"
    assert patterns.patterns_heading(3, edited=False) == heading
    assert patterns.prevalence_heading(120).startswith("### Prevalence\n\nOn the audit's sample of 120 rows;")
    row = ExampleRow("r7", None, "strict", "**not markdown**")
    examples = PatternExamples(pattern=None, level="strict", matching=[row], not_matching=[],  # type: ignore[arg-type]
                               matching_total=4, not_matching_total=0)  # fmt: skip
    assert patterns.example_columns(examples) == [
        ("**Matching** (4 rated rows)", ["row r7 · group - · rated strict\n\n**not markdown**"]),
        ("**Not matching** (0 rated rows)", []),
    ]


def test_the_audit_projection_is_shown_before_the_audit_is_started(project: Project, chats: Path) -> None:
    dataset = audit_sources.chosen_dataset(project, audit_sources.DatasetForm(audit_sources.IMPORT, path=str(chats)))
    view = projections.audit_projection(project, dataset.id, patterns=10)  # the notebook shows it before any run
    assert view.summary.startswith("### Projection\n\n60 rows;") and view.rows
    assert view.notes[0].endswith("this audit has 0 candidates and 0 patterns so far.")
    counted = asyncio.run(run_audit(project, dataset.id, scanner="lexical"))
    status = patterns.audit_status(project, counted.audit_id)
    assert status.active_patterns == len(counted.findings) > 0 and status.funnel is None  # no scan has run
