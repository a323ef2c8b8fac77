"""The app on a store another process keeps locked: a plain message naming the holder, and Retry.

Runs app.py itself (its pages through st.navigation) with Streamlit's AppTest, while a separate
process holds the DuckDB file open, as a long CLI write would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.project import Project
from workbench.store import connection

REPO = Path(__file__).resolve().parents[1]
HOLD = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(120)"


@pytest.fixture
def held(project: Project) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the project's store open (and so its lock) until the test ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(project.store.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait(60)


def _shown(markdown: str) -> str:
    """What Streamlit shows for `markdown_literal` text: backslash escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def test_a_locked_store_shows_its_holder_and_a_retry_button(
    project: Project, held: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "DEFAULT_LOCK_TIMEOUT_S", 0.5)  # the retry window, shortened
    monkeypatch.setenv("WORKBENCH_PROJECT", str(project.root))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    [error] = at.error
    message = _shown(error.value)
    assert str(project.store.path) in message
    assert f"process {held.pid} (" in message and "duckdb.connect" in message  # its pid and command line
    assert "Traceback" not in message and "StoreBusyError" not in message
    retry = at.button(key="store_busy_retry")
    assert retry.label == "Retry"

    held.kill()
    held.wait(60)
    at = retry.click().run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Overview"]
