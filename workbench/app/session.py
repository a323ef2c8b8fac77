"""One store connection per page rerun: app.py runs every page inside `page_session()`.

A page makes a dozen short reads; opening a large store costs tens of milliseconds each time, so the
reads of one rerun share a connection (`Store.session()`), closed when the rerun ends. Nothing is
held between reruns, so a CLI run or a notebook can write to the project meanwhile.

A store that another process keeps locked past the retry window is not an error in the app: app.py
also runs every page inside `busy_store_shown()`, which shows what holds the lock and a Retry button.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from workbench.errors import StoreBusyError, WorkbenchError
from workbench.project import load_project
from workbench.views.literal import markdown_literal


@contextmanager
def page_session() -> Iterator[None]:
    """Share one connection to the current project's store for the rest of this rerun."""
    try:
        project = load_project()
    except WorkbenchError:
        yield  # the page's current_project() shows the error
        return
    if not project.store.path.exists():
        yield  # a first run: current_project() creates the store
        return
    with project.store.session():
        yield


@contextmanager
def busy_store_shown() -> Iterator[None]:
    """Show a store that stayed locked (`StoreBusyError`) as a message with a Retry button, not a traceback."""
    try:
        yield
    except StoreBusyError as e:
        store = f"The store {e.path}" if e.path else "The project's store"
        holder = e.holder or "another process (a workbench command, a notebook or another app)"
        st.error(
            markdown_literal(
                f"{store} is busy: {holder} has held its write lock for longer than the app waits. "
                "Wait for that work to finish, or stop it, then press Retry."
            )
        )
        st.button("Retry", key="store_busy_retry", type="primary")  # a click reruns the page
