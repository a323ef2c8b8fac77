"""traits_sources(): what the traits editor (notebooks/01_traits.py) can start from, in order."""

from __future__ import annotations

from pathlib import Path

from workbench.project import Project
from workbench.store.traits import save_version, traits_sources
from workbench.traits import parse_traits


def test_project_files_then_latest_stored_versions_then_other_folders(project: Project, tmp_path: Path) -> None:
    own = project.root / "traits"
    own.mkdir()
    (own / "b_own.md").write_text("- **Own.** From the project folder.\n", encoding="utf-8")
    (own / "a_broken.md").write_bytes(b"- **Bad.** \xff\xfe not UTF-8\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "shared.md").write_text("- **Shared.** From the checkout.\n", encoding="utf-8")
    for text in ("- **First.** One.\n", "- **Second.** Two.\n"):
        save_version(project.store, parse_traits(text), "doc")

    sources = traits_sources(project.store, project.root, shared)

    assert [(s.document, s.path) for s in sources] == [
        ("b_own", own / "b_own.md"), ("doc", None), ("shared", shared / "shared.md")
    ]  # fmt: skip
    assert sources[1].label == "doc@2 (stored)" and sources[1].text == "- **Second.** Two.\n"
    assert sources[0].text.startswith("- **Own.**")


def test_an_empty_project_without_folders_has_no_sources(project: Project) -> None:
    assert traits_sources(project.store, project.root) == []
