"""Open the project an interactive front end shows (the app or a notebook), creating its store.

    project = open_workspace()            # WORKBENCH_PROJECT's, or the default project under data/
    project = open_workspace(Path(dir))   # a project folder chosen in a form

The CLI refuses a folder without a store; the app and the notebooks create it instead, and the
checkout's default project also gets the hand-written demo set (`workbench.demo`) the first
time, so a newcomer sees every page working. No other project ever gets demo data by itself.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import workbench.project
from workbench.demo import load_demo
from workbench.project import CONFIG_FILE, Project, init_project, load_project, resolve_project_dir

# The default project of the checkout this package runs from (an editable install), wherever
# the front end was started: `marimo edit notebooks/01_traits.py` may run from any folder.
CHECKOUT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"

# Two sessions opening a fresh default project at once must not both create it and load the demo.
_creating = threading.Lock()


def is_default_project(project: Project) -> bool:
    """Whether `project` is the checkout's default project under data/."""
    return project.root in (workbench.project.DEFAULT_PROJECT_DIR.resolve(), CHECKOUT_DATA_DIR)


def default_workspace_dir() -> Path:
    """WORKBENCH_PROJECT, else the checkout's data/ project, else the usual discovery from here."""
    if not os.environ.get("WORKBENCH_PROJECT") and (CHECKOUT_DATA_DIR / CONFIG_FILE).exists():
        return CHECKOUT_DATA_DIR
    return resolve_project_dir()


def open_workspace(root: Path | None = None) -> Project:
    """The project at `root` (default: the usual discovery), with an empty store made if it has none.

    Raises:
        WorkbenchError: the folder is not a project (no workbench.toml).
    """
    project = load_project(resolve_project_dir(root))
    if project.store.path.exists():
        return project
    with _creating:
        if not project.store.path.exists():
            project = init_project(project.root)
            if is_default_project(project):
                load_demo(project)
    return project
