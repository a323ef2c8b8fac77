"""workbench/views/sft_pilot.py: the SFT notebook's tables, on the fake pipeline's planted data."""

from __future__ import annotations

import asyncio

import pytest

from tests.sft_setup import TRAITS, rows
from workbench.generate.cost import project_sft_cost
from workbench.generate.pipeline import run_sft
from workbench.project import Project
from workbench.review import review, review_many
from workbench.store.traits import get_version, version_chunks
from workbench.views.runs import projection_rows, step_rows
from workbench.views.sft_pilot import example_rows, scenario_rows


def test_scenarios_carry_their_critique_and_baseline_and_replaced_rows_drop_out(sft_project: Project) -> None:
    version = get_version(sft_project.store, "test")
    chunk_ids = [c.id for c in version_chunks(sft_project.store, version.id) if c.kind == "trait"]
    report = asyncio.run(run_sft(sft_project, "test", steps=["scenarios", "critique"]))

    waiting = scenario_rows(sft_project, version.id, chunk_ids)
    assert len(waiting) == report.scenarios_awaiting_review == 7
    assert all(r.verdict == "keep" and r.critique == "good" and r.baseline.startswith("Baseline:") for r in waiting)
    assert [r.trait for r in waiting] == sorted((r.trait for r in waiting), key=TRAITS.index), "traits in order"
    # The revised scenario shows as its rewrite only; the dropped one with the critic's verdict.
    current = scenario_rows(sft_project, version.id, chunk_ids, statuses=())
    assert {r.status for r in current} == {"needs_review", "filtered"}
    assert next(r for r in current if r.status == "filtered").verdict == "drop"
    assert any(r.origin == "revised" and r.user_prompt.startswith("REVISED") for r in waiting)
    assert scenario_rows(sft_project, version.id, chunk_ids[:1], statuses=()) == [
        r for r in current if r.trait == TRAITS[0]
    ]

    edited = review(
        sft_project.store, "sft_scenarios", waiting[0].id, "edit", reviewer="ada", edits={"user_prompt": "X"}
    )
    after = scenario_rows(sft_project, version.id, chunk_ids, statuses=())
    assert waiting[0].id not in {r.id for r in after}
    assert next(r for r in after if r.id == edited).user_prompt == "X"


def test_examples_carry_scores_and_dedup_and_the_run_tables_read_back(sft_project: Project) -> None:
    version = get_version(sft_project.store, "test")
    chunk_ids = [c.id for c in version_chunks(sft_project.store, version.id) if c.kind == "trait"]
    asyncio.run(run_sft(sft_project, "test", steps=["scenarios", "critique"]))
    review_many(sft_project.store, "sft_scenarios", [r.id for r in scenario_rows(sft_project, version.id, chunk_ids)],
                "accept", reviewer="ada")  # fmt: skip
    report = asyncio.run(run_sft(sft_project, "test"))

    examples = example_rows(sft_project, version.id, chunk_ids)
    stored = dict(rows(sft_project, "SELECT id, status FROM sft_examples"))
    assert {e.id: e.status for e in examples} == stored
    assert all(e.realism == 4 and e.leakage in (1, 5) for e in examples)
    dup = next(e for e in examples if e.status == "duplicate")
    assert dup.duplicate_of in {e.id for e in examples} and dup.similarity >= 0.85
    assert example_rows(sft_project, version.id, chunk_ids, statuses=("filtered",))[0].leakage == 5

    table = step_rows(report.steps)
    assert [r["step"] for r in table] == [s.step for s in report.steps]
    assert all(
        r["fresh calls"] == s.fresh_calls and r.items() >= s.written.items()
        for r, s in zip(table, report.steps, strict=True)
    )
    projection = project_sft_cost(sft_project, "test", scenarios=6)
    assert [r["stage"] for r in projection_rows(projection)] == [s.stage for s in projection.stages]
    calls = sum(r["calls"] for r in projection_rows(projection))
    assert calls == pytest.approx(projection.calls, abs=0.05 * len(projection.stages)) and calls > 0
