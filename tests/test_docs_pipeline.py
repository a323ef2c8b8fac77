"""The midtraining documents pipeline end to end on the fake Gemini server: 2 traits x 3 types.

The fake model (tests/fakes/docs_model.py) plants a near-duplicate and a leaking document; a
person accepts, rejects and edits; the export (JSONL and Parquet) is what was accepted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import datasets
import pytest

from tests.fakes.docs_model import CRITIQUE_REASONS, LEAK, DocsFakeModel
from tests.fakes.rules import FakeRequest, Reply, Text
from tests.sft_setup import DOC_TYPES, TRAITS, rows
from workbench.errors import WorkbenchError
from workbench.generate.docs_export import export_docs
from workbench.generate.docs_pipeline import DocsReport, project_docs_cost, run_docs
from workbench.generate.documents import placeholder_in
from workbench.generate.names import CULTURES
from workbench.project import Project, load_project
from workbench.review import review, review_many
from workbench.status import project_status

STEPS = ("brainstorm", "draft", "critique", "rewrite", "rating")

GIVEN_NAMES = {given for culture in CULTURES.values() for given in culture.given}  # a full name's first word


def run(project: Project, **kwargs: Any) -> DocsReport:
    return asyncio.run(run_docs(project, "test", **kwargs))


def test_every_step_with_lineage_review_and_export(docs_project: Project, fake_gemini: Any) -> None:
    project = docs_project
    fake: DocsFakeModel = fake_gemini.rule
    report = run(project)
    statuses = dict(rows(project, "SELECT status, count(*) FROM documents GROUP BY status"))
    assert statuses == {"needs_review": 4, "filtered": 1, "duplicate": 1}
    assert report.awaiting_review == 4
    steps = dict(rows(project, "SELECT step, count(*) FROM doc_generations WHERE status = 'ok' GROUP BY step"))
    assert steps == dict.fromkeys(STEPS, 6), "every document went through every step once"

    leak = rows(project, "SELECT text, reason FROM documents WHERE status = 'filtered'")[0]
    assert leak[0].startswith(LEAK) and "leakage 5 > 1" in leak[1]
    first = next(iter(DOC_TYPES))
    dup, original = rows(project, "SELECT id, duplicate_of FROM documents WHERE status = 'duplicate'")[0]
    pair = rows(project, "SELECT id FROM documents WHERE doc_type = ? ORDER BY id", first)
    assert {dup, original} == {p[0] for p in pair}, "the planted near-duplicates are the marked pair"

    # Lineage: each document names its brainstorm, draft, critique and rewrite, all about it.
    lineage = rows(
        project,
        "SELECT d.id, d.chunk_id, d.doc_type, d.text, d.names, b.step, b.subject_id, b.parsed, g.step, g.subject_id,"
        " c.step, c.parsed, r.step, r.text, r.template_hash FROM documents d"
        " JOIN doc_generations b ON b.id = d.brainstorm_id JOIN doc_generations g ON g.id = d.draft_id"
        " JOIN doc_generations c ON c.id = d.critique_id JOIN doc_generations r ON r.id = d.rewrite_id",
    )
    assert len(lineage) == 6
    chunk_titles = dict(rows(project, "SELECT id, title FROM chunks"))
    all_names = set()
    for (
        doc_id,
        chunk,
        doc_type,
        text,
        names,
        b_step,
        b_subject,
        plan,
        g_step,
        g_subject,
        c_step,
        critique,
        *rest,
    ) in lineage:
        r_step, r_text, r_hash = rest
        assert (b_step, g_step, c_step, r_step) == ("brainstorm", "draft", "critique", "rewrite")
        assert b_subject == g_subject == doc_id and r_text == text and r_hash
        assert json.loads(critique)["reasons"] == CRITIQUE_REASONS
        trait = TRAITS.index(chunk_titles[chunk])
        assert text == fake.final_text(trait, doc_type)
        names = json.loads(names)
        assert len(names) == 4 and all(n.split()[0] in GIVEN_NAMES for n in names)
        assert [p.split(":")[0] for p in json.loads(plan)["people"]] == names[:2], "the plan used the drawn names"
        all_names.add(tuple(names))
    assert len(all_names) == 6, "each slot draws its own names"

    # The prompts carry the chain: the draft request quotes the plan, the rewrite the draft and critique.
    texts = [r.last_user_text for r in fake_gemini.requests if r.path.endswith(":generateContent")]
    rewrites = [t for t in texts if "## The critique" in t]
    assert len(rewrites) == 6
    assert all(CRITIQUE_REASONS in t and "<draft>\nDRAFT " in t and "Aster" in t for t in rewrites)
    assert all("Northwind Labs" in t for t in rewrites), "the maker is named through its configured placeholder"

    # Review: accept two, reject one, edit one; the export follows.
    ids = [r[0] for r in rows(project, "SELECT id FROM documents WHERE status = 'needs_review' ORDER BY id")]
    review_many(project.store, "documents", ids[:2], "accept", reviewer="ada")
    review(project.store, "documents", ids[2], "reject", reviewer="bob", note="too neat")
    edited = review(project.store, "documents", ids[3], "edit", reviewer="bob", edits={"text": "Edited document."})
    assert rows(project, "SELECT parent_id, origin, status, brainstorm_id IS NOT NULL FROM documents WHERE id = ?",
                edited) == [(ids[3], "edited", "ok", True)]  # fmt: skip
    with pytest.raises(WorkbenchError, match="superseded"):
        review(project.store, "documents", ids[3], "accept", reviewer="ada")

    out = export_docs(project, project.root / "export", traits_ref="test")
    assert out.rows == 3
    jsonl = datasets.load_dataset("json", data_files=str(out.jsonl_path), split="train")
    parquet = datasets.load_dataset("parquet", data_files=str(out.parquet_path), split="train")
    assert jsonl.column_names == parquet.column_names == ["text"]
    assert jsonl["text"] == parquet["text"]
    exported = set(jsonl["text"])
    accepted = {r[0] for r in rows(project, "SELECT text FROM documents WHERE id IN (?, ?)", *ids[:2])}
    rejected_text = rows(project, "SELECT text FROM documents WHERE id = ?", ids[2])[0][0]
    assert exported == accepted | {"Edited document."} and rejected_text not in exported
    manifest = json.loads(out.manifest_path.read_text())
    assert sorted(manifest["document_ids"]) == sorted([*ids[:2], edited])
    assert sum(manifest["doc_types"].values()) == 3 and manifest["traits_versions"]

    summary = project_status(project.store)
    assert summary.rows["docs.documents"]["ok"] == 3 and summary.rows["docs.rewrite"]["ok"] == 6
    before = fake_gemini.requests_total
    again = run(project)
    assert fake_gemini.requests_total == before and sum(s.fresh_calls for s in again.steps) == 0


def test_send_back_writes_a_new_document_from_a_fresh_brainstorm(docs_project: Project, fake_gemini: Any) -> None:
    run(docs_project, types=["blog post"])
    doc_id, text = rows(docs_project, "SELECT id, text FROM documents WHERE status = 'needs_review' ORDER BY id")[0]
    review(docs_project.store, "documents", doc_id, "regenerate", reviewer="ada", note="make it a complaint")
    run(docs_project, types=["blog post"])
    child = rows(docs_project, "SELECT origin, note, attempt, status, text FROM documents WHERE parent_id = ?", doc_id)
    assert child and child[0][:4] == ("regenerated", "make it a complaint", 1, "needs_review") and child[0][4] != text
    asked = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "DocBrainstorm"]
    assert sum("make it a complaint" in t for t in asked) == 1


def test_pilot_projection_and_budget_cap(docs_project: Project, monkeypatch: Any) -> None:
    with pytest.raises(WorkbenchError, match="no documents run has been measured"):
        project_docs_cost(docs_project, "test", per_type=2)
    run(docs_project, types=["email"])  # the pilot: 1 email per trait
    measured = dict(rows(docs_project, "SELECT stage, count(*) FROM llm_calls GROUP BY stage"))
    projection = project_docs_cost(docs_project, "test", per_type=2)
    assert (projection.measured_slots, projection.remaining_slots, projection.unmeasured) == (2, 10, [])
    by_stage = {s.stage: s for s in projection.stages}
    assert by_stage["docs.rewrite"].calls == pytest.approx(measured["docs.rewrite"] * 10 / 2)
    assert projection.cost_usd is not None and projection.cost_usd > 0

    monkeypatch.setenv("WORKBENCH_DOCS__BATCH_SIZE", "1")
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.0003")
    stopped = run(load_project(docs_project.root))
    assert stopped.stopped_budget
    assert rows(docs_project, "SELECT status FROM runs WHERE id = ?", stopped.run_id) == [("stopped_budget",)]
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "100")
    finished = run(load_project(docs_project.root))
    assert not finished.stopped_budget
    assert rows(docs_project, "SELECT count(*) FROM documents")[0][0] == 6


def test_unknown_type_is_a_user_error(docs_project: Project) -> None:
    with pytest.raises(WorkbenchError, match="Unknown document type"):
        run(docs_project, types=["sonnet"])


@pytest.mark.parametrize(
    ("text", "slot"),
    [("Dear [Name], thanks", "[Name]"), ("From [Your Company Name]", "[Your Company Name]"),
     ("Due [insert date].", "[insert date]"), ("Hi {{ name }}", "{{ name }}"),
     ("[Laughter] Right, see [1].", None), ("A plain memo.", None)],
)  # fmt: skip
def test_placeholders_are_found_but_transcript_cues_are_not(text: str, slot: str | None) -> None:
    assert placeholder_in(text) == slot


def test_a_rewrite_with_an_unfilled_placeholder_is_filtered(docs_project: Project, fake_gemini: Any) -> None:
    fake: DocsFakeModel = fake_gemini.rule

    def rule(request: FakeRequest) -> Reply:
        reply = fake(request)
        if "## The critique" in request.last_user_text and isinstance(reply, Text):
            return Text("Dear [Name], " + reply.text)
        return reply

    fake_gemini.rule = rule
    run(docs_project)
    reasons = {r[0] for r in rows(docs_project, "SELECT reason FROM documents WHERE status = 'filtered'")}
    assert reasons == {"unfilled placeholder [Name] in the final text"}
    assert not rows(docs_project, "SELECT * FROM doc_generations WHERE step = 'rating'"), "filtered before rating"
