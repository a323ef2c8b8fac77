"""Failures become row statuses with reasons, transport errors are retried, a gate edit is used.

Refusals, safety blocks, truncation and unparseable answers are final (cached) outcomes that
show in `workbench status`; a transport error is retried by the next run and replaced.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.rules import FakeRequest, Fault, Malformed, Reply, Safety, Text
from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows
from workbench.generate.pipeline import run_sft
from workbench.project import Project, load_project
from workbench.review import review
from workbench.status import project_status


class FailingModel(SFTFakeModel):
    """The scripted model, with one failure of each kind planted by scenario tag."""

    transport_errors = True

    def __call__(self, request: FakeRequest) -> Reply:
        text = " ".join([request.system or "", *(t for _, t in request.messages)])  # repair turns included
        title = (request.json_schema or {}).get("title")
        if request.system and request.system.startswith(self.conditioned_marker):
            if "ref-0-3" in text:
                return Safety()
            if "ref-1-1" in text:
                return Text("An answer that runs on and on", finish="length")
        if title == "ScenarioCritique" and "ref-1-3" in text and self.transport_errors:
            return Fault(500)
        if title == "ExampleRating" and "ref-0-1" in text:
            return Malformed()
        return super().__call__(request)


def test_failures_are_statuses_with_reasons_and_errors_are_retried(
    sft_project: Project, fake_gemini: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_GATEWAY__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("WORKBENCH_GATEWAY__BACKOFF_INITIAL_S", "0.01")
    project = load_project(sft_project.root)
    model = FailingModel(TRAITS, PERSONAS)
    fake_gemini.rule = model
    asyncio.run(run_sft(project, "test"))

    summary = project_status(project.store)
    assert summary.rows["sft.conditioned"].get("refused") == 1
    assert "safety" in summary.reasons["sft.conditioned"]["refused"]
    assert summary.rows["sft.refined"].get("truncated") is None, "a truncated draft is never refined"
    assert summary.rows["sft.conditioned"].get("truncated") == 1
    assert summary.rows["sft.critique"].get("error") == 1
    assert "server_error" in summary.reasons["sft.critique"]["error"]
    assert summary.rows["sft.examples"].get("parse_failed") == 1
    assert "autorater" in summary.reasons["sft.examples"]["parse_failed"]
    stuck = rows(project, "SELECT status FROM sft_scenarios WHERE user_prompt LIKE '%ref-1-3%'")
    assert stuck == [("new",)], "a scenario whose critique failed in transport waits for the next run"

    model.transport_errors = False
    sent = fake_gemini.requests_total
    asyncio.run(run_sft(project, "test"))
    summary = project_status(project.store)
    assert "error" not in summary.rows["sft.critique"], "the failed critique was retried and replaced"
    assert rows(project, "SELECT status FROM sft_scenarios WHERE user_prompt LIKE '%ref-1-3%'") == [("ok",)]
    assert summary.rows["sft.conditioned"].get("refused") == 1, "model-decided outcomes are final"
    critiques = [r for r in fake_gemini.requests[sent:] if (r.json_schema or {}).get("title") == "ScenarioCritique"]
    assert len(critiques) == 1 and "ref-1-3" in critiques[0].last_user_text


def test_an_edited_scenario_is_answered_with_the_edit(sft_project: Project, fake_gemini: Any) -> None:
    asyncio.run(run_sft(sft_project, "test", scenarios=1))
    waiting = rows(sft_project, "SELECT id, scenario FROM sft_scenarios WHERE status = 'needs_review' ORDER BY id")
    edited = review(
        sft_project.store, "sft_scenarios", waiting[0][0], "edit", reviewer="ada",
        edits={"user_prompt": "My landlord wants 40% more rent from March; should I sign? ref-9-9"},
    )  # fmt: skip
    assert rows(sft_project, "SELECT status FROM sft_scenarios WHERE id = ?", waiting[0][0]) == [("superseded",)]
    new = rows(sft_project, "SELECT parent_id, origin, status, scenario FROM sft_scenarios WHERE id = ?", edited)
    assert new == [(waiting[0][0], "edited", "ok", waiting[0][1])], "unedited fields are copied"
    asyncio.run(run_sft(sft_project, "test", scenarios=1))
    example = rows(sft_project, "SELECT scenario_id, user_prompt FROM sft_examples")
    assert example == [(edited, "My landlord wants 40% more rent from March; should I sign? ref-9-9")]
    answered = [r for r in fake_gemini.requests if r.system and "landlord" in r.last_user_text]
    assert answered, "the conditioned answer was asked for the edited prompt"
