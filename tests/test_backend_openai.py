"""The OpenAI-compatible backend: the real openai client against the fake chat completions server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from tests.fakes.openai_server import FakeOpenAIServer, openai_error
from tests.fakes.rules import Fault, Hang, Refusal, Safety, Text
from workbench.config import GatewayConfig, HFConfig, ProjectConfig
from workbench.errors import MissingCredentialsError
from workbench.llm.backends import make_backend
from workbench.llm.backends.http_errors import parse_retry_after, retry_after_from_headers
from workbench.llm.backends.openai_compat import NO_AUTH_KEY, OpenAIBackend
from workbench.llm.spec import ModelSpec
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, Message, SamplingParams

SECRET = "sk-proj-very-secret-key-123"


class Verdict(BaseModel):
    label: str
    score: int


def generate(
    base_url: str | None,
    request: LLMRequest | None = None,
    schema: dict[str, Any] | None = None,
    gateway: GatewayConfig | None = None,
    api_key_env: str = "OPENAI_API_KEY",
) -> BackendResponse:
    """Build a backend, send one request on a fresh event loop, close the backend."""
    backend = OpenAIBackend("fake-model", base_url, api_key_env, gateway or GatewayConfig())

    async def go() -> BackendResponse:
        try:
            return await backend.generate(request or LLMRequest.from_prompt("hi"), schema)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def generate_error(base_url: str | None, **kwargs: Any) -> BackendError:
    with pytest.raises(BackendError) as info:
        generate(base_url, **kwargs)
    return info.value


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A port whose accept queue is full: the kernel drops new SYNs, so connecting hangs."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.socket())
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(3):  # fill the queue (a backlog of 0 still holds one or two)
            filler = stack.enter_context(socket.socket())
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}/v1"


# --- answers -------------------------------------------------------------------------------


def test_text_answer_maps_request_and_tokens(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Text("Hello there", tokens_in=11, tokens_out=3)
    request = LLMRequest(
        messages=(Message("user", "hi"), Message("assistant", "hello"), Message("user", "again")),
        system="Be brief.",
        params=SamplingParams(temperature=0.3, max_output_tokens=64, top_p=0.9, seed=7),
    )
    response = generate(fake_openai.base_url, request)
    assert response == BackendResponse("Hello there", "stop", tokens_in=11, tokens_out=3)
    (seen,) = fake_openai.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.model == "fake-model"
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user", "assistant", "user"]
    assert seen.system == "Be brief."
    assert seen.messages == [("user", "hi"), ("assistant", "hello"), ("user", "again")]
    assert seen.params == {"temperature": 0.3, "max_output_tokens": 64, "top_p": 0.9, "seed": 7}
    assert seen.body["max_tokens"] == 64  # self-hosted servers all know max_tokens
    assert seen.api_key == "test-key"
    assert "response_format" not in seen.body


def test_unset_params_are_not_sent(fake_openai: FakeOpenAIServer) -> None:
    generate(fake_openai.base_url)
    body = fake_openai.requests[0].body
    assert set(body) == {"model", "messages"}


def test_openai_itself_gets_max_completion_tokens(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No base URL in the spec means api.openai.com; OPENAI_BASE_URL (read by the client)
    # lets the fake stand in for it.
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    request = LLMRequest.from_prompt("hi", params=SamplingParams(max_output_tokens=32))
    assert generate(None, request).text == "Echo: hi"
    body = fake_openai.requests[0].body
    assert body["max_completion_tokens"] == 32 and "max_tokens" not in body


def test_structured_request_sends_json_schema(fake_openai: FakeOpenAIServer) -> None:
    schema = Verdict.model_json_schema()
    response = generate(fake_openai.base_url, schema=schema)
    (seen,) = fake_openai.requests
    assert seen.json_schema == schema
    assert seen.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Verdict", "schema": schema, "strict": False},
    }
    Verdict.model_validate_json(response.text)


def test_length_finish(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Text("cut off mid", finish="length")
    response = generate(fake_openai.base_url)
    assert (response.finish_reason, response.text) == ("length", "cut off mid")


def test_content_filter_finish_is_safety(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Safety()
    response = generate(fake_openai.base_url)
    assert (response.finish_reason, response.detail, response.text) == ("safety", "content_filter", "")


def test_prompt_content_filter_is_safety(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Safety("hate", prompt=True)
    response = generate(fake_openai.base_url)
    assert response.finish_reason == "safety"
    assert response.detail is not None and "prompt" in response.detail and "hate" in response.detail


def test_refusal_is_refusal_with_text(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Refusal("I can't help with that.")
    response = generate(fake_openai.base_url)
    assert (response.finish_reason, response.detail) == ("refusal", "I can't help with that.")


def test_unknown_finish_is_other(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Text("", finish="tool_calls")
    response = generate(fake_openai.base_url)
    assert (response.finish_reason, response.detail) == ("other", "tool_calls")


def test_reasoning_tokens_count_as_output(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Text("42", tokens_in=5, tokens_out=1, thinking_tokens=9)
    response = generate(fake_openai.base_url)
    assert (response.tokens_in, response.tokens_out) == (5, 10)


# --- errors --------------------------------------------------------------------------------


def test_rate_limit_carries_retry_after(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Fault(429, retry_after=3)
    error = generate_error(fake_openai.base_url)
    assert (error.kind, error.retry_after, error.retryable) == ("rate_limited", 3.0, True)
    assert fake_openai.requests_total == 1  # max_retries=0: the client did not retry


def test_retry_after_header_forms() -> None:
    assert retry_after_from_headers({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_from_headers({"retry-after": "2.5"}) == 2.5
    assert retry_after_from_headers({}) is None
    assert parse_retry_after("soon") is None
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 61


def test_auth_error_names_the_key_variable(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_VLLM_KEY", "k")
    fake_openai.rule = lambda req: Fault(401)
    assert "MY_VLLM_KEY" in str(generate_error(fake_openai.base_url, api_key_env="MY_VLLM_KEY"))


def test_hang_past_timeout_is_timeout(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: Hang(3)
    start = time.monotonic()
    error = generate_error(fake_openai.base_url, gateway=GatewayConfig(read_timeout_s=0.5))
    assert error.kind == "timeout"
    assert time.monotonic() - start < 2.5
    assert fake_openai.requests_total == 1


def test_server_that_never_accepts_times_out_connecting(unanswered_url: str) -> None:
    error = generate_error(unanswered_url, gateway=GatewayConfig(connect_timeout_s=0.3, read_timeout_s=30))
    assert (error.kind, error.retryable) == ("timeout", True)
    assert f"could not connect to {unanswered_url} within 0.3 s" in str(error)


def test_closed_port_is_connection_error_naming_url() -> None:
    url = closed_port_url()
    start = time.monotonic()
    error = generate_error(url)
    assert error.kind == "connection"
    assert url in str(error)
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "fault",
    [
        Fault(401, body=json.dumps(openai_error(401, f"Incorrect API key provided: {SECRET}"))),
        Fault(429, body=json.dumps(openai_error(429, f"limit for {SECRET}"))),
        Fault(500, body=f"<html>{SECRET}</html>"),
    ],
)
def test_key_never_appears_in_errors(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fake_openai.rule = lambda req: fault
    error = generate_error(fake_openai.base_url)
    assert fake_openai.requests[0].api_key == SECRET
    assert SECRET not in str(error)
    assert "***" in str(error)
    assert error.__suppress_context__


# --- credentials and configuration ---------------------------------------------------------


def test_missing_key_without_server_names_the_variable() -> None:
    with pytest.raises(MissingCredentialsError) as info:
        OpenAIBackend("gpt-test", None, "OPENAI_API_KEY", GatewayConfig())
    assert "export OPENAI_API_KEY=" in str(info.value)
    with pytest.raises(MissingCredentialsError, match="MY_KEY"):
        OpenAIBackend("gpt-test", None, "MY_KEY", GatewayConfig())


def test_self_hosted_server_needs_no_key(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    assert generate(fake_openai.base_url).text == "Echo: hi"
    assert fake_openai.requests[0].api_key == NO_AUTH_KEY


def test_backend_survives_several_event_loops(fake_openai: FakeOpenAIServer) -> None:
    # A bare AsyncOpenAI fails here with "Event loop is closed" on the second loop.
    backend = OpenAIBackend("fake-model", fake_openai.base_url, "OPENAI_API_KEY", GatewayConfig())
    for prompt in ("one", "two", "three"):
        answer = asyncio.run(backend.generate(LLMRequest.from_prompt(prompt), None))
        assert answer.text == f"Echo: {prompt}"
    asyncio.run(backend.aclose())


def test_make_backend_builds_openai_from_spec(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("VLLM_KEY", "vllm-key")
    config = ProjectConfig(openai={"api_key_env": "VLLM_KEY"}, gateway={"read_timeout_s": 0.5})
    backend = make_backend(ModelSpec.parse(fake_openai.spec("qwen")), config)
    assert isinstance(backend, OpenAIBackend)
    fake_openai.rule = lambda req: Hang(3) if req.last_user_text == "slow" else Text("ok")

    async def go() -> tuple[BackendResponse, BackendError]:
        try:
            answer = await backend.generate(LLMRequest.from_prompt("spec"), None)
            with pytest.raises(BackendError) as info:
                await backend.generate(LLMRequest.from_prompt("slow"), None)
            return answer, info.value
        finally:
            await backend.aclose()

    answer, error = asyncio.run(go())
    assert answer.text == "ok"
    assert error.kind == "timeout"  # the gateway's read_timeout_s reached the client
    first = fake_openai.requests[0]
    assert (first.model, first.api_key) == ("qwen", "vllm-key")


def test_make_backend_builds_hf_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    stub = types.ModuleType("workbench.llm.backends.hf")

    class HFBackend:
        def __init__(self, model: str, config: HFConfig, *, batch_size: int) -> None:
            calls.append((model, config, batch_size))

    stub.HFBackend = HFBackend  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "workbench.llm.backends.hf", stub)
    config = ProjectConfig(concurrency={"hf": 3})
    backend = make_backend(ModelSpec.parse("hf:Qwen/Qwen2.5-0.5B-Instruct"), config)
    assert isinstance(backend, HFBackend)
    assert calls == [("Qwen/Qwen2.5-0.5B-Instruct", config.hf, 3)]


# --- the fake under load -------------------------------------------------------------------


def test_fake_serves_64_concurrent_requests(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.latency_s = 0.2
    backend = OpenAIBackend("fake-model", fake_openai.base_url, "OPENAI_API_KEY", GatewayConfig())
    limit = asyncio.Semaphore(64)

    async def one(i: int) -> str:
        async with limit:
            return (await backend.generate(LLMRequest.from_prompt(f"n{i}"), None)).text

    async def go() -> list[str]:
        try:
            return await asyncio.gather(*(one(i) for i in range(192)))
        finally:
            await backend.aclose()

    start = time.monotonic()
    texts = asyncio.run(go())
    elapsed = time.monotonic() - start
    assert texts == [f"Echo: n{i}" for i in range(192)]
    assert elapsed < 3.0, f"192 requests, 3 waves of 0.2 s, took {elapsed:.2f} s"  # serial: 38 s
    assert fake_openai.requests_total == 192
