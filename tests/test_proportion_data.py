"""Proportion data and prompt variety in the SFT pipeline (issue 19, items 1, 7 and 9).

With `[sft] trait_off_share`, a seeded share of the slots are trait-off (an `exception` the
guidance makes, or an `ordinary` request): the scenario, critique, answer, refinement and
autorater prompts say so, the critic sees the guidance, and the autorater's `fit` score, not its
embodiment score, decides whether such a row is kept. How much background a user prompt carries
follows the slot's `length` and `detail` axes; refinements open in varied ways; the critique's
round label counts critiques, not revisions.

Run on the fake Gemini server with the scripted SFT model (tests/fakes/sft_model.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.fakes.rules import FakeRequest, Reply, Text
from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows, run
from workbench.config_stages import Thresholds
from workbench.generate.quality import threshold_failures
from workbench.generate.responses import OPENINGS
from workbench.generate.scenarios import axes_for, background_level, situation_for
from workbench.generate.schemas import ExampleRating
from workbench.project import Project, load_project
from workbench.prompts import load_template

GUIDANCE = "When the two pull apart, candour comes first"  # from the test traits document
AXES = {
    "persona": PERSONAS,
    "length": ["one short line", "several paragraphs with details"],
    "detail": ["the bare question", "full background and specifics"],
}
BRIEF = "numbers, names, dates, constraints, what they have already tried"  # the "full" background wording
TRAIT_OFF_NOTE = "What this example is for"  # the autorater's section on a trait-off example


class ProportionModel(SFTFakeModel):
    """The scripted model, whose rater scores an example it is told is trait-off with low
    embodiment (as intended) and high fit."""

    def __call__(self, request: FakeRequest) -> Reply:
        reply = super().__call__(request)
        if (request.json_schema or {}).get("title") == "ExampleRating" and TRAIT_OFF_NOTE in request.last_user_text:
            assert isinstance(reply, Text)
            return Text(json.dumps(json.loads(reply.text) | {"embodiment": 1, "fit": 5}))
        return reply


@pytest.fixture
def proportion_project(sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The SFT test project with half its slots trait-off, length and detail axes, no human gate."""
    monkeypatch.setenv("WORKBENCH_SFT__TRAIT_OFF_SHARE", "0.5")
    monkeypatch.setenv("WORKBENCH_SFT__AXES", json.dumps(AXES))
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__PREFERENCE", "false")
    fake_gemini.rule = ProportionModel(TRAITS, PERSONAS)
    return load_project(sft_project.root)


def _chunk_ids(project: Project) -> dict[str, str]:
    """Trait title -> chunk id."""
    found = rows(project, "SELECT title, id FROM chunks WHERE title IN (SELECT unnest(?))", TRAITS)
    return {title: chunk for title, chunk in found}


def _requests(fake_gemini: Any, title: str) -> list[str]:
    """The user turns of the structured requests whose schema is `title`."""
    return [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == title]


def _slot_of_scenario_request(project: Project, prompt: str) -> tuple[str, int]:
    """(chunk id, slot) a scenario request is about: its trait and the persona its slot was given."""
    chunks = _chunk_ids(project)
    trait = next(t for t in TRAITS if t in prompt)
    slot = next(s for s in range(4) if f"persona: {axes_for(AXES, 0, chunks[trait], s)['persona']}" in prompt)
    return chunks[trait], slot


def test_trait_off_slots_are_drawn_stored_and_announced(proportion_project: Project, fake_gemini: Any) -> None:
    project = proportion_project
    run(project)
    drawn = {(chunk, slot): situation_for(0.5, 0, chunk, slot) for chunk in _chunk_ids(project).values()
             for slot in range(4)}  # fmt: skip
    stored = rows(project, "SELECT chunk_id, slot, situation FROM sft_scenarios")
    assert {(c, s) for c, s, _ in stored} == set(drawn)
    assert all(situation == drawn[(c, s)] for c, s, situation in stored), "every row, revisions too, keeps its draw"
    off = [key for key, situation in drawn.items() if situation != "trait_on"]
    assert 3 <= len(off) <= 5, "about half of the 8 slots"
    assert {drawn[key] for key in off} == {"exception", "ordinary"}

    for prompt in _requests(fake_gemini, "ScenarioDraft"):
        situation = drawn[_slot_of_scenario_request(project, prompt)]
        assert ("makes an exception of" in prompt) == (situation == "exception")
        assert ("One ordinary request" in prompt) == (situation == "ordinary")
        assert ("this trait should direct how a good assistant answers" in prompt) == (situation == "trait_on")

    critiques = _requests(fake_gemini, "ScenarioCritique")
    assert critiques and all(GUIDANCE in c for c in critiques), "the critic sees the guidance"
    critiqued = rows(project, "SELECT situation, user_prompt FROM sft_scenarios WHERE status != 'duplicate'")
    for situation, user_prompt in critiqued:
        (prompt,) = [c for c in critiques if f"<user_message>\n{user_prompt}\n</user_message>" in c]
        told = "Do not drop it because the trait is not at stake" in prompt
        assert told == (situation != "trait_on"), "a trait-off scenario's critic is told to keep it for that"

    # The answer's system prompt (stored beside it) asks for proportion on the trait-off slots only.
    systems = rows(
        project,
        "SELECT s.situation, g.system_prompt FROM sft_generations g JOIN sft_scenarios s ON s.id = g.subject_id"
        " WHERE g.step = 'conditioned'",
    )
    assert {situation for situation, _ in systems} == {"trait_on", "exception", "ordinary"}
    for situation, system in systems:
        assert ("do not bring it in" in system) == (situation != "trait_on")


