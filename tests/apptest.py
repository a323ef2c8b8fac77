"""Open one page of the Streamlit app with Streamlit's own test runner (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.project import Project

REPO = Path(__file__).resolve().parents[1]


def open_page(name: str, project: Project, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run `workbench/app/<name>.py` on `project` and return the AppTest after its first run."""
    monkeypatch.setenv("WORKBENCH_PROJECT", str(project.root))
    return AppTest.from_file(str(REPO / "workbench" / "app" / f"{name}.py"), default_timeout=60).run()
