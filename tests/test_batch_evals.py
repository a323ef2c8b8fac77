"""Eval judging in batch mode: the target answers live, the judge panel through the batch API.

The knowledge suite on the fake Gemini server (tests/fakes/eval_single_turn_model.py grades each
answer by the markers in its case): the first run plays every target turn live, queues each
judge's verdict in its model's batch and stores no sample; once the jobs have ended, the same
command scores every play from the collected verdicts, without asking the target again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.test_eval_single_turn import add_test_traits, single_turn_env, write_cases
from workbench.evals.report import run_summary, samples
from workbench.evals.runner import EvalRunResult, run_eval
from workbench.project import Project, load_project

PANEL = ("gemini:judge-a", "gemini:judge-b")
TARGET = "gemini:fake-target"


@pytest.fixture
def env(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    for key, value in single_turn_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    add_test_traits(project, tmp_path)
    fake_gemini.batch_auto_advance = False
    return load_project(project.root)


def knowledge(project: Project, cases: Path, batch: str) -> EvalRunResult:
    return asyncio.run(run_eval(project, "knowledge", TARGET, cases_path=cases, traits_ref="test", judges=PANEL,
                                settings={"max_tokens": 16}, batch=batch))  # type: ignore[arg-type]  # fmt: skip


def target_calls(fake: Any) -> int:
    return sum(1 for r in fake.requests if r.model == "fake-target")


def test_judges_answer_through_batches_and_the_plays_are_scored_once_they_are_collected(
    env: Project, fake_gemini: Any, tmp_path: Path
) -> None:
    cases = write_cases(tmp_path, "question", {"one": "Principles? grades: 2", "two": "Values? grades: 0 1"})

    first = knowledge(env, cases, "submit")

    assert first.deferred == 2 and first.finished_now == 0 and samples(env, first.run_id) == []
    assert run_summary(env, first.run_id).status == "waiting"
    assert sorted(job.model for job in fake_gemini.batch_jobs) == ["judge-a", "judge-b"]
    assert all(len(job.lines) == 2 for job in fake_gemini.batch_jobs)  # both plays' verdicts, per judge
    assert target_calls(fake_gemini) == 2, "the target answered live"
    assert not any(r.model.startswith("judge") and "/batches/" not in r.path for r in fake_gemini.requests)

    for job in fake_gemini.batch_jobs:
        while not job.final:
            fake_gemini.advance()
    second = knowledge(env, cases, "submit")

    assert second.run_id == first.run_id and second.finished_now == 2 and second.deferred == 0
    rows = {row["case_id"]: row for row in samples(env, second.run_id)}
    assert (rows["one"]["score"], rows["two"]["score"]) == (2.0, pytest.approx(0.5))
    assert run_summary(env, second.run_id).status == "done"
    assert target_calls(fake_gemini) == 2, "the target's answers came from the cache"
