"""A constitution's questions become seed user prompts of the SFT pipeline (`[sft] seed_prompts`).

The project is `sft_project`'s (every role on the fake Gemini server, 4 slots per trait), with
tests/data/traits/constitution.json as its traits: "Candid about risk" has two questions,
"Respects autonomy" none.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows, sft_env
from workbench.generate.cost import project_sft_cost
from workbench.generate.pipeline import SFTReport, run_sft
from workbench.generate.scenarios import SEEDED_SCENARIO
from workbench.project import Project, load_project
from workbench.review import review
from workbench.store.traits import add_traits_file
from workbench.traits import read_traits_file

CONSTITUTION = Path(__file__).parent / "data" / "traits" / "constitution.json"
QUESTIONS = read_traits_file(CONSTITUTION).chunks[0].questions


@pytest.fixture
def seeded_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    for key, value in sft_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)
    add_traits_file(project.store, CONSTITUTION, name="test")
    return load_project(project.root)


def _run(project: Project, **kwargs: Any) -> SFTReport:
    return asyncio.run(run_sft(project, "test", **kwargs))


def _scenario_calls(fake_gemini: Any, trait: str) -> int:
    """ScenarioDraft requests sent about `trait`."""
    return sum(
        1
        for r in fake_gemini.requests
        if (r.json_schema or {}).get("title") == "ScenarioDraft" and trait in r.last_user_text
    )


def _slots(project: Project, trait: str) -> list[tuple[Any, ...]]:
    return rows(
        project,
        "SELECT s.slot, s.origin, s.user_prompt, s.scenario FROM sft_scenarios s JOIN chunks c ON c.id = s.chunk_id"
        " WHERE c.title = ? AND s.round = 0 ORDER BY s.slot, s.attempt",
        trait,
    )


def test_questions_fill_the_first_slots_without_a_scenario_call_and_are_critiqued(
    seeded_project: Project, fake_gemini: Any
) -> None:
    _run(seeded_project, scenarios=1)  # a pilot: slot 0 only
    assert _slots(seeded_project, TRAITS[0]) == [(0, "seeded", QUESTIONS[0], SEEDED_SCENARIO)]
    assert _scenario_calls(fake_gemini, TRAITS[0]) == 0, "no scenario call paid for a seeded slot"
    seeded = rows(seeded_project, "SELECT id, status FROM sft_scenarios WHERE origin = 'seeded'")
    assert [s[1] for s in seeded] == ["needs_review"], "baselined and critiqued, then waits for a person"
    steps = rows(seeded_project, "SELECT step FROM sft_generations WHERE subject_id = ? ORDER BY step", seeded[0][0])
    assert steps == [("baseline",), ("critique",)]

    _run(seeded_project)  # the full run: 4 slots
    slots = _slots(seeded_project, TRAITS[0])
    assert [s[:3] for s in slots[:2]] == [(0, "seeded", QUESTIONS[0]), (1, "seeded", QUESTIONS[1])]
    assert [(s[0], s[1]) for s in slots[2:]] == [(2, "generated"), (3, "generated")]
    assert _scenario_calls(fake_gemini, TRAITS[0]) == 2, "only the slots past the questions asked the model"
    assert _scenario_calls(fake_gemini, TRAITS[1]) == 4, "a trait without questions is generated as before"

    before = fake_gemini.requests_total
    _run(seeded_project)
    assert fake_gemini.requests_total == before
    assert _slots(seeded_project, TRAITS[0]) == slots, "a rerun neither repeats nor re-seeds a slot"


def test_seed_prompts_off_generates_every_slot(
    seeded_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__SEED_PROMPTS", "off")
    _run(load_project(seeded_project.root), scenarios=2)
    assert not rows(seeded_project, "SELECT * FROM sft_scenarios WHERE origin = 'seeded'")
    assert _scenario_calls(fake_gemini, TRAITS[0]) == 2


def test_a_sent_back_seed_is_regenerated_by_the_model_not_seeded_again(
    seeded_project: Project, fake_gemini: Any
) -> None:
    _run(seeded_project, scenarios=1)
    seeded = rows(seeded_project, "SELECT id FROM sft_scenarios WHERE origin = 'seeded'")[0][0]
    review(seeded_project.store, "sft_scenarios", seeded, "regenerate", reviewer="ada", note="ask about a bike loan")
    _run(seeded_project, scenarios=1)
    child = rows(seeded_project, "SELECT origin, attempt, user_prompt FROM sft_scenarios WHERE parent_id = ?", seeded)
    assert len(child) == 1 and child[0][:2] == ("regenerated", 1) and child[0][2] != QUESTIONS[0]
    asked = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "ScenarioDraft"]
    assert any("ask about a bike loan" in text and QUESTIONS[0] in text for text in asked)
    assert rows(seeded_project, "SELECT count(*) FROM sft_scenarios WHERE origin = 'seeded'") == [(1,)]


def test_the_projection_counts_no_scenario_call_for_slots_questions_will_fill(seeded_project: Project) -> None:
    _run(seeded_project, scenarios=1)  # pilot: the first trait's slot 0 is seeded, the second's generated
    projection = project_sft_cost(seeded_project, "test", scenarios=4)
    stages = {s.stage: s for s in projection.stages}
    calls = dict(rows(seeded_project, "SELECT stage, count(*) FROM llm_calls GROUP BY stage"))
    # Slots left: 3 of the first trait (1 of them seeded with its second question) and 3 of the second;
    # the pilot's one scenario-call slot measured the scenario stage, both its slots the baseline.
    assert stages["sft.scenario"].calls == pytest.approx(calls["sft.scenario"] * (3 - 1 + 3))
    assert stages["sft.baseline"].calls == pytest.approx(calls["sft.baseline"] / 2 * 6), "seeded or not, baselined"
