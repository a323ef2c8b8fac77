"""Kill the SFT pipeline with SIGKILL midway, restart it, and compare with an uninterrupted run.

The CLI runs in a subprocess, as a user runs it (helpers in tests/kill_resume.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.sft_model import SFTFakeModel
from tests.kill_resume import kill_midway_and_restart, run_clean
from tests.sft_setup import PERSONAS, TRAITS, sft_env
from workbench.project import Project

BATCH = 4


def snapshot(project: Project) -> dict[str, set[tuple[Any, ...]]]:
    """Every row's identity and content (not run ids or times) in the three SFT tables."""
    queries = {
        "scenarios": "SELECT id, parent_id, status, reason, user_prompt FROM sft_scenarios",
        "generations": "SELECT id, step, subject_id, status, text FROM sft_generations",
        "examples": "SELECT id, status, duplicate_of, response, rejected FROM sft_examples",
    }
    with project.store.connect() as con:
        return {name: set(con.execute(sql).fetchall()) for name, sql in queries.items()}


def test_sigkill_midway_then_restart_matches_a_clean_run(tmp_path: Path, fake_gemini: Any) -> None:
    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)
    fake_gemini.latency_s = 0.05
    env = sft_env(
        fake_gemini, WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true", WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES="true",
        WORKBENCH_SFT__BATCH_SIZE=str(BATCH),
    )  # fmt: skip
    killed = kill_midway_and_restart(
        tmp_path / "killed", env, "sft", fake_gemini, after_calls=30, generations="sft_generations", batch=BATCH
    )
    clean = run_clean(tmp_path / "clean", env, "sft")
    resumed, uninterrupted = snapshot(killed), snapshot(clean)
    assert resumed == uninterrupted
    assert len(uninterrupted["examples"]) == 7 and len(uninterrupted["scenarios"]) == 9
