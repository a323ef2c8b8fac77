"""Kill the documents pipeline (CLI) with SIGKILL midway, restart it, and compare with a clean run.

Reuses the SFT resume test's helpers; the fake Gemini server stays up across the kill and sees
every request both runs send.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from tests.fakes.docs_model import DocsFakeModel
from tests.sft_setup import DOC_TYPES, TRAITS, docs_env
from tests.test_sft_resume import generate_calls, identity, new_project, start
from workbench.project import Project

BATCH = 2


def snapshot(project: Project) -> dict[str, set[tuple[Any, ...]]]:
    """Every row's identity and content (not run ids or times) in the documents tables."""
    queries = {
        "generations": "SELECT id, step, subject_id, status, text FROM doc_generations",
        "documents": "SELECT id, status, duplicate_of, brainstorm_id, draft_id, critique_id, rewrite_id, text"
        " FROM documents",
    }
    with project.store.connect() as con:
        return {name: set(con.execute(sql).fetchall()) for name, sql in queries.items()}


def test_sigkill_midway_then_restart_matches_a_clean_run(tmp_path: Path, fake_gemini: Any) -> None:
    fake_gemini.rule = DocsFakeModel(TRAITS, list(DOC_TYPES))
    fake_gemini.latency_s = 0.05
    env = docs_env(fake_gemini, WORKBENCH_DOCS__AUTO_ACCEPT="true", WORKBENCH_DOCS__BATCH_SIZE=str(BATCH))
    killed = new_project(tmp_path / "killed")
    process = start(killed, env, "docs")
    while len(generate_calls(fake_gemini.requests)) < 14:  # past the brainstorms, into the drafts
        assert process.poll() is None, f"the run ended before it could be killed: {process.stdout.read()}"  # type: ignore[union-attr]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    before_kill = generate_calls(fake_gemini.requests)
    with killed.store.connect() as con:
        written = con.execute("SELECT count(*) FROM doc_generations").fetchone()[0]  # type: ignore[index]
        fingerprints = [json.loads(r[0]) for r in con.execute("SELECT request FROM llm_cache").fetchall()]
    cached = {identity(f["system"], f["messages"]) for f in fingerprints}
    assert cached & set(before_kill), "the cache holds answers to calls sent before the kill"
    assert written > 0, "the kill came after some work was committed"

    restarted = start(killed, env, "docs")
    output, _ = restarted.communicate(timeout=240)
    assert restarted.returncode == 0, output
    after_restart = generate_calls(fake_gemini.requests)[len(before_kill) :]
    assert not set(after_restart) & cached, "a call whose answer was stored was sent again"
    assert len(set(after_restart) & set(before_kill)) <= BATCH, "only the batch in flight may be sent again"

    clean = new_project(tmp_path / "clean")
    run = start(clean, env, "docs")
    output, _ = run.communicate(timeout=240)
    assert run.returncode == 0, output
    resumed, uninterrupted = snapshot(killed), snapshot(clean)
    assert resumed == uninterrupted
    assert len(uninterrupted["documents"]) == 6 and len(uninterrupted["generations"]) == 30
    with killed.store.connect() as con:
        ok = con.execute("SELECT count(*) FROM documents WHERE status = 'ok'").fetchone()[0]  # type: ignore[index]
    assert ok == 4, "two planted documents are filtered or duplicate; the rest are accepted"
