"""Shared set-up for the generation pipeline tests (a pytest plugin, loaded by tests/conftest.py).

`sft_project` is a fresh project with a two-trait document, every role on the fake Gemini server
and the scripted SFT model (tests/fakes/sft_model.py) answering; `sft_env` gives the same
settings as environment variables for CLI subprocesses. `docs_project` / `docs_env` do the same
for the midtraining documents pipeline (tests/fakes/docs_model.py), with three document types.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.docs_model import DocsFakeModel
from tests.fakes.sft_model import SFTFakeModel
from workbench.generate.pipeline import SFTReport, run_sft
from workbench.project import Project, load_project
from workbench.store.traits import add_traits_file

TRAITS = ["Candid about risk", "Respects autonomy"]
PERSONAS = ["a beekeeper named Quillon", "a ferry pilot named Marvessa", "a glassblower named Tobrick",
            "an archivist named Zentha"]  # fmt: skip
DOC = f"""# Test traits

- **{TRAITS[0]}.** The assistant names the real risks of a plan plainly, with their likelihood.
- **{TRAITS[1]}.** Once it has given its view, it accepts that adults decide for themselves.

## Guidance

When the two pull apart, candour comes first, then the decision is the person's.
"""


def sft_env(fake_gemini: Any, **extra: str) -> dict[str, str]:
    """WORKBENCH_* settings that put every role on the fake server, with 4 personas and no other axes."""
    env = {f"WORKBENCH_ROLES__{role.upper()}": "gemini:fake-model" for role in
           ("generator", "critic", "rater", "baseline")}  # fmt: skip
    env |= {
        "WORKBENCH_ROLES__EMBEDDER": "gemini:fake-embedding",
        "WORKBENCH_SFT__AXES": json.dumps({"persona": PERSONAS}),
        "WORKBENCH_SFT__SCENARIOS_PER_CHUNK": "4",
        "WORKBENCH_SFT__PREFERENCE": "true",
        "WORKBENCH_SFT__NEAR_DUPLICATE_SIMILARITY": "0.85",
        "WORKBENCH_PRICES__FAKE-MODEL__INPUT_PER_MTOK": "1.0",
        "WORKBENCH_PRICES__FAKE-MODEL__OUTPUT_PER_MTOK": "2.0",
        "WORKBENCH_PRICES__FAKE-EMBEDDING__INPUT_PER_MTOK": "0.1",
        "WORKBENCH_PRICES__FAKE-EMBEDDING__OUTPUT_PER_MTOK": "0",
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url,
    }
    return env | extra


@pytest.fixture
def sft_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    for key, value in sft_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)
    doc = tmp_path / "traits.md"
    doc.write_text(DOC)
    add_traits_file(project.store, doc, name="test")
    return load_project(project.root)


DOC_TYPES = {"email": 300, "blog post": 900, "news article": 700}


def docs_env(fake_gemini: Any, **extra: str) -> dict[str, str]:
    """`sft_env` plus three document types and a dedup threshold the fake embedding separates well."""
    env = sft_env(fake_gemini)
    env |= {"WORKBENCH_DOCS__TYPES": json.dumps(DOC_TYPES), "WORKBENCH_DOCS__NEAR_DUPLICATE_SIMILARITY": "0.85"}
    return env | extra


@pytest.fixture
def docs_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    for key, value in docs_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = DocsFakeModel(TRAITS, list(DOC_TYPES))
    doc = tmp_path / "traits.md"
    doc.write_text(DOC)
    add_traits_file(project.store, doc, name="test")
    return load_project(project.root)


def run(project: Project) -> SFTReport:
    return asyncio.run(run_sft(project, "test"))


@pytest.fixture
def accepted(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The SFT project after a pipeline run that accepts every example that passes."""
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(sft_project.root)
    run(project)
    return project


def rows(project: Project, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with project.store.connect() as con:
        return con.execute(sql, list(params)).fetchall()
