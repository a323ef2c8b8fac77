"""Kill the documents pipeline (CLI) with SIGKILL midway, restart it, and compare with a clean run.

The helpers (tests/kill_resume.py) are the SFT resume test's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.docs_model import DocsFakeModel
from tests.kill_resume import kill_midway_and_restart, run_clean
from tests.sft_setup import DOC_TYPES, TRAITS, docs_env
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
    killed = kill_midway_and_restart(  # past the brainstorms, into the drafts
        tmp_path / "killed", env, "docs", fake_gemini, after_calls=14, generations="doc_generations", batch=BATCH
    )
    clean = run_clean(tmp_path / "clean", env, "docs")
    resumed, uninterrupted = snapshot(killed), snapshot(clean)
    assert resumed == uninterrupted
    assert len(uninterrupted["documents"]) == 6 and len(uninterrupted["generations"]) == 30
    with killed.store.connect() as con:
        ok = con.execute("SELECT count(*) FROM documents WHERE status = 'ok'").fetchone()[0]  # type: ignore[index]
    assert ok == 4, "two planted documents are filtered or duplicate; the rest are accepted"
