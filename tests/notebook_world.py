"""The world a notebook runs in under test: a temporary project, the fake Gemini server, settings.

Each notebook `notebooks/NN_name.py` has a scenario module `tests/notebook_scenarios/nbNN_name.py`
with three functions:

    settings(server) -> dict[str, str]   # WORKBENCH_* settings for the notebook; sets server.rule
    prepare(project) -> None             # what must be in the store before the notebook runs
    check(project) -> None               # asserts what a script run of the notebook left in the store

`notebook_world(stem, folder)` starts the server, puts the settings into the environment, makes
the project and prepares it. tests/test_notebooks.py runs each notebook as a script inside one;
notebooks/conftest.py runs each notebook's test cells (`pytest notebooks/`) inside one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from tests.fakes.gemini_server import FakeGeminiServer
from workbench.project import Project, init_project, load_project

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))

# The developer's own keys and settings never reach a notebook under test.
CLEARED = ("GOOGLE_API_KEY", "OPENAI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "WORKBENCH_PROJECT")


@dataclass
class NotebookWorld:
    """A prepared world: the environment the notebook must see, its project, scenario and server."""

    env: dict[str, str]
    project: Project
    scenario: ModuleType
    server: FakeGeminiServer

    def check(self) -> None:
        """Run the scenario's assertions on the store as the notebook left it."""
        self.scenario.check(load_project(self.project.root))


def scenario_for(stem: str) -> ModuleType:
    """The scenario module of notebook `stem` (e.g. "01_traits" → tests.notebook_scenarios.nb01_traits)."""
    return importlib.import_module(f"tests.notebook_scenarios.nb{stem}")


@contextmanager
def notebook_world(stem: str, folder: Path) -> Iterator[NotebookWorld]:
    """Start the fake server, set the environment and prepare the project for notebook `stem`."""
    scenario = scenario_for(stem)
    root = folder / "project"
    with FakeGeminiServer() as server, pytest.MonkeyPatch.context() as patch:
        env = {
            "WORKBENCH_PROJECT": str(root),
            "WORKBENCH_REVIEWER": "notebook-test",
            "GEMINI_API_KEY": "test-key",
            "GOOGLE_GEMINI_BASE_URL": server.base_url,
            "HF_HUB_OFFLINE": "1",
        }
        env |= scenario.settings(server)
        for name in CLEARED:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        project = init_project(root)
        scenario.prepare(project)
        yield NotebookWorld(env, load_project(root), scenario, server)
