"""What every page needs: the project, opened per rerun (no connection is held between reruns)."""

from __future__ import annotations

import threading

import streamlit as st

import workbench.project
from workbench.demo import has_demo, load_demo
from workbench.errors import WorkbenchError
from workbench.project import Project, init_project, load_project, resolve_project_dir

# Two sessions opening a fresh default project at once must not both create it and load the demo.
_creating = threading.Lock()


def is_default_project(project: Project) -> bool:
    """Whether `project` is the checkout's default project under data/."""
    return project.root == workbench.project.DEFAULT_PROJECT_DIR.resolve()


def open_app_project() -> Project:
    """The project the app shows: WORKBENCH_PROJECT's, or the default one under data/.

    A project without a store gets an empty one. The default project also gets the hand-written
    demo data (`workbench.demo`) then, so a newcomer sees the pages working; no other project
    ever gets demo data automatically.
    """
    project = load_project(resolve_project_dir())
    if project.store.path.exists():
        return project
    with _creating:
        if not project.store.path.exists():
            project = init_project(project.root)
            if is_default_project(project):
                load_demo(project)
    return project


def current_project() -> Project:
    """The project named by WORKBENCH_PROJECT (or the default under data/), created if it has no store yet."""
    try:
        project = open_app_project()
        demo = has_demo(project.store)
    except WorkbenchError as e:
        st.error(str(e))
        st.stop()
    st.sidebar.caption(f"Project: {project.config.name}")
    st.sidebar.text(str(project.root))
    if demo:
        st.sidebar.warning(
            "This project holds hand-written demo data, not model output. `workbench demo remove` clears it."
        )
    return project
