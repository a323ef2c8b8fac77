"""`workbench app` stops its Streamlit server when it is itself told to stop (a real subprocess)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.project import Project

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 120.0  # Streamlit's first start imports a lot; generous bounds, never asserted on
STOP_S = 30.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc, so no extra dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_stops_the_server_and_frees_the_port(project: Project, signum: int) -> None:
    port = _free_port()
    workbench = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "app", "--project", str(project.root), "--port", str(port)],
        cwd=REPO, env={**os.environ, "COLUMNS": "200"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    children: list[int] = []
    try:
        assert _until(lambda: _answers(port), STARTUP_S), "the app never answered on its port"
        children = _children(workbench.pid)
        assert children, "workbench app runs Streamlit as a child process"
        workbench.send_signal(signum)
        workbench.wait(STOP_S)
        assert _until(lambda: not any(_alive(c) for c in children), STOP_S), "Streamlit outlived workbench"
        assert _until(lambda: not _answers(port), STOP_S), "the port is still held"
        assert workbench.returncode == 128 + signum  # as a shell reports a process the signal stopped
    finally:
        for pid in [workbench.pid, *children]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)  # only the processes this test started
        workbench.wait(STOP_S)
