"""The gateway in batch mode, against the fake Gemini and OpenAI batch endpoints (the real clients).

Requests are queued and come back `deferred`; a clean exit from the gateway submits them; once
the job has ended, collecting stores its answers with their ledger rows, and the same requests
through the gateway again come back as answers that went through structured-output validation
and the cache like live ones. What a finished job left unanswered follows `[batch] on_missing`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from tests.fakes.rules import FakeRequest, Fault, Reply, Text
from workbench.errors import BudgetExceededError
from workbench.llm.batch import collect, records
from workbench.llm.batch.collect import cancel, refresh
from workbench.llm.gateway import Gateway
from workbench.llm.types import BackendError, CallResult, LLMRequest
from workbench.project import Project, load_project


class Mood(BaseModel):
    """A structured answer."""

    mood: str = Field(description="One word.")


def mood_request(i: int) -> LLMRequest:
    return LLMRequest.from_prompt(f"How does item {i} feel?", schema=Mood)


def answer(request: FakeRequest) -> Reply:
    """Every prompt's mood is the item number in words, so answers can be told apart."""
    item = request.messages[-1][1].split("item ")[-1].split(" ")[0]
    return Text(json.dumps({"mood": f"calm-{item}"}))


def in_batch(request: FakeRequest) -> bool:
    return "/batches/" in request.path


@pytest.fixture(params=["gemini", "openai"])
def setup(request: pytest.FixtureRequest, project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, Any]:
    """A project whose rater is on the fake Gemini or the fake OpenAI server, priced, batch jobs stepped by hand."""
    fake = request.getfixturevalue(f"fake_{request.param}")
    spec = "gemini:fake-model" if request.param == "gemini" else fake.spec("fake-model")
    for name, value in {
        "ROLES__RATER": spec,
        "PRICES": json.dumps({"fake-model": {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0}}),
        "GATEWAY__BACKOFF_INITIAL_S": "0.01",
        "GATEWAY__BACKOFF_MAX_S": "0.05",
    }.items():
        monkeypatch.setenv(f"WORKBENCH_{name}", value)
    fake.rule = answer
    fake.batch_auto_advance = False
    return load_project(project.root), fake


async def through(project: Project, requests: list[LLMRequest], batch: str = "submit") -> list[CallResult]:
    async with Gateway(project, stage="test", batch=batch) as gateway:  # type: ignore[arg-type]
        return await gateway.map(requests, role="rater")


def finish(fake: Any) -> None:
    while not all(job.final for job in fake.batch_jobs):
        fake.advance()


def ledger(project: Project) -> list[tuple[Any, ...]]:
    with project.store.connect() as con:
        return con.execute("SELECT purpose, status, cost_usd FROM llm_calls ORDER BY created_at").fetchall()


def live_calls(fake: Any) -> int:
    return sum(1 for r in fake.requests if not in_batch(r))


def test_queued_then_collected_answers_are_validated_cached_and_priced_at_batch_rates(setup: tuple) -> None:
    project, fake = setup
    requests = [mood_request(i) for i in range(3)]

    first = asyncio.run(through(project, requests))
    assert [r.status for r in first] == ["deferred"] * 3
    assert len(fake.batch_jobs) == 1 and len(fake.batch_jobs[0].lines) == 3
    assert ledger(project) == [], "nothing is paid before the job runs"

    finish(fake)
    asyncio.run(refresh(project))
    second = asyncio.run(through(project, requests))
    assert [r.parsed for r in second] == [{"mood": f"calm-{i}"} for i in range(3)]
    assert all(r.ok and not r.cached for r in second)
    rows = ledger(project)
    assert [(purpose, status) for purpose, status, _ in rows] == [("batch", "ok")] * 3
    costs = [((r.tokens_in or 0) * 500.0 + (r.tokens_out or 0) * 1000.0) / 1e6 for r in second]  # half of 1000/2000
    assert all(r.tokens_in and r.tokens_out for r in second)
    assert sorted(cost for *_, cost in rows) == pytest.approx(sorted(costs))
    assert [r.cost_usd for r in second] == pytest.approx(costs)

    third = asyncio.run(through(project, requests))
    assert all(r.cached for r in third), "a used answer is in the cache like a live one"
    assert live_calls(fake) == 0 and len(fake.batch_jobs) == 1
    assert len(ledger(project)) == 3


def test_a_request_that_waits_on_a_batch_is_not_sent_live(setup: tuple) -> None:
    project, fake = setup
    asyncio.run(through(project, [mood_request(1)]))

    live = asyncio.run(through(project, [mood_request(1), mood_request(2)], batch="off"))

    assert [r.status for r in live] == ["deferred", "ok"]
    assert "waiting on batch" in (live[0].error or "")
    assert live_calls(fake) == 1, "only the request no batch holds went live"


