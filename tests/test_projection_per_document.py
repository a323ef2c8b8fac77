"""Cost projections are per traits document and per trait size, from that document's own pilot.

One project holds a ten-line traits list and a ~270 KB spec. A project-wide average would price
a run on either at the mix of both; each projection must use only its own document's pilot, scale
input tokens by each trait's prompt size, and name the largest call a run would send.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.sft_model import SFTFakeModel
from tests.large_traits import long_guidance_document
from tests.sft_setup import PERSONAS, TRAITS, rows
from workbench.cli.common import console
from workbench.cli.sft import print_projection
from workbench.errors import WorkbenchError
from workbench.generate.cost import CostProjection, project_sft_cost
from workbench.generate.docs_pipeline import project_docs_cost, run_docs
from workbench.generate.pipeline import run_sft
from workbench.project import Project
from workbench.store.traits import add_traits_file

KEEPERS = ["Keeper 5.0", "Keeper 30.1"]
UNEVEN = ["Brief quality", "Elaborate quality"]
UNEVEN_DOC = f"""# Uneven traits

- **{UNEVEN[0]}.** Keeps replies short.
- **{UNEVEN[1]}.** {"It explains each step of its reasoning and why that step matters to the person. " * 120}
"""


def _add(project: Project, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.md"
    path.write_text(text)
    add_traits_file(project.store, path, name=name)


@pytest.fixture
def two_documents(sft_project: Project, fake_gemini: Any, tmp_path: Path) -> Project:
    """`sft_project` ("test", two short traits) plus "big" (a ~270 KB spec) and "uneven"."""
    _add(sft_project, tmp_path, "big", long_guidance_document(paragraphs=13))
    _add(sft_project, tmp_path, "uneven", UNEVEN_DOC)
    fake_gemini.rule = SFTFakeModel(TRAITS + KEEPERS + UNEVEN, PERSONAS)
    return sft_project


def _measured_in(project: Project, document: str, stage: str) -> int:
    """Input tokens the ledger recorded for `stage` in runs on `document`'s versions."""
    return rows(
        project,
        "SELECT coalesce(sum(l.tokens_in), 0) FROM llm_calls l JOIN runs r ON r.id = l.run_id"
        " JOIN traits_versions v ON v.id = r.traits_version WHERE v.document = ? AND l.stage = ?",
        document, stage,
    )[0][0]  # fmt: skip


def _stage(projection: CostProjection, stage: str) -> float:
    return next(s.tokens_in for s in projection.stages if s.stage == stage)


def test_each_document_is_projected_from_its_own_pilot(two_documents: Project) -> None:
    project = two_documents
    asyncio.run(run_sft(project, "test", scenarios=1, steps=["scenarios"]))
    with pytest.raises(WorkbenchError, match="no SFT run has been measured on the traits document 'big'"):
        project_sft_cost(project, "big", chunk_keys=KEEPERS, scenarios=4)
    asyncio.run(run_sft(project, "big", chunk_keys=KEEPERS, scenarios=1, steps=["scenarios"]))

    small = project_sft_cost(project, "test", scenarios=4)
    big = project_sft_cost(project, "big", chunk_keys=KEEPERS, scenarios=4)
    assert (small.measured_slots, small.remaining_slots) == (2, 6)
    assert (big.measured_slots, big.remaining_slots) == (2, 6)
    # Each from its own ledger rows: 3 slots left per measured slot, whatever the other document cost.
    assert _stage(small, "sft.scenario") == pytest.approx(_measured_in(project, "test", "sft.scenario") * 3)
    assert _stage(big, "sft.scenario") == pytest.approx(_measured_in(project, "big", "sft.scenario") * 3, rel=0.01)
    assert _stage(big, "sft.scenario") > 10 * _stage(small, "sft.scenario")
    assert small.cost_usd is not None and big.cost_usd is not None and big.cost_usd > 5 * small.cost_usd


def test_input_tokens_scale_with_each_traits_prompt_and_the_largest_call_is_printed(two_documents: Project) -> None:
    project = two_documents
    asyncio.run(run_sft(project, "uneven", chunk_keys=UNEVEN[:1], scenarios=1, steps=["scenarios"]))
    measured = _measured_in(project, "uneven", "sft.scenario")
    brief = project_sft_cost(project, "uneven", chunk_keys=UNEVEN[:1], scenarios=3)
    elaborate = project_sft_cost(project, "uneven", chunk_keys=UNEVEN[1:], scenarios=2)
    assert _stage(brief, "sft.scenario") == pytest.approx(measured * 2)  # the pilot's own trait: as measured
    # Same number of slots left, but the long trait's prompts are several times the pilot's.
    assert _stage(elaborate, "sft.scenario") > 3 * _stage(brief, "sft.scenario")
    largest = elaborate.largest_call
    assert largest is not None and largest.trait == UNEVEN[1] and largest.stage == "sft.scenario"
    with console.capture() as captured:
        print_projection(elaborate)
    shown = " ".join(captured.get().split())
    found = re.search(r"Largest call: ~([\d,]+) input tokens \(sft\.scenario, trait 'Elaborate quality'\)", shown)
    assert found and int(found.group(1).replace(",", "")) == round(largest.tokens_in) > measured


def test_documents_projection_is_per_document_too(docs_project: Project, tmp_path: Path) -> None:
    _add(docs_project, tmp_path, "uneven", UNEVEN_DOC)
    asyncio.run(run_docs(docs_project, "test", per_type=1, types=["email"]))
    projection = project_docs_cost(docs_project, "test", per_type=2, types=["email"])
    assert projection.measured_slots == 2
    assert projection.largest_call is not None and projection.largest_call.trait in TRAITS
    with pytest.raises(WorkbenchError, match="no documents run has been measured on the traits document 'uneven'"):
        project_docs_cost(docs_project, "uneven", per_type=1, types=["email"])
