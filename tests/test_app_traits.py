"""The Traits page: versions, chunks shown as text, and a diff between two versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest import open_page
from workbench.project import Project
from workbench.store.traits import add_traits_file


def test_traits_page_shows_chunks_as_text_and_diffs_versions(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks <script>alert(1)</script>.\n- **Kind.** Warm.\n")
    add_traits_file(project.store, doc, name="doc")
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks, gently.\n- **Curious.** Asks why.\n")
    add_traits_file(project.store, doc, name="doc")
    at = open_page("traits", project, monkeypatch)
    assert not at.exception
    assert at.selectbox[0].value == "doc@2"
    # Switch to version 1: its chunk text, script tag included, is shown verbatim as text.
    at.selectbox[0].select("doc@1").run()
    assert any("<script>alert(1)</script>" in t.value for t in at.text)
    assert not at.markdown or all("<script>" not in m.value for m in at.markdown)
    summary = next(m.value for m in at.markdown if "added" in m.value)
    assert "1 added · 1 removed · 1 changed" in summary
