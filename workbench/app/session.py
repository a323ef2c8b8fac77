"""One store connection per page rerun: app.py runs every page inside `page_session()`.

A page makes a dozen short reads; opening a large store costs tens of milliseconds each time, so the
reads of one rerun share a connection (`Store.session()`), closed when the rerun ends. Nothing is
held between reruns, so a CLI run or a notebook can write to the project meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from workbench.errors import WorkbenchError
from workbench.project import load_project


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
