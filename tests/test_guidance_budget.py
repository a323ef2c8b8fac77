"""Big traits documents do not ride along whole in every call: each prompt gets the guidance relevant to its trait.

A ~270 KB spec (tests/large_traits.py) holds ~65,000 tokens of guidance; every scenario request the
fake server receives must stay within `[traits] guidance_budget_tokens`, counted with the same
estimator, and still carry the trait's own section, a note that it was shortened, and the boundaries.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.rules import FakeRequest
from tests.fakes.sft_model import SFTFakeModel
from tests.large_traits import long_guidance_document
from tests.sft_setup import PERSONAS, rows
from tests.test_prompts import VARIABLES
from workbench.generate.guidance import GuidanceSelector
from workbench.generate.pipeline import run_sft
from workbench.project import Project, load_project
from workbench.prompts import load_template
from workbench.store.traits import add_traits_file, get_version, version_chunks
from workbench.tokens import estimate_tokens
from workbench.traits import Chunk

KEEPERS = ["Keeper 5.0", "Keeper 30.1"]  # traits of areas 5 and 30
AREA = {"Keeper 5.0": 5, "Keeper 30.1": 30}
PARAGRAPHS = 13  # guidance paragraphs per area in the big document
GUIDANCE_NOTE = "[Guidance shortened:"
BOUNDARIES_NOTE = "[Boundaries shortened:"


@pytest.fixture
def big_project(sft_project: Project, fake_gemini: Any, tmp_path: Path) -> Project:
    """`sft_project` plus the document "big": 40 areas of guidance prose, 80 traits, 40 boundaries."""
    path = tmp_path / "big.md"
    path.write_text(long_guidance_document(paragraphs=PARAGRAPHS))
    add_traits_file(sft_project.store, path, name="big")
    fake_gemini.rule = SFTFakeModel(KEEPERS, PERSONAS)
    return sft_project


def _prompt(request: FakeRequest) -> str:
    return "\n\n".join([request.system or "", *(text for _, text in request.messages)])


def _asked(fake_gemini: Any, schema_title: str) -> list[str]:
    return [_prompt(r) for r in fake_gemini.requests if (r.json_schema or {}).get("title") == schema_title]


def _chunks(project: Project, ref: str) -> tuple[list[Chunk], dict[str, Chunk]]:
    chunks = version_chunks(project.store, get_version(project.store, ref).id)
    return chunks, {c.title: c for c in chunks if c.kind == "trait"}


def test_big_document_scenario_calls_fit_the_budget_with_own_section_note_and_boundaries(
    big_project: Project, fake_gemini: Any
) -> None:
    assert len(long_guidance_document(paragraphs=PARAGRAPHS)) > 260_000
    asyncio.run(run_sft(big_project, "big", chunk_keys=KEEPERS, scenarios=2, steps=["scenarios", "critique"]))
    budget = big_project.config.traits.guidance_budget_tokens
    scenarios = _asked(fake_gemini, "ScenarioDraft")
    assert len(scenarios) >= 4
    for prompt in scenarios:
        assert estimate_tokens(prompt) <= budget
        assert prompt.count(GUIDANCE_NOTE) == 1
        area = next(a for title, a in AREA.items() if title in prompt)
        assert all(f"GUIDE-{area}-{n}:" in prompt for n in range(PARAGRAPHS)), "the trait's own section is whole"
    critiques = _asked(fake_gemini, "ScenarioCritique")
    assert critiques
    for prompt in critiques:
        # 40 short boundaries fit: every one reaches the critic, with no note about boundaries.
        assert all(f"(LIMIT-{a})" in prompt for a in range(40))
        assert BOUNDARIES_NOTE not in prompt
    # Similar passages came from the project's embedder role, whose requests are in the ledger.
    assert rows(big_project, "SELECT count(*) FROM llm_calls WHERE stage = 'guidance' AND role = 'embedder'")[0][0]


def test_small_document_goes_whole_in_document_order_without_a_note(
    sft_project: Project, fake_gemini: Any, tmp_path: Path
) -> None:
    path = tmp_path / "small.md"
    path.write_text(long_guidance_document(areas=2, paragraphs=2))
    add_traits_file(sft_project.store, path, name="small")
    keepers = ["Keeper 0.0", "Keeper 1.0"]
    fake_gemini.rule = SFTFakeModel(keepers, PERSONAS)
    asyncio.run(run_sft(sft_project, "small", chunk_keys=keepers, scenarios=1, steps=["scenarios", "critique"]))
    scenarios, critiques = _asked(fake_gemini, "ScenarioDraft"), _asked(fake_gemini, "ScenarioCritique")
    assert scenarios and critiques
    guidance = ["GUIDE-0-0:", "GUIDE-0-1:", "GUIDE-1-0:", "GUIDE-1-1:"]
    for prompt in scenarios:
        assert [prompt.index(marker) for marker in guidance] == sorted(prompt.index(m) for m in guidance)
    for prompt in scenarios + critiques:
        assert "(LIMIT-0)" in prompt and "(LIMIT-1)" in prompt, "every boundary, in generation and critique"
        assert GUIDANCE_NOTE not in prompt and BOUNDARIES_NOTE not in prompt
    assert not rows(sft_project, "SELECT count(*) FROM llm_calls WHERE stage = 'guidance'")[0][0], "nothing to rank"


def test_everything_fits_a_big_enough_budget_in_document_order(
    big_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_TRAITS__GUIDANCE_BUDGET_TOKENS", "200000")
    project = load_project(big_project.root)
    chunks, traits = _chunks(project, "big")
    chosen = GuidanceSelector(project, chunks).choose(traits["Keeper 5.0"])
    assert chosen.guidance == "\n\n".join(c.text for c in chunks if c.kind == "guidance")
    assert chosen.boundaries == "\n\n".join(c.text for c in chunks if c.kind == "boundary")
    assert not chosen.cut and GUIDANCE_NOTE not in chosen.guidance


def test_boundaries_that_do_not_fit_are_cut_by_relevance(big_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_TRAITS__GUIDANCE_BUDGET_TOKENS", "1000")
    project = load_project(big_project.root)
    chunks, traits = _chunks(project, "big")
    chosen = GuidanceSelector(project, chunks).choose(traits["Keeper 30.1"])
    assert chosen.boundaries.startswith(BOUNDARIES_NOTE)
    assert "(LIMIT-30)" in chosen.boundaries, "the boundary of the trait's own section comes first"
    assert chosen.boundaries.count("(LIMIT-") < 40
    assert f"{chosen.boundaries_shown} of 40 passages" in chosen.boundaries
    assert "GUIDE-30-0:" in chosen.guidance
    assert estimate_tokens(chosen.guidance) + estimate_tokens(chosen.boundaries) + chosen.trait_tokens <= 1000


@pytest.mark.parametrize("embedder", ["gemini:fake-embedding", ""])
def test_the_choice_is_deterministic_and_lexical_without_an_embedder(
    big_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, embedder: str
) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__EMBEDDER", embedder)
    project = load_project(big_project.root)
    chunks, traits = _chunks(project, "big")
    first = GuidanceSelector(project, chunks).choose(traits["Keeper 5.0"])
    again = GuidanceSelector(load_project(big_project.root), list(reversed(chunks))).choose(traits["Keeper 5.0"])
    assert first == again
    assert first.cut and first.guidance.startswith(GUIDANCE_NOTE) and "GUIDE-5-0:" in first.guidance
    embedded = any("batchEmbedContents" in path for path in fake_gemini.path_counts)
    assert embedded == bool(embedder), "TF-IDF when no embedder is configured: no embedding calls"


GUIDED = ["scenarios", "scenario_critique", "conditioned_system", "refine", "rejected_system", "autorate",
          "doc_brainstorm", "doc_draft", "doc_critique", "doc_rewrite", "doc_autorate"]  # fmt: skip


@pytest.mark.parametrize("name", GUIDED)
def test_templates_show_boundaries_only_when_there_are_some(name: str) -> None:
    template = load_template(name)
    shown = template.render(**VARIABLES[name])
    hidden = template.render(**{**VARIABLES[name], "boundaries": ""})
    assert "BOUNDARY-MARKER" in shown
    assert "BOUNDARY-MARKER" not in hidden and "Boundaries" not in hidden and "\n\n\n" not in hidden
