"""Real-browser test helpers: Debian's chromium driven by Playwright, servers on free loopback ports.

Needs Debian's chromium (`apt-get install chromium`); CI installs it and sets
WORKBENCH_REQUIRE_BROWSER=1 so that a missing browser fails there instead of skipping.
A browser test module calls `skip_without_browser()` at import.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def skip_without_browser() -> None:
    """Skip the calling module when chromium is missing, unless CI requires the browser."""
    if CHROMIUM is None and not os.environ.get("WORKBENCH_REQUIRE_BROWSER"):
        pytest.skip("no chromium on PATH (apt-get install chromium to run the browser test)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(command: Sequence[str], port: int, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Run a server command until its port on 127.0.0.1 answers; yield its URL; stop it afterwards."""
    server = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


@contextmanager
def app_served(project_root: Path, **env: str) -> Iterator[str]:
    """The real app (`streamlit run app.py`) on the project at `project_root`, with extra environment `env`."""
    import sys

    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    settings = {**os.environ, "WORKBENCH_PROJECT": str(project_root), **env}
    with served(command, port, Path(__file__).resolve().parents[1], settings) as url:
        yield url


@contextmanager
def browser_page() -> Iterator[Page]:
    """A page of headless Debian chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "WORKBENCH_REQUIRE_BROWSER is set but chromium is not installed"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()
