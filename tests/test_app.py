"""The Streamlit app's pages, rendered by Streamlit's own test runner (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.project import Project
from workbench.store.traits import add_traits_file

REPO = Path(__file__).resolve().parents[1]


def page(path: str, project: Project, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_PROJECT", str(project.root))
    return AppTest.from_file(str(REPO / path), default_timeout=60).run()


def test_overview_of_an_empty_project_says_what_to_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page("workbench/app/overview.py", project, monkeypatch)
    assert not at.exception
    assert any("workbench traits add" in info.value for info in at.info)


def test_traits_page_shows_chunks_as_text_and_diffs_versions(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks <script>alert(1)</script>.\n- **Kind.** Warm.\n")
    add_traits_file(project.store, doc, name="doc")
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks, gently.\n- **Curious.** Asks why.\n")
    add_traits_file(project.store, doc, name="doc")
    at = page("workbench/app/traits.py", project, monkeypatch)
    assert not at.exception
    assert at.selectbox[0].value == "doc@2"
    # Switch to version 1: its chunk text, script tag included, is shown verbatim as text.
    at.selectbox[0].select("doc@1").run()
    assert any("<script>alert(1)</script>" in t.value for t in at.text)
    assert not at.markdown or all("<script>" not in m.value for m in at.markdown)
    summary = next(m.value for m in at.markdown if "added" in m.value)
    assert "1 added · 1 removed · 1 changed" in summary
