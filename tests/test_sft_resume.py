"""Kill the SFT pipeline with SIGKILL midway, restart it, and compare with an uninterrupted run.

The CLI runs in a subprocess, as a user runs it; the fake Gemini server stays up in this process
across the kill, so it sees every request both runs send.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.fakes.rules import FakeRequest
from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import DOC, PERSONAS, TRAITS, sft_env
from workbench.project import Project, init_project
from workbench.store.traits import add_traits_file

REPO = Path(__file__).resolve().parents[1]
BATCH = 4


def identity(system: str | None, messages: list[Any]) -> str:
    """What makes two requests the same call, from either side of the wire."""
    return json.dumps([system or None, [list(m) for m in messages]])


def start(project: Project, env: dict[str, str], pipeline: str = "sft") -> subprocess.Popen[str]:
    """`workbench PIPELINE run test --yes` on `project`, in a subprocess (as a user runs it)."""
    command = [sys.executable, "-m", "workbench.cli", pipeline, "run", "test", "--yes", "--project", str(project.root)]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def new_project(path: Path) -> Project:
    project = init_project(path)
    doc = path / "traits.md"
    doc.write_text(DOC)
    add_traits_file(project.store, doc, name="test")
    return project


def snapshot(project: Project) -> dict[str, set[tuple[Any, ...]]]:
    """Every row's identity and content (not run ids or times) in the three SFT tables."""
    queries = {
        "scenarios": "SELECT id, parent_id, status, reason, user_prompt FROM sft_scenarios",
        "generations": "SELECT id, step, subject_id, status, text FROM sft_generations",
        "examples": "SELECT id, status, duplicate_of, response, rejected FROM sft_examples",
    }
    with project.store.connect() as con:
        return {name: set(con.execute(sql).fetchall()) for name, sql in queries.items()}


def generate_calls(requests: list[FakeRequest]) -> list[str]:
    return [identity(r.system, r.messages) for r in requests if r.path.endswith(":generateContent")]


def test_sigkill_midway_then_restart_matches_a_clean_run(tmp_path: Path, fake_gemini: Any) -> None:
    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)
    fake_gemini.latency_s = 0.05
    env = sft_env(
        fake_gemini, WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true", WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES="true",
        WORKBENCH_SFT__BATCH_SIZE=str(BATCH),
    )  # fmt: skip
    killed = new_project(tmp_path / "killed")
    process = start(killed, env)
    while len(generate_calls(fake_gemini.requests)) < 30:
        assert process.poll() is None, f"the run ended before it could be killed: {process.stdout.read()}"  # type: ignore[union-attr]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    before_kill = generate_calls(fake_gemini.requests)
    with killed.store.connect() as con:
        fingerprints = [json.loads(r[0]) for r in con.execute("SELECT request FROM llm_cache").fetchall()]
        written = con.execute("SELECT count(*) FROM sft_generations").fetchone()[0]  # type: ignore[index]
    assert written > 0, "the kill came after some work was committed"
    cached = {identity(f["system"], f["messages"]) for f in fingerprints}

    restarted = start(killed, env)
    output, _ = restarted.communicate(timeout=240)
    assert restarted.returncode == 0, output
    after_restart = generate_calls(fake_gemini.requests)[len(before_kill) :]
    assert not set(after_restart) & cached, "a call whose answer was stored was sent again"
    repeated = set(after_restart) & set(before_kill)
    assert len(repeated) <= BATCH, "only the batch in flight at the kill may be sent again"

    clean = new_project(tmp_path / "clean")
    run = start(clean, env)
    output, _ = run.communicate(timeout=240)
    assert run.returncode == 0, output
    resumed, uninterrupted = snapshot(killed), snapshot(clean)
    assert resumed == uninterrupted
    assert len(uninterrupted["examples"]) == 7 and len(uninterrupted["scenarios"]) == 9
