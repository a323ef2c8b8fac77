"""The review queue's filters, bulk decisions over a whole filter, undo, and the focus view."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest

from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows, run
from workbench.audit.audits import start_audit
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.patterns import add_pattern, edit_pattern
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import review, review_many
from workbench.review_undo import undo_batch
from workbench.views.focus import focus_item
from workbench.views.queue import QueueFilter, count_queue, queue_ids, queue_options, queue_page, review_queue


def chunk_of(project: Project, title: str) -> str:
    return str(rows(project, "SELECT id FROM chunks WHERE title = ?", title)[0][0])


def test_filters_select_exactly_the_matching_rows(project: Project) -> None:
    ids = plant_examples(project, 20)
    candid = chunk_of(project, "Candid")
    everything = QueueFilter()
    assert count_queue(project, everything) == 20 and queue_ids(project, everything) == ids
    # Trait: even-numbered examples are about Candid.
    assert queue_ids(project, QueueFilter(chunk_id=candid)) == ids[0::2]
    # Score: embodiment is 1 + i % 5, so embodiment <= 2 keeps i % 5 in {0, 1}.
    low = QueueFilter(score="embodiment", score_max=2)
    assert queue_ids(project, low) == [x for i, x in enumerate(ids) if i % 5 in (0, 1)]
    both = QueueFilter(chunk_id=candid, score="embodiment", score_min=3, score_max=3)
    assert queue_ids(project, both) == [x for i, x in enumerate(ids) if i % 2 == 0 and i % 5 == 2]
    # Text search is a parameter: quotes in it are searched for, not executed.
    assert queue_ids(project, QueueFilter(search="question 7?")) == ["ex-007"]
    assert queue_ids(project, QueueFilter(search="' OR 1=1 --")) == []
    # Pages walk the same order.
    assert [r.id for r in queue_page(project, everything, offset=5, limit=3)] == ids[5:8]
    page = queue_page(project, everything, limit=1)[0]
    assert page.trait == "Candid" and page.preview == "Question 0?" and page.scores["embodiment"] == 1  # type: ignore[index]


def test_reviewer_and_status_filters_follow_the_events(project: Project) -> None:
    ids = plant_examples(project, 6)
    review(project.store, "sft_examples", ids[0], "accept", reviewer="ada")
    review(project.store, "sft_examples", ids[1], "note", reviewer="bob", note="check the tone")
    assert queue_ids(project, QueueFilter(statuses=("ok",))) == [ids[0]]
    assert queue_ids(project, QueueFilter(statuses=(), reviewer="bob")) == [ids[1]]
    assert queue_ids(project, QueueFilter(unreviewed=True)) == ids[2:]
    # An undone decision no longer counts: the row is unreviewed again.
    accepted = review_many(project.store, "sft_examples", [ids[2]], "accept", reviewer="cy")
    assert ids[2] not in queue_ids(project, QueueFilter(statuses=(), unreviewed=True))
    undo_batch(project.store, accepted.batch_id, reviewer="cy")
    assert queue_ids(project, QueueFilter(statuses=(), unreviewed=True)) == ids[2:]
    assert queue_ids(project, QueueFilter(statuses=(), reviewer="cy")) == []
    options = queue_options(project, "examples")
    assert options.statuses == {"needs_review": 5, "ok": 1} and options.reviewers == ["ada", "bob", "cy"]
    assert [title for _, title in options.chunks] == ["Candid", "Kind"]


def planted_audit(project: Project, ids: list[str]) -> Any:
    """An audit over the examples with one pattern: strict on ex-000/1, broad on ex-002, absent elsewhere."""
    dataset = save_dataset(
        project, name="examples", source="sft", format="text",
        rows=[DatasetRow(i, {"text": f"row {i}"}, f"row {i}") for i in ids],
    )  # fmt: skip
    audit = start_audit(project, dataset.id)
    pattern = add_pattern(project, audit.id, "Opens with praise", "Starts by praising the question.",
                          broad="Any praise.", strict="Praise in the first sentence.")  # fmt: skip
    levels = ["strict", "strict", "broad"] + ["absent"] * (len(ids) - 3)
    with project.store.transaction() as con:
        for row_id, level in zip(ids, levels, strict=True):
            text_hash = hashlib.sha256(f"row {row_id}".encode()).hexdigest()
            con.execute(
                "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                " VALUES (?, ?, ?, ?, 'planted')",
                [pattern.id, pattern.criteria_hash, text_hash, level],
            )
    return pattern


def test_pattern_filter_and_hits_use_the_current_criteria(project: Project) -> None:
    ids = plant_examples(project, 5)
    pattern = planted_audit(project, ids)
    assert queue_ids(project, QueueFilter(pattern_id=pattern.id, pattern_level="strict")) == ids[:2]
    assert queue_ids(project, QueueFilter(pattern_id=pattern.id, pattern_level="broad")) == ids[:3]
    assert queue_ids(project, QueueFilter(pattern_id=pattern.id, pattern_level="absent")) == ids[3:]
    hits = focus_item(project, "examples", ids[0]).hits
    assert [(h.name, h.level) for h in hits] == [("Opens with praise", "strict")]
    assert queue_options(project, "examples").patterns[0][0] == pattern.id
    # New criteria: the old ratings no longer count until the pattern is rated again.
    edit_pattern(project, pattern.id, strict="Praise is the whole first paragraph.")
    assert queue_ids(project, QueueFilter(pattern_id=pattern.id, pattern_level="strict")) == []
    assert focus_item(project, "examples", ids[0]).hits == []


def test_bulk_decision_over_the_filter_is_one_batch_and_undo_restores_it(project: Project) -> None:
    ids = plant_examples(project, 10)
    with project.store.transaction() as con:
        con.execute("UPDATE sft_examples SET reason = 'kept by the rater' WHERE id = ?", [ids[0]])
    low = QueueFilter(score="embodiment", score_max=2)
    chosen = queue_ids(project, low)
    batch = review_queue(project, low, "reject", reviewer="ada", note="flat answers")
    assert batch.current_ids == chosen
    after = statuses(project)
    assert {i for i, s in after.items() if s == "rejected"} == set(chosen)
    events = rows(project, "SELECT count(*), count(DISTINCT batch_id) FROM review_events WHERE action = 'reject'")
    assert events == [(len(chosen), 1)]
    # Someone accepts one of them meanwhile: undo leaves that one alone and says why.
    review(project.store, "sft_examples", chosen[1], "accept", reviewer="bob")
    result = undo_batch(project.store, batch.batch_id, reviewer="ada")
    assert result.restored == len(chosen) - 1 and set(result.skipped) == {chosen[1]}
    assert "bob decided 'accept'" in result.skipped[chosen[1]]
    back = statuses(project)
    assert back[chosen[1]] == "ok" and all(back[i] == "needs_review" for i in chosen if i != chosen[1])
    assert rows(project, "SELECT reason FROM sft_examples WHERE id = ?", ids[0]) == [("kept by the rater",)]
    # Nothing was deleted: the history holds the decision and its undo.
    assert rows(project, "SELECT count(*) FROM review_events WHERE action = 'undo'") == [(len(chosen) - 1,)]
    with pytest.raises(WorkbenchError, match="already been undone"):
        undo_batch(project.store, batch.batch_id, reviewer="ada")
    with pytest.raises(WorkbenchError, match="No review decision"):
        undo_batch(project.store, "nope", reviewer="ada")


def test_undoing_an_edit_brings_back_the_original(project: Project) -> None:
    ids = plant_examples(project, 2)
    batch = review_many(project.store, "sft_examples", [ids[0]], "edit", reviewer="ada", edits={"response": "Better."})
    copy = batch.current_ids[0]
    assert statuses(project)[ids[0]] == "superseded" and statuses(project)[copy] == "ok"
    undo_batch(project.store, batch.batch_id, reviewer="ada")
    assert statuses(project)[ids[0]] == "needs_review" and statuses(project)[copy] == "withdrawn"
    assert queue_ids(project, QueueFilter()) == ids, "the withdrawn copy leaves the queue; the original is back"
    # The withdrawn copy does not stand in the way of later decisions or their undo ...
    accepted = review_many(project.store, "sft_examples", [ids[0]], "accept", reviewer="bob")
    assert undo_batch(project.store, accepted.batch_id, reviewer="bob").restored == 1
    # ... and the same edit made again is a new version, not the withdrawn one.
    again = review_many(project.store, "sft_examples", [ids[0]], "edit", reviewer="ada", edits={"response": "Better."})
    assert again.current_ids[0] != copy and statuses(project)[again.current_ids[0]] == "ok"


def test_bulk_review_is_all_or_nothing(project: Project) -> None:
    ids = plant_examples(project, 3)
    review(project.store, "sft_examples", ids[2], "edit", reviewer="ada", edits={"response": "x"})
    with pytest.raises(WorkbenchError, match="superseded"):
        review_many(project.store, "sft_examples", ids, "accept", reviewer="ada")
    assert [statuses(project)[i] for i in ids[:2]] == ["needs_review", "needs_review"]


def test_focus_view_of_a_pipeline_example_shows_every_answer(sft_project: Project) -> None:
    project = sft_project
    run(project)
    waiting = [r[0] for r in rows(project, "SELECT id FROM sft_scenarios WHERE status = 'needs_review'")]
    review_many(project.store, "sft_scenarios", waiting, "accept", reviewer="ada")
    run(project)
    example = rows(project, "SELECT id, scenario_id, response FROM sft_examples WHERE status = 'needs_review'")[0]
    review(project.store, "sft_examples", example[0], "note", reviewer="ada", note="good <b>tone</b>")
    item = focus_item(project, "examples", example[0])
    assert [a.step for a in item.answers] == ["baseline", "conditioned", "refined"]
    assert item.answers[-1].text == example[2] and item.answers[1].system_prompt
    assert item.answers[0].system_prompt is None, "the baseline answers with no system prompt"
    assert item.critique is not None and item.critique.parsed is not None
    assert item.scores is not None and set(item.scores) >= {"realism", "embodiment", "reasons"}
    assert item.trait and item.trait_text and item.scenario
    assert [(e.reviewer, e.action, e.note) for e in item.events] == [("ada", "note", "good <b>tone</b>")]
    scenario = focus_item(project, "scenarios", example[1])
    assert [a.step for a in scenario.answers] == ["baseline"] and scenario.critique is not None
    with pytest.raises(WorkbenchError, match="No row"):
        focus_item(project, "examples", "missing")


def test_search_finds_text_in_the_prompt_the_answer_and_across_the_two(project: Project) -> None:
    ids = plant_examples(project, 12)
    assert queue_ids(project, QueueFilter(search="QUESTION")) == ids  # in every prompt, any case
    assert queue_ids(project, QueueFilter(search="11.")) == [ids[11]]  # in one answer only
    # A search holding a space or a LIKE wildcard can match where the prompt and the answer meet.
    assert queue_ids(project, QueueFilter(search="7? answer 7")) == [ids[7]]
    assert queue_ids(project, QueueFilter(search="7?_answer")) == [ids[7]]
    assert queue_ids(project, QueueFilter(search="absent")) == []
    # Scenarios: the prompt, or the situation when there is no prompt.
    scenarios = QueueFilter(stage="scenarios", statuses=())
    assert count_queue(project, replace(scenarios, search="situation")) == 12
    assert queue_ids(project, replace(scenarios, search="3?")) == ["sc-003"]
