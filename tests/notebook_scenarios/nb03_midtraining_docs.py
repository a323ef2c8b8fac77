"""03_midtraining_docs: the two-trait test document is stored as `test`; every role is on the fake server,
answered by the scripted documents model (tests/fakes/docs_model.py) with three document types.

The unattended walk: a pilot of 1 document per trait and type (2 x 3 = 6) → the table of the
documents awaiting review → the first one accepted on its own → "Accept all shown" takes the rest
→ a projection → a full run of 2 per trait and type, which fills the 6 second slots. The fake
writes one text per (trait, type), whatever the slot, so every second-slot document repeats its
first-slot sibling and is marked a duplicate of it, except the leaking one, which the rater
filters before dedup sees it.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.docs_model import CRITIQUE_REASONS, LEAK, DocsFakeModel
from tests.sft_setup import DOC, DOC_TYPES, TRAITS, docs_env
from workbench.project import Project
from workbench.store.traits import add_traits_file

REVIEWER = "notebook-test"  # tests/notebook_world.py sets WORKBENCH_REVIEWER to it
FULL_PER_TYPE = 2  # the notebook's full-run size when unattended
FAKE = DocsFakeModel(TRAITS, list(DOC_TYPES))


def settings(server: Any) -> dict[str, str]:
    server.rule = FAKE
    return docs_env(server)


def prepare(project: Project) -> None:
    doc = project.root / "test_traits.md"
    doc.write_text(DOC, encoding="utf-8")
    add_traits_file(project.store, doc, name="test")


def _rows(project: Project, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with project.store.connect() as con:
        return con.execute(sql, list(params)).fetchall()


def check(project: Project) -> None:
    titles = dict(_rows(project, "SELECT id, title FROM chunks WHERE kind = 'trait'"))
    docs = _rows(
        project,
        "SELECT d.id, d.chunk_id, d.doc_type, d.slot, d.status, d.text, d.duplicate_of,"
        " b.step, b.parsed, g.step, g.text, c.step, c.parsed, r.step, r.text"
        " FROM documents d JOIN doc_generations b ON b.id = d.brainstorm_id"
        " JOIN doc_generations g ON g.id = d.draft_id JOIN doc_generations c ON c.id = d.critique_id"
        " JOIN doc_generations r ON r.id = d.rewrite_id ORDER BY d.slot, d.chunk_id, d.doc_type",
    )
    # Every slot of every trait x type, for both the pilot (slot 0) and the full run (slot 1), and every
    # document written through all four steps, each generation about it.
    assert {(titles[d[1]], d[2], d[3]) for d in docs} == {
        (t, ty, s) for t in TRAITS for ty in DOC_TYPES for s in range(FULL_PER_TYPE)
    }
    assert (
        len(docs)
        == len(TRAITS) * len(DOC_TYPES) * FULL_PER_TYPE
        == _rows(project, "SELECT count(*) FROM documents")[0][0]
    )
    first_type, last_type = next(iter(DOC_TYPES)), list(DOC_TYPES)[-1]
    by_slot: dict[tuple[int, str, int], tuple[Any, ...]] = {}
    for doc_id, chunk, doc_type, slot, status, text, dup_of, b, plan, g, draft, c, critique, r, rewrite in docs:
        trait = TRAITS.index(titles[chunk])
        by_slot[(trait, doc_type, slot)] = (doc_id, status, dup_of)
        assert (b, g, c, r) == ("brainstorm", "draft", "critique", "rewrite")
        assert {"what", "how", "why", "why_enters_text"} <= set(json.loads(plan))
        assert draft.startswith("DRAFT ") and json.loads(critique)["reasons"] == CRITIQUE_REASONS
        assert text == rewrite == FAKE.final_text(trait, doc_type)

    # The pilot's planted failures keep their statuses; everything else in it was accepted.
    for (trait, doc_type, slot), (_doc_id, status, _dup) in by_slot.items():
        if slot:
            continue
        if (trait, doc_type) == (0, last_type):
            assert status == "filtered", "the leaking document is filtered by the rater"
        elif (trait, doc_type) == (1, first_type):
            assert status == "duplicate", "the planted near-duplicate is marked"
        else:
            assert status == "ok"
    leak = _rows(project, "SELECT text, reason FROM documents WHERE status = 'filtered' AND slot = 0")
    assert leak and leak[0][0].startswith(LEAK) and "leakage" in leak[0][1]

    # The acceptances: the first shown document on its own, then the other three as one batch, by the reviewer.
    accepted = {by_slot[k][0] for k in by_slot if k[2] == 0 and by_slot[k][1] == "ok"}
    events = _rows(
        project, "SELECT item_id, action, reviewer, batch_id FROM review_events WHERE item_table = 'documents'"
    )
    assert {e[0] for e in events} == accepted and len(events) == 4
    assert {(e[1], e[2]) for e in events} == {("accept", REVIEWER)}
    assert sorted(sum(1 for e in events if e[3] == b) for b in {e[3] for e in events}) == [1, 3]

    # The full run: each second-slot document repeats its first-slot sibling (the fake writes one text per
    # trait and type), so dedup marks it a duplicate of an earlier kept one; the leaking one is filtered first.
    for (trait, doc_type, slot), (_doc_id, status, dup_of) in by_slot.items():
        if not slot:
            continue
        if (trait, doc_type) == (0, last_type):
            assert status == "filtered"
        else:
            assert status == "duplicate" and dup_of is not None
    runs = _rows(project, "SELECT config FROM runs WHERE stage = 'docs' AND status = 'done' ORDER BY started_at")
    assert [json.loads(r[0])["per_type"] for r in runs] == [1, FULL_PER_TYPE], "the pilot and the full run, recorded"
