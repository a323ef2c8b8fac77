"""What every page needs: the project, opened per rerun (no connection is held between reruns)."""

from __future__ import annotations

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.project import Project, init_project, load_project, resolve_project_dir


def current_project() -> Project:
    """The project named by WORKBENCH_PROJECT (or the default under data/), created if it has no store yet."""
    try:
        root = resolve_project_dir()
        project = load_project(root)
        if not project.store.path.exists():
            project = init_project(root)
    except WorkbenchError as e:
        st.error(str(e))
        st.stop()
    st.sidebar.caption(f"Project: {project.config.name}")
    st.sidebar.text(str(project.root))
    return project
