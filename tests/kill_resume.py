"""Shared by the kill-and-resume tests: run a pipeline's CLI, SIGKILL it midway, restart it.

    killed = kill_midway_and_restart(tmp_path / "killed", env, "sft", fake_gemini, after_calls=30,
                                     generations="sft_generations", batch=4)
    clean = run_clean(tmp_path / "clean", env, "sft")

The fake Gemini server stays up in the test process across the kill, so it sees every request
both runs send; `kill_midway_and_restart` asserts that nothing whose answer was stored is sent
again and that at most the batch in flight is repeated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.rules import FakeRequest
from tests.sft_setup import DOC
from workbench.project import Project, init_project
from workbench.store.traits import add_traits_file

REPO = Path(__file__).resolve().parents[1]


def identity(system: str | None, messages: list[Any]) -> str:
    """What makes two requests the same call, from either side of the wire."""
    return json.dumps([system or None, [list(m) for m in messages]])


def generate_calls(requests: list[FakeRequest]) -> list[str]:
    return [identity(r.system, r.messages) for r in requests if r.path.endswith(":generateContent")]


def add_test_traits(project: Project) -> None:
    """Store the test traits document as `test`."""
    doc = project.root / "traits.md"
    doc.write_text(DOC)
    add_traits_file(project.store, doc, name="test")


@dataclass(frozen=True)
class Pipeline:
    """A run to kill: the `workbench` arguments, and what a fresh project needs before it."""

    args: tuple[str, ...]
    prepare: Callable[[Project], None] = add_test_traits


def traits_pipeline(name: str) -> Pipeline:
    """`workbench NAME run test --yes` on a project holding the test traits document."""
    return Pipeline((name, "run", "test", "--yes"))


def start(project: Project, env: dict[str, str], pipeline: Pipeline) -> subprocess.Popen[str]:
    """The pipeline's command on `project`, in a subprocess (as a user runs it)."""
    command = [sys.executable, "-m", "workbench.cli", *pipeline.args, "--project", str(project.root)]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def new_project(path: Path, pipeline: Pipeline) -> Project:
    """A fresh project, prepared for the pipeline."""
    project = init_project(path)
    pipeline.prepare(project)
    return project


def finish(process: subprocess.Popen[str]) -> None:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output


def run_clean(path: Path, env: dict[str, str], pipeline: str | Pipeline) -> Project:
    """A new project, run once without interruption (`pipeline`: a traits pipeline's name, or any)."""
    pipeline = traits_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    project = new_project(path, pipeline)
    finish(start(project, env, pipeline))
    return project


def kill_midway_and_restart(
    path: Path, env: dict[str, str], pipeline: str | Pipeline, fake: Any, *, after_calls: int, generations: str,
    batch: int,
) -> Project:  # fmt: skip
    """Start a run, SIGKILL it once `after_calls` model calls were sent, restart it to the end."""
    pipeline = traits_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    killed = new_project(path, pipeline)
    process = start(killed, env, pipeline)
    while len(generate_calls(fake.requests)) < after_calls:
        assert process.poll() is None, f"the run ended before it could be killed: {process.stdout.read()}"  # type: ignore[union-attr]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    before_kill = generate_calls(fake.requests)
    with killed.store.connect() as con:
        written = con.execute(f"SELECT count(*) FROM {generations}").fetchone()[0]  # type: ignore[index]
        fingerprints = [json.loads(r[0]) for r in con.execute("SELECT request FROM llm_cache").fetchall()]
    cached = {identity(f["system"], f["messages"]) for f in fingerprints}
    assert cached & set(before_kill), "the cache holds answers to calls sent before the kill"
    assert written > 0, "the kill came after some work was committed"

    finish(start(killed, env, pipeline))
    after_restart = generate_calls(fake.requests)[len(before_kill) :]
    assert not set(after_restart) & cached, "a call whose answer was stored was sent again"
    assert len(set(after_restart) & set(before_kill)) <= batch, "only the batch in flight may be sent again"
    return killed