@pytest.mark.parametrize("on_missing", ["live", "batch", "skip"])
def test_what_a_finished_job_failed_to_answer_follows_on_missing(
    setup: tuple, on_missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, fake = setup
    monkeypatch.setenv("WORKBENCH_BATCH__ON_MISSING", on_missing)
    project = load_project(project.root)
    fake.rule = lambda r: Fault(500) if in_batch(r) and "item 1 " in r.messages[-1][1] else answer(r)
    requests = [mood_request(i) for i in range(3)]
    asyncio.run(through(project, requests))
    finish(fake)
    asyncio.run(refresh(project))

    results = asyncio.run(through(project, requests))

    assert [r.status for r in results][::2] == ["ok", "ok"]
    statuses = [purpose + ":" + status for purpose, status, _ in ledger(project)]
    assert statuses.count("batch:error") == 1, "the failed request is in the ledger, with no cost"
    if on_missing == "live":
        assert results[1].ok and live_calls(fake) == 1
    elif on_missing == "batch":
        assert results[1].status == "deferred" and len(fake.batch_jobs) == 2
        assert [key for key, _ in fake.batch_jobs[1].lines] == [results[1].cache_key]
    else:
        assert results[1].status == "error" and live_calls(fake) == 0 and len(fake.batch_jobs) == 1


def test_an_expired_job_keeps_what_it_answered(setup: tuple) -> None:
    project, fake = setup
    fake.batch_states = ["pending", "expired"]
    fake.batch_answered = 2
    asyncio.run(through(project, [mood_request(i) for i in range(3)]))
    finish(fake)

    [report] = asyncio.run(refresh(project))

    assert report.state == "expired" and report.collected
    [batch] = records.batches(project.store)
    assert (batch.answered, batch.failed) == (2, 1)
    results = asyncio.run(through(project, [mood_request(i) for i in range(3)]))
    assert all(r.ok for r in results) and live_calls(fake) == 1  # the third, live ([batch] on_missing = live)


def test_a_cancelled_job_is_collected_and_its_requests_asked_again(setup: tuple) -> None:
    project, fake = setup
    asyncio.run(through(project, [mood_request(1)]))
    [batch] = records.batches(project.store)

    asyncio.run(cancel(project, [batch.id]))
    finish(fake)
    asyncio.run(refresh(project))

    assert fake.batch_jobs[0].state == "cancelled"
    assert records.batches(project.store)[0].collected_at is not None
    assert asyncio.run(through(project, [mood_request(1)]))[0].ok and live_calls(fake) == 1


def test_a_batch_whose_worst_case_passes_the_budget_is_not_submitted(
    setup: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, fake = setup
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.001")
    project = load_project(project.root)

    with pytest.raises(BudgetExceededError, match="could cost up to"):
        asyncio.run(through(project, [mood_request(i) for i in range(3)]))

    assert fake.batch_jobs == [] and records.batches(project.store) == []


def test_an_unreachable_provider_leaves_its_batches_open_and_the_stage_runs_on(
    setup: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _ = setup
    asyncio.run(through(project, [mood_request(1)]))

    async def down(*args: object) -> None:
        raise BackendError("connection", "cannot reach the batch endpoint")

    monkeypatch.setattr(collect, "_remote_job", down)
    [report] = asyncio.run(collect.collect_ready(project))  # what every stage does before it runs
    assert report.state == "unreachable" and "cannot reach" in (report.detail or "")
    assert records.batches(project.store, open_only=True), "the batch stays open"
    with pytest.raises(BackendError):
        asyncio.run(collect.refresh(project))  # asked for explicitly, the failure is the answer
    results = asyncio.run(through(project, [mood_request(1), mood_request(2)], batch="off"))
    assert [r.status for r in results] == ["deferred", "ok"]


def test_cancelling_a_batch_whose_submission_crashed_cancels_the_job_the_provider_made(setup: tuple) -> None:
    project, fake = setup

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # the provider accepted the job; the store never heard its id

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(records, "mark_submitted", crash)
        asyncio.run(through(project, [mood_request(1)]))
    [batch] = records.batches(project.store)

    asyncio.run(cancel(project, [batch.id]))
    finish(fake)
    asyncio.run(refresh(project))

    [job] = fake.batch_jobs
    assert job.state == "cancelled", "the job was found by its name and cancelled, not left to run and bill"
    [after] = records.batches(project.store)
    assert after.remote_id is not None and after.collected_at is not None
