"""The gateway, end to end: the real google-genai client against the fake Gemini server."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from tests.fakes.rules import FakeRequest, Fault, Malformed, Reply, Safety, Text, default_rule
from workbench.errors import MissingCredentialsError, WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest, SamplingParams
from workbench.progress import ProgressUpdate
from workbench.project import Project, load_project
from workbench.runs import finish_run, start_run

MODEL = "gemini-fake"


class Verdict(BaseModel):
    """A critique verdict, as later stages will ask for."""

    verdict: Literal["keep", "revise", "drop"] = Field(description="What to do with the scenario.")
    reasons: list[str] = Field(description="Why.")


@pytest.fixture
def gw_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The test project, wired to the fake server, with quick backoff and a price for the fake model."""
    settings = {
        "GATEWAY__BACKOFF_INITIAL_S": "0.01",
        "GATEWAY__BACKOFF_MAX_S": "0.05",
        "GATEWAY__READ_TIMEOUT_S": "5",
        "GATEWAY__FLUSH_INTERVAL_S": "0.2",
        "ROLES__RATER": f"gemini:{MODEL}",
        "PRICES": json.dumps({MODEL: {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0}}),
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"WORKBENCH_{name}", value)
    return load_project(project.root)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def call_all(project: Project, requests: list[LLMRequest], **kwargs: Any) -> list[CallResult]:
    async with Gateway(project, stage="test", **kwargs) as gateway:
        return await gateway.map(requests, role="rater")


