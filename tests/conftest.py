"""Shared fixtures. Fake servers and the tiny model live in their own modules (plugins below)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.project import Project, init_project

# pytest-xdist's workers start with COLUMNS=80, which the CLI's console (rich) would fix as its
# width at import; without it the width follows each test's own COLUMNS, as in a plain run.
os.environ.pop("COLUMNS", None)

pytest_plugins = [
    "tests.fakes.servers",
    "tests.tiny_model",
    "tests.real_model",
    "tests.tiny_embedder",
    "tests.sft_setup",
    "tests.audit_fixtures",
]


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's keys or project settings."""
    for var in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "OPENAI_API_KEY",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "WORKBENCH_PROJECT",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A fresh project with the default config and an empty store."""
    return init_project(tmp_path / "project")
