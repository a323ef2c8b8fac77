"""The SFT pipeline end to end on the fake Gemini server: 2 traits x 4 scenarios, every step.

The fake model (tests/fakes/sft_model.py) plants a near-duplicate, a revision, a drop and a
leaking answer; people approve, reject, edit and send back; the export is what was accepted.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import datasets
import pytest

from tests.fakes.sft_model import LEAK, SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows, run
from workbench.errors import WorkbenchError
from workbench.generate.cost import project_sft_cost
from workbench.generate.export import export_sft
from workbench.generate.pipeline import run_sft
from workbench.project import Project, load_project
from workbench.review import review, review_many
from workbench.status import project_status


def test_every_step_with_planted_problems_and_human_review(sft_project: Project, fake_gemini: Any) -> None:
    project = sft_project
    first = run(project)
    # Gate: 8 scenarios; (0,1) revised once then kept, (1,2) dropped; the rest wait for a person.
    statuses = dict(rows(project, "SELECT status, count(*) FROM sft_scenarios GROUP BY status"))
    assert statuses == {"needs_review": 7, "revised": 1, "filtered": 1}
    assert first.scenarios_awaiting_review == 7
    revised = rows(project, "SELECT parent_id, round, origin FROM sft_scenarios WHERE round = 1")
    assert len(revised) == 1 and revised[0][1:] == (1, "revised")
    assert not rows(project, "SELECT * FROM sft_examples"), "nothing is answered before the human gate"

    # Human gate: reject one (trait 1, persona 1), approve the rest in bulk.
    waiting = [r[0] for r in rows(project, "SELECT id FROM sft_scenarios WHERE status = 'needs_review' ORDER BY id")]
    rejected = rows(project, "SELECT id FROM sft_scenarios WHERE user_prompt LIKE '%ref-1-1%'")[0][0]
    review(project.store, "sft_scenarios", rejected, "reject", reviewer="ada", note="off topic")
    review_many(project.store, "sft_scenarios", [w for w in waiting if w != rejected], "accept", reviewer="ada")

    second = run(project)
    examples = dict(rows(project, "SELECT status, count(*) FROM sft_examples GROUP BY status"))
    # 6 approved -> 6 examples: the leaking one filtered, one of the planted pair a duplicate.
    assert examples == {"needs_review": 4, "filtered": 1, "duplicate": 1}
    assert second.examples_awaiting_review == 4
    leak = rows(project, "SELECT response, reason FROM sft_examples WHERE status = 'filtered'")[0]
    assert leak[0].startswith(LEAK) and "leakage 5 > 1" in leak[1]
    dup, original = rows(project, "SELECT id, duplicate_of FROM sft_examples WHERE status = 'duplicate'")[0]
    pair = rows(project, "SELECT id FROM sft_examples WHERE user_prompt LIKE '%ref-0-0%' ORDER BY id")
    assert {dup, original} == {p[0] for p in pair}, "the planted near-duplicates are the marked pair"

    # Lineage: example -> refined answer -> conditioned answer (system prompt stored) -> scenario.
    lineage = rows(
        project,
        "SELECT e.scenario_id, c.subject_id, c.system_prompt, c.template_hash, r.template_hash, e.rejected"
        " FROM sft_examples e JOIN sft_generations r ON r.id = e.response_generation_id"
        " JOIN sft_generations c ON c.id = r.subject_id WHERE e.status = 'needs_review'",
    )
    for scenario, subject, system, conditioned_hash, refined_hash, rejected_answer in lineage:
        assert scenario == subject and (TRAITS[0] in system or TRAITS[1] in system)
        assert conditioned_hash and refined_hash and rejected_answer.startswith("Baseline:")  # no system prompt

    # Review: accept two, reject one, edit one.
    ids = [r[0] for r in rows(project, "SELECT id FROM sft_examples WHERE status = 'needs_review' ORDER BY id")]
    review_many(project.store, "sft_examples", ids[:2], "accept", reviewer="ada")
    review(project.store, "sft_examples", ids[2], "reject", reviewer="bob", note="preachy")
    edited = review(project.store, "sft_examples", ids[3], "edit", reviewer="bob", edits={"response": "Edited."})
    assert edited != ids[3]
    assert rows(project, "SELECT status FROM sft_examples WHERE id = ?", ids[3]) == [("superseded",)]
    assert rows(project, "SELECT parent_id, origin, status FROM sft_examples WHERE id = ?", edited) == [
        (ids[3], "edited", "ok")
    ]
    with pytest.raises(WorkbenchError, match="superseded"):
        review(project.store, "sft_examples", ids[3], "accept", reviewer="ada")

    out = export_sft(project, project.root / "export", traits_ref="test")
    assert (out.chat_rows, out.preference_rows) == (3, 3)
    chat = datasets.load_dataset("json", data_files=str(out.chat_path), split="train")
    assert all([m["role"] for m in row["messages"]] == ["user", "assistant"] for row in chat)
    answers = {row["messages"][1]["content"] for row in chat}
    assert "Edited." in answers
    rejected_text = rows(project, "SELECT response FROM sft_examples WHERE id = ?", ids[2])[0][0]
    assert rejected_text not in answers and not any(a.startswith(LEAK) for a in answers)
    prefs = datasets.load_dataset("json", data_files=str(out.preference_path), split="train")
    assert set(prefs.column_names) == {"prompt", "chosen", "rejected"}
    manifest = json.loads(out.manifest_path.read_text())
    assert sorted(manifest["chat_example_ids"]) == sorted([*ids[:2], edited])

    # Status shows every stage's rows with reasons; a re-run sends nothing.
    summary = project_status(project.store)
    assert summary.rows["sft.examples"]["ok"] == 3 and summary.rows["sft.scenarios"]["rejected"] == 1
    assert "leakage" in summary.reasons["sft.examples"]["filtered"]
    before = fake_gemini.requests_total
    again = run(project)
    assert fake_gemini.requests_total == before
    assert sum(step.fresh_calls for step in again.steps) == 0


def test_send_back_regenerates_with_the_note(sft_project: Project, fake_gemini: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__SCENARIOS_PER_CHUNK", "1")
    project = load_project(sft_project.root)
    run(project)
    scenario = rows(project, "SELECT id, user_prompt FROM sft_scenarios WHERE status = 'ok' ORDER BY id")[0]
    review(project.store, "sft_scenarios", scenario[0], "regenerate", reviewer="ada", note="make it about rent")
    example = rows(project, "SELECT id FROM sft_examples WHERE status = 'needs_review' ORDER BY id")[0][0]
    review(project.store, "sft_examples", example, "regenerate", reviewer="ada", note="shorter please")
    run(project)

    child = rows(project, "SELECT origin, note, user_prompt FROM sft_scenarios WHERE parent_id = ?", scenario[0])
    assert child and child[0][:2] == ("regenerated", "make it about rent") and child[0][2] != scenario[1]
    sent = [r for r in fake_gemini.requests if r.json_schema and r.json_schema.get("title") == "ScenarioDraft"]
    assert any("make it about rent" in r.last_user_text and scenario[1] in r.last_user_text for r in sent)
    redo = rows(project, "SELECT origin, note, response FROM sft_examples WHERE parent_id = ?", example)
    assert redo and redo[0][:2] == ("regenerated", "shorter please")
    systems = [r.system or "" for r in fake_gemini.requests]
    assert any("shorter please" in s for s in systems), "the note reaches the conditioned system prompt"
    with pytest.raises(WorkbenchError, match="needs a note"):
        review(project.store, "sft_examples", example, "regenerate", reviewer="ada")


def test_pilot_projection_scales_measured_calls_per_slot(sft_project: Project, monkeypatch: Any) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    project = load_project(sft_project.root)
    with pytest.raises(WorkbenchError, match="no SFT run has been measured"):
        project_sft_cost(project, "test", scenarios=4)
    asyncio.run(run_sft(project, "test", scenarios=1))  # the pilot: 1 slot per trait, 2 in all
    measured = dict(rows(project, "SELECT stage, count(*) FROM llm_calls GROUP BY stage"))
    projection = project_sft_cost(project, "test", scenarios=4)
    assert (projection.measured_slots, projection.remaining_slots, projection.unmeasured) == (2, 6, [])
    by_stage = {s.stage: s for s in projection.stages}
    assert by_stage["sft.scenario"].calls == pytest.approx(measured["sft.scenario"] * 6 / 2)
    assert projection.cost_usd is not None and projection.cost_usd > 0


def test_a_pilot_held_at_the_gate_names_the_stages_it_could_not_measure(sft_project: Project) -> None:
    asyncio.run(run_sft(sft_project, "test", scenarios=1))
    projection = project_sft_cost(sft_project, "test", scenarios=4)
    assert {s.stage for s in projection.stages} >= {"sft.scenario", "sft.baseline", "sft.critique"}
    assert "sft.conditioned" in projection.unmeasured and "sft.rating" in projection.unmeasured


def test_budget_cap_stops_cleanly_and_a_rerun_finishes(sft_project: Project, monkeypatch: Any) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__BATCH_SIZE", "2")
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.0005")
    stopped = run(load_project(sft_project.root))
    assert stopped.stopped_budget
    assert rows(sft_project, "SELECT status FROM runs WHERE id = ?", stopped.run_id) == [("stopped_budget",)]
    assert not rows(sft_project, "SELECT * FROM sft_generations WHERE status NOT IN ('ok')"), "no half-done rows"
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "100")
    finished = run(load_project(sft_project.root))
    assert not finished.stopped_budget and finished.examples_awaiting_review == 5


def test_a_near_duplicate_within_a_trait_is_regenerated_at_generation(sft_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS, echo_within_trait=True)
    asyncio.run(run_sft(sft_project, "test", steps=["scenarios"]))
    first = rows(sft_project, "SELECT slot, reason, user_prompt FROM sft_scenarios WHERE status = 'duplicate'")
    assert len(first) == 1 and "near-duplicate of scenario" in first[0][1] and "ref-0-0" in first[0][2]
    retry = rows(sft_project, "SELECT slot, status, user_prompt FROM sft_scenarios WHERE attempt = 1")
    assert retry == [(first[0][0], "new", retry[0][2])] and retry[0][2] != first[0][2]
    asked = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "ScenarioDraft"]
    assert any(first[0][2] in text for text in asked), "the retry lists the duplicate as something to avoid"
    live = rows(sft_project, "SELECT count(*) FROM sft_scenarios WHERE status = 'new'")[0][0]
    assert live == 8, "every slot of both traits ends with one scenario"


def test_export_with_nothing_accepted_says_how_and_writes_nothing(sft_project: Project, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="Nothing accepted to export from sft_examples") as error:
        export_sft(sft_project, tmp_path / "out")
    assert "sft review accept" in (error.value.hint or "")
    assert not (tmp_path / "out").exists()
