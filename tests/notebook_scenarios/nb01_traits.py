"""01_traits: the project's traits/ folder holds candid_care.md; the store holds an older version
of it without the "Does not flatter" trait. The notebook starts from the file, so the diff lists that trait as
added and saving makes candid_care@2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.notebook_world import REPO
from workbench.project import Project
from workbench.store.traits import list_versions, save_version, version_chunks
from workbench.traits import parse_traits

FULL = (REPO / "data" / "traits" / "candid_care.md").read_text(encoding="utf-8")


def _without_one_trait(text: str) -> str:
    """candid_care.md without its "Does not flatter" trait (the bullet and its continuation lines)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("- **Does not flatter."))
    end = next(j for j in range(start + 1, len(lines)) if not lines[j].startswith("  "))
    return "\n".join(lines[:start] + lines[end:])


def settings(server: Any) -> dict[str, str]:
    return {}


def prepare(project: Project) -> None:
    folder = project.root / "traits"
    folder.mkdir()
    (folder / "candid_care.md").write_text(FULL, encoding="utf-8")
    save_version(project.store, parse_traits(_without_one_trait(FULL)), "candid_care")


def check(project: Project) -> None:
    versions = list_versions(project.store, "candid_care")
    assert [v.number for v in versions] == [1, 2]
    full = parse_traits(FULL)
    assert versions[-1].id == full.version_id
    assert [c.id for c in version_chunks(project.store, versions[-1].id)] == [c.id for c in full.chunks]
    assert versions[-1].source_path == str(Path(project.root / "traits" / "candid_care.md"))
