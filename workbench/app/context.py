"""What every page needs: the project, opened per rerun (no connection is held between reruns)."""

from __future__ import annotations

import streamlit as st

from workbench.demo import has_demo
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.workspace import open_workspace


def current_project() -> Project:
    """The project named by WORKBENCH_PROJECT (or the default under data/), created if it has no store yet."""
    try:
        project = open_workspace()
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
