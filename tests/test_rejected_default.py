"""Issue 19, method fidelity of preference pairs: the rejected answer is made without the trait in the
system prompt (the baseline's answer, by default), checked, and regenerated a bounded number of times
when the check finds the trait, ending with a visible reason rather than a silent gap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.rules import FakeRequest, Reply, Text
from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows, run
from workbench.generate.pipeline import SFTReport
from workbench.generate.steps import stable_id
from workbench.project import Project, load_project

BASELINE = "Baseline: everyone feels this way sometimes, follow your heart."  # what SFTFakeModel's baseline says


def approved(sft_project: Project, monkeypatch: pytest.MonkeyPatch, **settings: str) -> Project:
    """The SFT project with scenarios approved automatically, one per trait, and `settings` under [sft]."""
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__SCENARIOS_PER_CHUNK", "2")
    for key, value in settings.items():
        monkeypatch.setenv(f"WORKBENCH_SFT__{key.upper()}", value)
    return load_project(sft_project.root)


def contrastive_calls(fake_gemini: Any) -> list[Any]:
    marker = SFTFakeModel(TRAITS, PERSONAS).rejected_marker
    return [r for r in fake_gemini.requests if r.system and r.system.startswith(marker)]


def examples(project: Project) -> list[tuple[Any, ...]]:
    """(scenario id, rejected, rejected generation id) of every example."""
    return rows(project, "SELECT scenario_id, rejected, rejected_generation_id FROM sft_examples ORDER BY id")


def assemble(report: SFTReport) -> Any:
    return next(step for step in report.steps if step.step == "assemble")


def test_by_default_the_rejected_answer_is_the_baseline_answer_with_no_contrastive_call(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = approved(sft_project, monkeypatch)
    run(project)
    found = examples(project)
    assert found
    assert not contrastive_calls(fake_gemini), "no 'lack the trait' prompt is sent"
    assert rows(project, "SELECT count(*) FROM sft_generations WHERE step = 'rejected'") == [(0,)]
    for scenario, rejected, generation in found:
        assert rejected == BASELINE and generation == stable_id("baseline", scenario, "")
        step, system = rows(project, "SELECT step, system_prompt FROM sft_generations WHERE id = ?", generation)[0]
        assert (step, system) == ("baseline", None), "made without any system prompt"
        checks = rows(project, "SELECT count(*) FROM sft_generations WHERE step = 'rejected_check' AND subject_id = ?",
                      generation)  # fmt: skip
        assert checks == [(1,)], "the baseline answer is still checked"


def test_the_contrastive_prompt_stays_an_option(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = approved(sft_project, monkeypatch, rejected_source="contrastive")
    run(project)
    assert contrastive_calls(fake_gemini)
    assert all(rejected.startswith("Sure! Here are some general tips") for _, rejected, _ in examples(project))


class TraitInBaseline:
    """SFTFakeModel, except that the check finds the trait in the first baseline answer (or in every
    answer, with `always`), and a fresh sample of the baseline answers with other words."""

    def __init__(self, always: bool) -> None:
        self.fake, self.always = SFTFakeModel(TRAITS, PERSONAS), always

    def __call__(self, request: FakeRequest) -> Reply:
        if (request.json_schema or {}).get("title") == "RejectedCheck":
            embodies = self.always or BASELINE in request.last_user_text
            return Text(json.dumps({"embodies_trait": embodies, "reasons": "It weighs the risk for them."}))
        plain = not request.system and not request.json_schema
        if plain and request.attempt and not any(t in request.last_user_text for t in TRAITS):
            return Text(f"Sample {request.attempt}: a list of generic tips.")  # a new sample of a baseline answer
        return self.fake(request)


def test_a_rejected_answer_that_embodies_the_trait_is_replaced_by_a_fresh_sample(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gemini.rule = TraitInBaseline(always=False)
    project = approved(sft_project, monkeypatch)
    report = run(project)
    found = examples(project)
    assert found and "without_rejected" not in assemble(report).written
    for scenario, rejected, generation in found:
        assert rejected == "Sample 1: a list of generic tips." and generation == stable_id("rejected", scenario, "1")
        role, system = rows(project, "SELECT role, system_prompt FROM sft_generations WHERE id = ?", generation)[0]
        assert (role, system) == ("baseline", None), "the new try has no system prompt either"
    assert not contrastive_calls(fake_gemini)


def test_when_every_try_embodies_the_trait_the_example_says_why_it_has_no_pair(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gemini.rule = TraitInBaseline(always=True)
    project = approved(sft_project, monkeypatch, rejected_regenerations="2")
    report = run(project)
    found = examples(project)
    assert found
    for scenario, rejected, generation in found:
        assert rejected is None and generation == stable_id("rejected", scenario, "2"), "the last try is linked"
        tries = [stable_id("baseline", scenario, ""), stable_id("rejected", scenario, "1"), generation]
        checked = rows(project, "SELECT subject_id FROM sft_generations WHERE step = 'rejected_check'"
                       " AND subject_id IN (SELECT unnest(?))", tries)  # fmt: skip
        assert len(checked) == 3, "the first answer and two regenerations, each checked, and no more"
    step = assemble(report)
    assert step.written["without_rejected"] == len(found)
    assert step.first_reason["without_rejected"] == (
        "no rejected answer after 3 tries: the check found the trait: It weighs the risk for them."
    )
    before = fake_gemini.requests_total
    run(project)
    assert fake_gemini.requests_total == before, "a spent scenario is not asked again"