def test_a_trait_off_example_is_kept_on_fit_despite_low_embodiment(proportion_project: Project) -> None:
    project = proportion_project
    run(project)
    examples = rows(
        project,
        "SELECT s.situation, e.status, e.reason, e.scores FROM sft_examples e"
        " JOIN sft_scenarios s ON s.id = e.scenario_id",
    )
    trait_off = [(status, reason, json.loads(scores)) for situation, status, reason, scores in examples
                 if situation != "trait_on"]  # fmt: skip
    assert any(status == "needs_review" for status, _, _ in trait_off), "the run kept trait-off examples"
    for status, reason, scores in trait_off:
        assert scores["embodiment"] == 1 and scores["fit"] == 5
        if status == "filtered":  # only the planted leak may be: low embodiment never filters a row that fits
            assert reason == "leakage 5 > 1"
    trait_on = [json.loads(scores) for situation, _, _, scores in examples if situation == "trait_on"]
    assert trait_on and all(s["embodiment"] == 4 for s in trait_on), "trait-on rows are rated as before"


def test_fit_replaces_embodiment_only_for_trait_off_rows() -> None:
    rating = ExampleRating(realism=4, quality=4, embodiment=1, fit=5, leakage=1, reasons="r")
    assert threshold_failures(rating, Thresholds(), trait_off=True) == []
    assert threshold_failures(rating, Thresholds()) == ["embodiment 1 < 3"]
    misfit = rating.model_copy(update={"embodiment": 5, "fit": 2})
    assert threshold_failures(misfit, Thresholds(), trait_off=True) == ["fit 2 < 3"]
    # A rater that gives no fit (an autorate.md override written before it) falls back on embodiment, and says so.
    unscored = rating.model_copy(update={"fit": None})
    assert threshold_failures(unscored, Thresholds(), trait_off=True) == [
        "embodiment 1 < 3 (a trait-off example, but the autorater gave no fit score)"
    ]


def test_how_much_background_a_prompt_asks_for_follows_length_and_detail(
    proportion_project: Project, fake_gemini: Any
) -> None:
    # Each axis is listed least first; the lower place of the two decides.
    assert background_level(AXES, {"length": "one short line", "detail": "full background and specifics"}) == "bare"
    assert background_level(AXES, {"length": AXES["length"][1], "detail": AXES["detail"][1]}) == "full"
    three = {"length": ["a line", "a paragraph", "a page"]}
    assert background_level(three, {"length": "a paragraph"}) == "some"
    assert background_level({}, {}) == "some", "without length or detail axes, a little background"

    run(proportion_project)
    wording = {"bare": "no figures, deadlines or history", "some": "a detail or two", "full": BRIEF}
    prompts = _requests(fake_gemini, "ScenarioDraft")
    assert any("length: one short line" in p for p in prompts)
    for prompt in prompts:
        chunk, slot = _slot_of_scenario_request(proportion_project, prompt)
        level = background_level(AXES, axes_for(AXES, 0, chunk, slot))
        assert [w for w in wording.values() if w in prompt] == [wording[level]]
        if "length: one short line" in prompt:
            assert BRIEF not in prompt, "a one-line message is never asked for figures, deadlines, what was tried"

    # The critic's rewrite instruction follows the same level.
    critique = load_template("scenario_critique")
    variables = dict.fromkeys(critique.variables, "x") | {"round": 0, "max_rounds": 3, "situation": "trait_on"}
    assert "figures, deadlines" in critique.render(**variables | {"background": "full"})
    bare = critique.render(**variables | {"background": "bare"})
    assert "figures, deadlines" not in bare and "still brief" in bare


def test_refinements_open_differently_and_keep_proportion(proportion_project: Project, fake_gemini: Any) -> None:
    project = proportion_project
    run(project)
    answers = rows(
        project,
        "SELECT s.chunk_id, s.slot, s.situation, g.text FROM sft_generations g"
        " JOIN sft_scenarios s ON s.id = g.subject_id WHERE g.step = 'conditioned'",
    )
    refines = [r.last_user_text for r in fake_gemini.requests if "<draft_reply>" in r.last_user_text]
    openings: dict[str, set[str]] = {}
    for chunk, _slot, situation, text in answers:
        (prompt,) = [p for p in refines if text in p]
        (opening,) = [o for o in OPENINGS if o in prompt]
        openings.setdefault(chunk, set()).add(opening)
        assert ("## The situation" in prompt) == (situation != "trait_on")
    slots_answered = {chunk: sum(1 for c, *_ in answers if c == chunk) for chunk in openings}
    assert all(len(openings[c]) == slots_answered[c] for c in openings), "no two of a trait's answers open alike"


def test_critique_round_labels_count_critiques(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripted critic revises trait 0 / persona 1 once, then keeps the rewrite: two critiques.
    monkeypatch.setenv("WORKBENCH_SFT__MAX_REVISION_ROUNDS", "1")
    run(load_project(sft_project.root))
    critiques = _requests(fake_gemini, "ScenarioCritique")
    for prompt in critiques:
        label = re.search(r"round \(?(\d+) of (\d+)", prompt)
        assert label and int(label.group(1)) <= int(label.group(2)) == 2, "one revision allowed: 2 critiques"
    (first,) = [p for p in critiques if "ref-0-1" in p and "REVISED" not in p]
    (second,) = [p for p in critiques if "REVISED" in p]
    assert "This is round 1 of 2; a revised message will be answered and reviewed again." in first
    assert "This is the last round (2 of 2)" in second
