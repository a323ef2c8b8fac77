"""Projects: a folder holding `workbench.toml` and the DuckDB store `workbench.duckdb`.

Which project a command uses: `--project DIR`, else `$WORKBENCH_PROJECT`, else `./data` (the
default project of a checkout), else the current folder if it holds a `workbench.toml`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from workbench.config import ProjectConfig, load_config
from workbench.errors import WorkbenchError
from workbench.store import Store

CONFIG_FILE = "workbench.toml"
STORE_FILE = "workbench.duckdb"
DEFAULT_PROJECT_DIR = Path("data")


@dataclass(frozen=True)
class Project:
    """An opened project: where it lives, its validated config and its store."""

    root: Path
    config: ProjectConfig

    @property
    def store(self) -> Store:
        return Store(self.root / STORE_FILE)


def config_template() -> str:
    """The commented `workbench.toml` that `workbench init` writes."""
    return resources.files("workbench").joinpath("project_template.toml").read_text(encoding="utf-8")


def _set(text: str, line: str, key: str, value: str | None) -> str:
    """The template with its first `line` replaced by `key = value` (when a value is given)."""
    if not value:
        return text
    # A JSON string is a valid TOML basic string, quotes and backslashes escaped.
    return text.replace(line, f"{key} = {json.dumps(value)}", 1)


def init_project(
    root: Path, name: str | None = None, *, model_name: str | None = None, maker_name: str | None = None
) -> Project:
    """Create a project in `root` (made if missing) with a config and an empty, migrated store.

    `model_name` and `maker_name` name the model being trained (`[identity]`); unset, they stay
    commented out in the config. An existing config is kept as it is, so `init` is safe to run twice.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_FILE
    if not config_path.exists():
        text = _set(config_template(), 'name = "default"', "name", name)
        text = _set(text, '# model_name = "Aster"', "model_name", model_name)
        text = _set(text, '# maker_name = "Northwind Labs"', "maker_name", maker_name)
        config_path.write_text(text, encoding="utf-8")
    project = load_project(root)
    with project.store.connect():
        pass  # creates the file and applies migrations
    return project


def resolve_project_dir(explicit: Path | None = None) -> Path:
    """Find the project folder by the rules in the module docstring."""
    if explicit is not None:
        return Path(explicit)
    from_env = os.environ.get("WORKBENCH_PROJECT")
    if from_env:
        return Path(from_env)
    if (DEFAULT_PROJECT_DIR / CONFIG_FILE).exists():
        return DEFAULT_PROJECT_DIR
    if Path(CONFIG_FILE).exists():
        return Path(".")
    raise WorkbenchError(
        "No project found: no --project, no WORKBENCH_PROJECT, and no workbench.toml in ./data or here.",
        hint="Create one with `workbench init DIR`, then pass --project DIR.",
    )


def load_project(root: Path | None = None) -> Project:
    """Open a project (see module docstring for how `root=None` is resolved)."""
    root = resolve_project_dir(root).resolve()
    if not (root / CONFIG_FILE).exists():
        raise WorkbenchError(
            f"{root} is not a workbench project (no {CONFIG_FILE}).",
            hint=f"Run `workbench init {root}` to make it one.",
        )
    return Project(root=root, config=load_config(root / CONFIG_FILE))
