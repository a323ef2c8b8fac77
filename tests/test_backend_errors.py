"""How the HTTP backends fail: which statuses are permanent, timeouts fitted to each call, and
exceptions no rule maps. Each test runs the real client of both backends against its fake server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from google.genai import models as genai_models
from openai.resources.chat import completions as openai_completions

from tests.fakes.gemini_server import gemini_error
from tests.fakes.http_base import FakeHTTPServer
from tests.fakes.openai_server import openai_error
from tests.fakes.rules import Fault, Hang
from workbench.config import GatewayConfig, GeminiConfig
from workbench.llm.backends.base import Backend
from workbench.llm.backends.gemini import GeminiBackend
from workbench.llm.backends.openai_compat import OpenAIBackend
from workbench.llm.backends.timeouts import attempt_timeout_for, read_timeout_for
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, SamplingParams
from workbench.project import Project

SECRET = "key-that-must-never-show-123"


@dataclass
class Target:
    """One backend with its fake server, its error format and the SDK method that sends."""

    server: FakeHTTPServer
    make: Callable[[str, GatewayConfig], Backend]
    error_body: Callable[[int, str], dict[str, Any]]
    sdk_method: tuple[type, str]
    waits: Callable[[GatewayConfig, LLMRequest], float]  # what a hung server costs one request

    def send(self, *requests: LLMRequest, model: str = "m", gateway: GatewayConfig | None = None) -> list[Any]:
        """Send requests concurrently on a fresh loop: each answer or BackendError, in order."""
        backend = self.make(model, gateway or GatewayConfig())

        async def go() -> list[Any]:
            try:
                return await asyncio.gather(*(backend.generate(r, None) for r in requests), return_exceptions=True)
            finally:
                await backend.aclose()

        return asyncio.run(go())

    def error(self, **kwargs: Any) -> BackendError:
        (outcome,) = self.send(LLMRequest.from_prompt("hi"), **kwargs)
        assert isinstance(outcome, BackendError), outcome
        return outcome


@pytest.fixture(params=["gemini", "openai"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "gemini":
        server = request.getfixturevalue("fake_gemini")
        return Target(
            server,
            lambda model, gateway: GeminiBackend(model, GeminiConfig(), gateway),
            gemini_error,
            (genai_models.AsyncModels, "generate_content"),
            attempt_timeout_for,  # google-genai has one total timeout: connecting and reading
        )
    server = request.getfixturevalue("fake_openai")
    return Target(
        server,
        lambda model, gateway: OpenAIBackend(model, server.base_url, "OPENAI_API_KEY", gateway),
        openai_error,
        (openai_completions.AsyncCompletions, "create"),
        read_timeout_for,  # once connected
    )


# --- status codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (400, "client_error", "The input token count (1200000) exceeds the maximum number of tokens allowed."),
        (401, "auth", "Request had invalid authentication credentials."),
        (403, "auth", "Permission denied on this project."),
        (404, "not_found", "models/m is not found for API version v1beta."),
        (422, "client_error", "Unprocessable: temperature must be at most 2."),
    ],
)
def test_permanent_statuses_end_the_call_with_the_servers_reason(
    target: Target, status: int, kind: str, reason: str
) -> None:
    target.server.rule = lambda req: Fault(status, body=json.dumps(target.error_body(status, reason)))
    error = target.error()
    assert (error.kind, error.retryable) == (kind, False)
    assert str(status) in str(error) and reason in str(error)
    assert target.server.requests_total == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(408, "timeout"), (409, "server_error"), (429, "rate_limited"), (500, "server_error"), (503, "server_error")],
)
def test_transient_statuses_are_retried(target: Target, status: int, kind: str) -> None:
    target.server.rule = lambda req: Fault(status)
    error = target.error()
    assert (error.kind, error.retryable) == (kind, True)


def test_unknown_model_says_which_name_to_check(target: Target) -> None:
    target.server.rule = lambda req: Fault(404)
    error = target.error(model="no-such-model")
    assert error.kind == "not_found"
    assert "'no-such-model'" in str(error)


# --- timeouts ----------------------------------------------------------------------------------


def test_default_read_timeout_fits_a_structured_answer_of_1000_tokens(project: Project) -> None:
    gateway = project.config.gateway  # the defaults a new project's workbench.toml writes
    asks_for = LLMRequest.from_prompt("rate this", params=SamplingParams(max_output_tokens=1000))
    assert read_timeout_for(gateway, asks_for) == 60.0
    assert read_timeout_for(gateway, LLMRequest.from_prompt("no budget given")) == 60.0
    short = LLMRequest.from_prompt("yes or no", params=SamplingParams(max_output_tokens=250))
    assert read_timeout_for(gateway, short) == 30.0
    assert gateway.connect_timeout_s == 10.0
    fixed = gateway.model_copy(update={"read_timeout_s": 300.0})
    assert read_timeout_for(fixed, short) == read_timeout_for(fixed, asks_for) == 300.0


def test_each_call_waits_as_long_as_its_answer_may_take(target: Target) -> None:
    # A server that takes 1.5 s: too slow for a 100-token answer (0.2 + 100 / 1000 s), in time
    # for a 3000-token one (0.2 + 3000 / 1000 s). Without per-call timeouts both would answer.
    gateway = GatewayConfig(connect_timeout_s=0.2, read_timeout_floor_s=0.2, min_tokens_per_s=1000)
    target.server.rule = lambda req: Hang(1.5)
    short = LLMRequest.from_prompt("short", params=SamplingParams(max_output_tokens=100))
    long = LLMRequest.from_prompt("long", params=SamplingParams(max_output_tokens=3000))
    timed_out, answered = target.send(short, long, gateway=gateway)
    assert isinstance(answered, BackendResponse) and answered.text == "Echo: long"
    assert isinstance(timed_out, BackendError) and (timed_out.kind, timed_out.retryable) == ("timeout", True)
    waited = target.waits(gateway, short)
    assert target.server.base_url in str(timed_out)
    assert f"within {waited:g} s" in str(timed_out)


# --- exceptions no rule maps -------------------------------------------------------------------


def test_unexpected_client_exception_is_a_permanent_error_with_its_reason(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot encode argument near {SECRET}")

    monkeypatch.setattr(*target.sdk_method, broken)
    error = target.error()
    assert (error.kind, error.retryable) == ("unexpected", False)
    assert "ValueError: cannot encode argument near ***" in str(error)
    assert SECRET not in str(error)
    assert error.__suppress_context__  # a traceback would not print the original either
