"""Batch mode through the whole SFT pipeline, against the fake Gemini Batch API (the real client).

A pipeline in batch mode submits one step's calls as a batch job and stops; each run after the
job has ended collects it and goes on to the next step. These tests check that the data it ends
with is exactly what a live run makes, that every answer is in the ledger once at batch prices,
and that nothing is ever submitted (or paid for) twice: not on a re-run, not after a crash
between submitting and recording the job.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.sft_setup import rows
from workbench.generate.pipeline import SFTReport, run_sft
from workbench.llm.batch import records
from workbench.llm.batch.collect import refresh
from workbench.project import Project, load_project

GENERATE = ":generateContent"  # the live endpoint's path suffix at the fake server


def finish_jobs(fake: Any) -> None:
    """Let every submitted job run to its final state."""
    while not all(job.final for job in fake.batch_jobs):
        fake.advance()


def run_batch(project: Project) -> SFTReport:
    return asyncio.run(run_sft(project, "test", batch="submit"))


def deferred(report: SFTReport) -> int:
    return sum(step.deferred for step in report.steps)


def run_to_the_end(project: Project, fake: Any, limit: int = 30) -> list[SFTReport]:
    """Run in batch mode, letting each submitted job finish, until nothing waits."""
    reports = [run_batch(project)]
    while deferred(reports[-1]):
        assert len(reports) < limit, "the pipeline never finished"
        finish_jobs(fake)
        reports.append(run_batch(project))
    return reports


def example_texts(project: Project) -> list[tuple[Any, ...]]:
    return rows(project, "SELECT id, user_prompt, response, rejected, scores, status FROM sft_examples ORDER BY id")


def test_a_batch_run_ends_with_the_data_a_live_run_makes(
    sft_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    sft_project = load_project(sft_project.root)
    fake_gemini.batch_auto_advance = False
    reports = run_to_the_end(sft_project, fake_gemini)

    assert len(reports) > 3  # one round per step that calls a model
    first = reports[0]
    assert deferred(first) > 0 and first.steps[-1].batches, "the first run submits its first step's batch"
    live_calls = sum(n for path, n in fake_gemini.path_counts.items() if path.endswith(GENERATE))
    assert live_calls == 0, "every generation went through a batch"
    batch_texts = example_texts(sft_project)
    assert batch_texts

    # The same project run live from scratch makes exactly the same examples.
    live = load_project(sft_project.root)
    with live.store.connect() as con:
        for table in ("sft_examples", "sft_generations", "sft_scenarios", "llm_cache"):
            con.execute(f"DELETE FROM {table}")
    asyncio.run(run_sft(live, "test"))
    assert example_texts(live) == batch_texts


def test_every_batch_answer_is_in_the_ledger_once_at_half_price(sft_project: Project, fake_gemini: Any) -> None:
    fake_gemini.batch_auto_advance = False
    run_to_the_end(sft_project, fake_gemini)

    ledger = rows(
        sft_project, "SELECT cache_key, tokens_in, tokens_out, cost_usd FROM llm_calls WHERE purpose = 'batch'"
    )
    answered = rows(sft_project, "SELECT count(*) FROM llm_batch_requests WHERE state = 'answered'")[0][0]
    assert len(ledger) == answered > 0
    assert len({key for key, *_ in ledger}) == len(ledger), "no request was recorded twice"
    for _, tokens_in, tokens_out, cost in ledger:  # fake-model: $1 in, $2 out per million; batch: half
        assert cost == pytest.approx((tokens_in * 0.5 + tokens_out * 1.0) / 1e6)
    submitted = sum(len(job.lines) for job in fake_gemini.batch_jobs)
    assert submitted == answered, "each request was submitted once"


def test_a_rerun_before_the_job_ends_submits_nothing_new(sft_project: Project, fake_gemini: Any) -> None:
    fake_gemini.batch_auto_advance = False
    first = run_batch(sft_project)
    second = run_batch(sft_project)

    assert len(fake_gemini.batch_jobs) == 1
    assert deferred(second) == deferred(first) > 0
    assert not second.steps[-1].batches
    status = rows(sft_project, "SELECT status, note FROM runs ORDER BY started_at DESC LIMIT 1")[0]
    assert status[0] == "waiting" and "wait on batches" in status[1]


def test_a_crash_between_creating_the_job_and_recording_it_collects_instead_of_resubmitting(
    sft_project: Project, fake_gemini: Any
) -> None:
    fake_gemini.batch_auto_advance = False

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # the process dies right after the provider accepted the job

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(records, "mark_submitted", crash)
        run_batch(sft_project)
    [batch] = records.batches(sft_project.store)
    assert batch.state == "submitting" and batch.remote_id is None

    finish_jobs(fake_gemini)
    report = run_batch(sft_project)  # finds the job by its display name, collects it, goes on

    [adopted, *_] = sorted(records.batches(sft_project.store), key=lambda b: b.created_at)
    assert adopted.id == batch.id and adopted.remote_id is not None and adopted.collected_at is not None
    assert fake_gemini.batch_jobs[0].display_name == batch.id
    assert sum(1 for job in fake_gemini.batch_jobs if job.display_name == batch.id) == 1
    assert report.steps[0].written  # the first step's rows were written from the collected answers


def test_collecting_twice_stores_the_answers_once(sft_project: Project, fake_gemini: Any) -> None:
    fake_gemini.batch_auto_advance = False
    run_batch(sft_project)
    finish_jobs(fake_gemini)

    async def both() -> None:
        await asyncio.gather(refresh(sft_project), refresh(sft_project))

    asyncio.run(both())
    asyncio.run(refresh(sft_project))
    counts = rows(sft_project, "SELECT count(*), count(DISTINCT cache_key) FROM llm_calls WHERE purpose = 'batch'")[0]
    assert counts[0] == counts[1] == len(fake_gemini.batch_jobs[0].lines)
