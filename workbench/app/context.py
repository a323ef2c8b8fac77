"""What every page needs: the project, opened per rerun (no connection is held between reruns)."""

from __future__ import annotations

import streamlit as st

from workbench.demo import has_demo
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.literal import markdown_literal
from workbench.workspace import open_workspace


def current_project() -> Project:
    """The project named by WORKBENCH_PROJECT (or the default under data/), created if it has no store yet."""
    try:
        project = open_workspace()
        demo = has_demo(project.store)
    except WorkbenchError as e:
        st.error(str(e))
        st.stop()
    # One caption for the project and its folder keeps the sidebar to the page list and this.
    st.sidebar.caption(f"**Project** {markdown_literal(project.config.name)}  \n{markdown_literal(str(project.root))}")
    if demo:
        st.sidebar.warning("Demo data: hand-written, not model output. `workbench demo remove` clears it.")
    return project