def ledger(project: Project) -> list[dict[str, Any]]:
    with project.store.connect() as con:
        cursor = con.execute("SELECT * FROM llm_calls ORDER BY created_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def verdict_request(i: int, **kwargs: Any) -> LLMRequest:
    return LLMRequest.from_prompt(f"Judge scenario {i}", schema=Verdict, **kwargs)


def test_structured_call_is_validated_logged_costed_and_cached(gw_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = lambda req: Text('{"verdict": "revise", "reasons": ["too easy"]}', tokens_in=10,
                                        tokens_out=5)  # fmt: skip
    [result] = run(call_all(gw_project, [verdict_request(1)]))
    assert result.status == "ok" and not result.cached
    assert Verdict.model_validate(result.parsed) == Verdict(verdict="revise", reasons=["too easy"])
    assert fake_gemini.requests[0].json_schema["properties"]["verdict"]["enum"] == ["keep", "revise", "drop"]
    [row] = ledger(gw_project)
    assert (row["status"], row["stage"], row["role"], row["model"]) == (
        "ok",
        "test",
        "rater",
        f"gemini:{MODEL}",
    )
    assert (row["tokens_in"], row["tokens_out"]) == (10, 5)
    assert row["cost_usd"] == pytest.approx((10 * 1000 + 5 * 2000) / 1e6)

    [again] = run(call_all(gw_project, [verdict_request(1)]))
    assert again.cached and again.parsed == result.parsed
    assert fake_gemini.requests_total == 1
    assert len(ledger(gw_project)) == 1


def test_rate_limit_honours_retry_after_then_succeeds(gw_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = lambda req: Fault(429, retry_after=0.04) if req.attempt < 2 else default_rule(req)
    delays: list[float] = []

    async def go() -> CallResult:
        async with Gateway(gw_project, stage="test") as gateway:

            async def record(seconds: float) -> None:
                delays.append(seconds)

            gateway.sleep = record
            return await gateway.call(verdict_request(1), role="rater")

    assert run(go()).status == "ok"
    assert len(delays) == 2 and all(d >= 0.04 for d in delays)
    assert [r["status"] for r in ledger(gw_project)] == ["retried", "retried", "ok"]
    assert "rate_limited" in ledger(gw_project)[0]["error"]


def test_persistent_server_errors_fail_with_reason_and_are_not_cached(gw_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = lambda req: Fault(503)
    [result] = run(call_all(gw_project, [verdict_request(1)]))
    attempts = gw_project.config.gateway.max_attempts
    assert result.status == "error" and "server_error" in (result.error or "")
    assert fake_gemini.requests_total == attempts
    assert [r["status"] for r in ledger(gw_project)] == ["retried"] * (attempts - 1) + ["error"]
    fake_gemini.rule = default_rule  # the outage ends: the next run tries again and succeeds
    [retry] = run(call_all(gw_project, [verdict_request(1)]))
    assert retry.status == "ok" and fake_gemini.requests_total == attempts + 1


def test_invalid_json_gets_one_repair_turn(gw_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = lambda req: Malformed() if len(req.messages) == 1 else default_rule(req)
    [result] = run(call_all(gw_project, [verdict_request(1)]))
    assert result.status == "ok" and result.parsed is not None
    repair = fake_gemini.requests[1]
    assert [role for role, _ in repair.messages] == ["user", "assistant", "user"]
    assert "could not be used" in repair.messages[2][1]
    assert [(r["purpose"], r["status"]) for r in ledger(gw_project)] == [
        ("call", "invalid_json"),
        ("repair", "ok"),
    ]


def test_second_invalid_answer_is_recorded_as_parse_failure_and_cached(gw_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = lambda req: Malformed()
    [result] = run(call_all(gw_project, [verdict_request(1)]))
    assert result.status == "parse_failed" and "after one repair" in (result.error or "")
    assert fake_gemini.requests_total == 2
    [again] = run(call_all(gw_project, [verdict_request(1)]))
    assert again.status == "parse_failed" and again.cached and fake_gemini.requests_total == 2


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [(Safety("SAFETY"), "safety", "SAFETY"), (Safety("PROHIBITED_CONTENT", prompt=True), "safety", "PROHIBITED"),
     (Text("{\"verdict\": \"ke", finish="length"), "length", "truncated")],
)  # fmt: skip
def test_blocks_and_truncation_become_statuses(
    gw_project: Project, fake_gemini: Any, reply: Reply, status: str, reason: str
) -> None:
    fake_gemini.rule = lambda req: reply
    [result] = run(call_all(gw_project, [verdict_request(1)]))
    assert result.status == status and reason in (result.error or "")
    assert fake_gemini.requests_total == 1  # a block is the model's answer, not a reason to retry


def test_samples_of_one_prompt_are_distinct_and_reproducibly_seeded(gw_project: Project, fake_gemini: Any) -> None:
    samples = [LLMRequest.from_prompt("Same", params=SamplingParams(seed=7), sample_index=i) for i in range(3)]
    results = run(call_all(gw_project, [*samples, samples[0]]))
    assert len({r.cache_key for r in results}) == 3 and results[0].cache_key == results[3].cache_key
    assert sorted(r.params.get("seed") for r in fake_gemini.requests) == [7, 8, 9]
    run(call_all(gw_project, samples))
    assert fake_gemini.requests_total == 3


def test_budget_cap_stops_the_run_cleanly_and_holds_across_restarts(
    gw_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each answer costs (10*1000 + 5*2000)/1e6 = $0.02; the cap allows three.
    fake_gemini.rule = lambda req: Text('{"verdict": "keep", "reasons": []}', tokens_in=10, tokens_out=5)
    monkeypatch.setenv("WORKBENCH_CONCURRENCY__GEMINI", "1")
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.059")
    project = load_project(gw_project.root)
    run_id = start_run(project.store, "test")

    async def go(requests: list[LLMRequest]) -> tuple[list[CallResult], bool]:
        async with Gateway(project, stage="test", run_id=run_id) as gateway:
            return await gateway.map(requests, role="rater"), gateway.budget_exhausted

    results, exhausted = run(go([verdict_request(i) for i in range(6)]))
    assert exhausted
    assert [r.status for r in results] == ["ok"] * 3 + ["budget_exceeded"] * 3
    assert fake_gemini.requests_total == 3
    finish_run(project.store, run_id, "stopped_budget")
    # Resuming the same run: finished work comes from the cache, and the spent budget is remembered.
    results, _ = run(go([verdict_request(i) for i in range(6)]))
    assert [r.status for r in results] == ["ok"] * 3 + ["budget_exceeded"] * 3
    assert fake_gemini.requests_total == 3


def test_missing_key_is_one_clear_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__RATER", "gemini:gemini-3-flash")
    with pytest.raises(MissingCredentialsError, match="GEMINI_API_KEY"):
        run(call_all(load_project(project.root), [verdict_request(1)]))


def test_unknown_role_says_how_to_set_it(project: Project) -> None:
    project.config.roles.pop("rater")
    with pytest.raises(WorkbenchError, match="WORKBENCH_ROLES__RATER"):
        run(call_all(project, [verdict_request(1)]))


def test_two_hundred_calls_with_faults_all_end_and_rerun_sends_nothing(
    gw_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng, lock = random.Random(1234), threading.Lock()

    def faulty(req: FakeRequest) -> Reply:
        with lock:
            roll = rng.random()
        if roll < 0.10:
            return Fault(429, retry_after=0.01)
        if roll < 0.15:
            return Fault(500)
        if roll < 0.20:
            return Malformed()
        return default_rule(req)

    fake_gemini.rule = faulty
    fake_gemini.latency_s = 0.005
    monkeypatch.setenv("WORKBENCH_GATEWAY__MAX_ATTEMPTS", "10")
    project = load_project(gw_project.root)
    requests = [verdict_request(i) for i in range(200)]
    results = run(call_all(project, requests))

    assert len(results) == 200
    assert {r.status for r in results} <= {"ok", "parse_failed"}
    assert all(r.error for r in results if r.status != "ok")
    assert sum(r.ok for r in results) >= 190
    rows = ledger(project)
    assert len(rows) == fake_gemini.requests_total  # every request sent is in the ledger
    assert sum(r["status"] == "retried" for r in rows) >= 10

    sent = fake_gemini.requests_total
    again = run(call_all(project, requests))
    assert fake_gemini.requests_total == sent  # zero HTTP requests the second time
    assert [r.parsed for r in again] == [r.parsed for r in results]
    assert all(r.cached for r in again)


def test_progress_counts_cached_and_fresh_calls_up_to_the_total(gw_project: Project, fake_gemini: Any) -> None:
    run(call_all(gw_project, [verdict_request(0)]))
    updates: list[ProgressUpdate] = []

    async def go() -> None:
        async with Gateway(gw_project, stage="scenarios") as gateway:
            await gateway.map([verdict_request(i) for i in range(4)], role="rater", progress=updates.append)

    run(go())
    assert [(u.stage, u.done, u.total) for u in updates] == [("scenarios", d, 4) for d in (1, 2, 3, 4)]


def test_concurrency_is_bounded_per_backend(
    gw_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def slow(req: FakeRequest) -> Reply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return default_rule(req)

    fake_gemini.rule = slow
    monkeypatch.setenv("WORKBENCH_CONCURRENCY__GEMINI", "3")
    results = run(call_all(load_project(gw_project.root), [verdict_request(i) for i in range(12)]))
    assert all(r.ok for r in results)
    assert peak[0] == 3


def test_local_hf_model_answers_through_the_gateway(
    project: Project, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__BASELINE", f"hf:{tiny_model_path}")
    local = load_project(project.root)
    requests = [LLMRequest.from_prompt(f"Hello {i}", params=SamplingParams(max_output_tokens=8)) for i in range(4)]

    async def go() -> list[CallResult]:
        async with Gateway(local, stage="baseline") as gateway:
            return await gateway.map(requests, role="baseline")

    results = run(go())
    assert all(r.status in ("ok", "length") and r.tokens_out and r.tokens_out <= 8 for r in results)
    assert all(r.cost_usd is None for r in results)  # a local model has no price
    assert [r["model"] for r in ledger(local)] == [f"hf:{tiny_model_path}"] * 4
    assert all(r.cached for r in run(go()))


def test_unreachable_server_fails_with_the_url_and_what_to_check(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORKBENCH_ROLES__RATER", f"openai:m@http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("WORKBENCH_GATEWAY__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("WORKBENCH_GATEWAY__BACKOFF_INITIAL_S", "0.01")
    [result] = run(call_all(load_project(project.root), [verdict_request(1)]))
    assert result.status == "error"
    assert f"127.0.0.1:{port}" in (result.error or "") and "server is running" in (result.error or "")
    assert [r["status"] for r in ledger(project)] == ["retried", "error"]
