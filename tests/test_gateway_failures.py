"""Failures that must not look like success, or be paid for on every run.

A permanent failure (401, 400, 404, an exception the client library was not expected to raise)
ends the call `failed` with its reason; it is cached, so the next run sends nothing for it,
unless that run asks to retry failed calls. A transient failure that outlasts its retries stays
`error` and is sent again next run.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakes.rules import Fault, Text
from tests.test_gateway import MODEL, gw_project  # noqa: F401 - the fixture
from workbench.llm.backends.gemini import GeminiBackend
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest
from workbench.project import Project, load_project

REQUESTS = [LLMRequest.from_prompt(f"question {i}") for i in range(3)]


def send(project: Project, **kwargs: Any) -> list[CallResult]:
    async def go() -> list[CallResult]:
        async with Gateway(project, stage="test", **kwargs) as gateway:
            return await gateway.map(REQUESTS, role="rater")

    return asyncio.run(go())


def ledger_statuses(project: Project) -> list[str]:
    with project.store.connect() as con:
        return [r[0] for r in con.execute("SELECT status FROM llm_calls ORDER BY created_at").fetchall()]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_permanent_error_fails_once_and_is_not_sent_again(gw_project: Project, fake_gemini: Any, status: int) -> None:  # noqa: F811
    fake_gemini.rule = lambda request: Fault(status)
    results = send(gw_project)
    assert [r.status for r in results] == ["failed"] * 3
    assert all(str(status) in (r.error or "") or "auth" in (r.error or "") for r in results)
    assert fake_gemini.requests_total == 3, "not retried"
    assert ledger_statuses(gw_project) == ["error"] * 3

    again = send(gw_project)
    assert [r.status for r in again] == ["failed"] * 3
    assert fake_gemini.requests_total == 3, "the next run does not pay for them again"


def test_retry_failed_sends_permanent_failures_again(gw_project: Project, fake_gemini: Any) -> None:  # noqa: F811
    fake_gemini.rule = lambda request: Fault(401)
    send(gw_project)
    fake_gemini.rule = lambda request: Text("fixed")  # e.g. the user set the right key
    results = send(gw_project, retry_failed=True)
    assert [r.status for r in results] == ["ok"] * 3
    assert fake_gemini.requests_total == 6
    assert [r.status for r in send(gw_project)] == ["ok"] * 3, "and the answers replace the failures in the cache"
    assert fake_gemini.requests_total == 6


def test_a_transient_error_that_outlasts_its_retries_is_sent_again_next_run(
    gw_project: Project,  # noqa: F811
    fake_gemini: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKBENCH_GATEWAY__MAX_ATTEMPTS", "2")
    fake_gemini.rule = lambda request: Fault(503)
    project = load_project(gw_project.root)
    results = send(project)
    assert [r.status for r in results] == ["error"] * 3
    assert all("after 2 attempt(s) over" in (r.error or "") for r in results), "the reason says how long it waited"
    fake_gemini.rule = lambda request: Text("back")
    assert [r.status for r in send(project)] == ["ok"] * 3


def test_an_unexpected_client_exception_is_a_failed_call_with_its_reason(
    gw_project: Project,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: GeminiBackend, *args: Any) -> Any:
        raise RuntimeError("the SDK tripped over something")

    monkeypatch.setattr(GeminiBackend, "generate", broken)
    results = send(gw_project)
    assert [r.status for r in results] == ["failed"] * 3
    assert "RuntimeError" in (results[0].error or "") and "tripped" in (results[0].error or "")
    assert ledger_statuses(gw_project) == ["error"] * 3, "each attempt is in the ledger"


def test_a_hung_server_costs_a_call_at_most_max_call_s_not_every_attempt(
    gw_project: Project,  # noqa: F811
    fake_gemini: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "CONNECT_TIMEOUT_S": "0.2",
        "READ_TIMEOUT_S": "0.3",
        "MAX_CALL_S": "1",
        "MAX_ATTEMPTS": "20",
    }.items():
        monkeypatch.setenv(f"WORKBENCH_GATEWAY__{name}", value)
    fake_gemini.latency_s = 5.0  # never answers in time
    results = send(load_project(gw_project.root))
    assert [r.status for r in results] == ["error"] * 3
    assert "timeout" in (results[0].error or "") and " s)" in (results[0].error or "")
    attempts = fake_gemini.requests_total / 3
    assert 1 < attempts < 20, "retried, but stopped by max_call_s long before max_attempts"
    statuses = ledger_statuses(gw_project)
    assert statuses.count("error") == 3 and statuses.count("retried") == len(statuses) - 3
