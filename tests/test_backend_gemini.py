"""The Gemini backend: the real google-genai client against the fake Gemini server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest
from google.genai import _api_client as genai_api_client
from google.genai import types
from pydantic import BaseModel

from tests.fakes.gemini_server import FakeGeminiServer, gemini_error
from tests.fakes.rules import FakeRequest, Fault, Hang, Malformed, Safety, Text
from workbench.config import GatewayConfig, GeminiConfig, ProjectConfig
from workbench.errors import MissingCredentialsError
from workbench.llm.backends import make_backend
from workbench.llm.backends.gemini import GeminiBackend, to_backend_response
from workbench.llm.spec import ModelSpec
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, Message, SamplingParams

SECRET = "AIzaSy-very-secret-key-123"


class Verdict(BaseModel):
    label: str
    score: int


class Report(BaseModel):
    verdicts: list[Verdict]
    summary: str | None = None


def generate(request: LLMRequest | None = None, schema: dict[str, Any] | None = None, **kwargs: Any) -> BackendResponse:
    """Build a backend, send one request on a fresh event loop, close the backend."""
    gateway = kwargs.pop("gateway", GatewayConfig())
    backend = GeminiBackend("gemini-test", kwargs.pop("config", GeminiConfig()), gateway)

    async def go() -> BackendResponse:
        try:
            return await backend.generate(request or LLMRequest.from_prompt("hi"), schema)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def generate_error(**kwargs: Any) -> BackendError:
    with pytest.raises(BackendError) as info:
        generate(**kwargs)
    return info.value


@pytest.fixture(params=["aiohttp", "httpx2"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test over both transports google-genai may use: aiohttp when it is installed
    (it then wins), httpx2 otherwise. Error mapping must hold for either."""
    if request.param == "aiohttp":
        pytest.importorskip("aiohttp")
    else:
        monkeypatch.setattr(genai_api_client, "has_aiohttp", False)
    return str(request.param)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- answers -------------------------------------------------------------------------------


def test_text_answer_maps_request_and_tokens(fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.rule = lambda req: Text("Hello there", tokens_in=11, tokens_out=3, thinking_tokens=4)
    request = LLMRequest(
        messages=(Message("user", "hi"), Message("assistant", "hello"), Message("user", "again")),
        system="Be brief.",
        params=SamplingParams(temperature=0.3, max_output_tokens=64, top_p=0.9, seed=7),
    )
    response = generate(request)
    assert response == BackendResponse("Hello there", "stop", tokens_in=11, tokens_out=3 + 4)
    (seen,) = fake_gemini.requests
    assert seen.model == "gemini-test"
    assert seen.system == "Be brief."
    assert seen.messages == [("user", "hi"), ("assistant", "hello"), ("user", "again")]
    assert [c["role"] for c in seen.body["contents"]] == ["user", "model", "user"]
    assert seen.params == {"temperature": 0.3, "max_output_tokens": 64, "top_p": 0.9, "seed": 7}
    assert seen.api_key == "test-key"
    assert seen.json_schema is None
    assert "responseMimeType" not in seen.body["generationConfig"]


def test_structured_request_sends_json_schema(fake_gemini: FakeGeminiServer) -> None:
    schema = Report.model_json_schema()  # nested: uses $defs/$ref
    response = generate(schema=schema)
    (seen,) = fake_gemini.requests
    assert seen.json_schema == schema
    assert seen.body["generationConfig"]["responseMimeType"] == "application/json"
    assert seen.body["generationConfig"]["responseJsonSchema"] == schema
    assert response.finish_reason == "stop"
    Report.model_validate_json(response.text)  # the default rule answered to the schema


def test_malformed_structured_answer_is_returned_as_is(fake_gemini: FakeGeminiServer) -> None:
    # Parsing and repair are the gateway's job: the backend hands the text over untouched.
    fake_gemini.rule = lambda req: Malformed()
    response = generate(schema=Verdict.model_json_schema())
    assert response.finish_reason == "stop"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_max_tokens_finish_is_length(fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.rule = lambda req: Text("cut off mid", finish="length")
    response = generate()
    assert (response.finish_reason, response.text) == ("length", "cut off mid")


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"])
def test_safety_finish_is_safety_with_reason(fake_gemini: FakeGeminiServer, reason: str) -> None:
    fake_gemini.rule = lambda req: Safety(reason)
    response = generate()
    assert (response.finish_reason, response.detail, response.text) == ("safety", reason, "")


def test_prompt_block_is_safety_with_reason(fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.rule = lambda req: Safety("PROHIBITED_CONTENT", prompt=True)
    response = generate()
    assert response.finish_reason == "safety"
    assert response.detail is not None and "prompt" in response.detail
    assert "PROHIBITED_CONTENT" in response.detail
    assert response.tokens_in is not None


@pytest.mark.parametrize("reason", ["OTHER", "MALFORMED_FUNCTION_CALL", "LANGUAGE"])
def test_unusual_finish_is_other(fake_gemini: FakeGeminiServer, reason: str) -> None:
    fake_gemini.rule = lambda req: Text("", finish=reason)
    response = generate()
    assert (response.finish_reason, response.detail) == ("other", reason)


def test_thought_parts_are_not_the_answer() -> None:
    raw = types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(
                    role="model", parts=[types.Part(text="thinking...", thought=True), types.Part(text="42")]
                ),
                finish_reason=types.FinishReason.STOP,
            )
        ],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=5, candidates_token_count=1, thoughts_token_count=9
        ),
    )
    assert to_backend_response(raw) == BackendResponse("42", "stop", tokens_in=5, tokens_out=10)


# --- errors --------------------------------------------------------------------------------


def test_rate_limit_carries_retry_after_header(fake_gemini: FakeGeminiServer, transport: str) -> None:
    fake_gemini.rule = lambda req: Fault(429, retry_after=3)
    error = generate_error()
    assert (error.kind, error.retry_after, error.retryable) == ("rate_limited", 3.0, True)
    assert fake_gemini.requests_total == 1  # the SDK did not retry on its own


def test_rate_limit_reads_google_retry_info(fake_gemini: FakeGeminiServer) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    body = json.dumps(gemini_error(429, "Quota exceeded", details=[retry_info]))
    fake_gemini.rule = lambda req: Fault(429, body=body)
    error = generate_error()
    assert (error.kind, error.retry_after) == ("rate_limited", 7.0)


def test_unreadable_ok_response_is_server_error(fake_gemini: FakeGeminiServer, transport: str) -> None:
    fake_gemini.rule = lambda req: Fault(200, body="<html>a proxy's page</html>")
    error = generate_error()
    assert error.kind == "server_error"
    assert fake_gemini.base_url in str(error)


def test_auth_error_says_which_variable(fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.rule = lambda req: Fault(403)
    assert "GEMINI_API_KEY" in str(generate_error())


def test_invalid_key_is_auth_though_the_api_sends_400(fake_gemini: FakeGeminiServer) -> None:
    # The Gemini API answers a wrong key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID.
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    body = json.dumps(gemini_error(400, "API key not valid. Please pass a valid API key.", details=[info]))
    fake_gemini.rule = lambda req: Fault(400, body=body)
    error = generate_error()
    assert (error.kind, error.retryable) == ("auth", False)
    assert "API key not valid" in str(error) and "GEMINI_API_KEY" in str(error)


def test_model_name_the_sdk_refuses_fails_the_call_with_the_reason(fake_gemini: FakeGeminiServer) -> None:
    # ModelSpec.parse refuses such names; a backend built without it must still not crash the run.
    backend = GeminiBackend("a/b?c", GeminiConfig(), GatewayConfig())

    async def go() -> None:
        try:
            await backend.generate(LLMRequest.from_prompt("hi"), None)
        finally:
            await backend.aclose()

    with pytest.raises(BackendError) as info:
        asyncio.run(go())
    assert (info.value.kind, info.value.retryable) == ("unexpected", False)
    assert "ValueError: invalid model parameter" in str(info.value)
    assert fake_gemini.requests_total == 0


def test_hang_past_timeout_is_timeout(fake_gemini: FakeGeminiServer, transport: str) -> None:
    fake_gemini.rule = lambda req: Hang(3)
    start = time.monotonic()
    error = generate_error(gateway=GatewayConfig(connect_timeout_s=0.5, read_timeout_s=0.5))
    assert error.kind == "timeout"
    assert time.monotonic() - start < 2.5
    assert fake_gemini.requests_total == 1


def test_closed_port_is_connection_error_naming_url(monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    url = closed_port_url()
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", url)
    start = time.monotonic()
    error = generate_error()
    assert error.kind == "connection"
    assert url in str(error)
    # google-genai's aiohttp path otherwise sleeps 1-10 s and retries once by itself.
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "fault",
    [
        Fault(400, body=json.dumps(gemini_error(400, f"API key {SECRET} not valid"))),
        Fault(401, body=json.dumps(gemini_error(401, f"bad key {SECRET}"))),
        Fault(429, body=json.dumps(gemini_error(429, f"quota for {SECRET}"))),
        Fault(500, body=f"<html>{SECRET}</html>"),
    ],
)
def test_key_never_appears_in_errors(
    fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    fake_gemini.rule = lambda req: fault
    error = generate_error()
    assert fake_gemini.requests[0].api_key == SECRET  # the key did travel, in a header
    assert SECRET not in str(error)
    assert error.__suppress_context__  # tracebacks will not print the SDK error either
    assert "***" in str(error)


# --- credentials and configuration ---------------------------------------------------------


def test_missing_key_says_how_to_set_it() -> None:
    with pytest.raises(MissingCredentialsError) as info:
        GeminiBackend("gemini-test", GeminiConfig(), GatewayConfig())
    message = str(info.value)
    assert "GEMINI_API_KEY" in message
    assert "export GEMINI_API_KEY=" in message


def test_google_api_key_is_accepted(fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    assert generate().text == "Echo: hi"
    assert fake_gemini.requests[0].api_key == "google-key"


def test_vertex_needs_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a project the SDK defers credentials to the first call: construction must not
    # demand GEMINI_API_KEY.
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    backend = GeminiBackend("gemini-test", GeminiConfig(), GatewayConfig())
    asyncio.run(backend.aclose())


def test_config_base_url_wins_over_environment(fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed_port_url())
    response = generate(config=GeminiConfig(base_url=fake_gemini.base_url))
    assert response.text == "Echo: hi"


def test_backend_survives_several_event_loops(fake_gemini: FakeGeminiServer) -> None:
    backend = GeminiBackend("gemini-test", GeminiConfig(), GatewayConfig())
    for prompt in ("one", "two"):
        answer = asyncio.run(backend.generate(LLMRequest.from_prompt(prompt), None))
        assert answer.text == f"Echo: {prompt}"
    asyncio.run(backend.aclose())


def test_make_backend_builds_gemini(fake_gemini: FakeGeminiServer) -> None:
    backend = make_backend(ModelSpec.parse("gemini:gemini-test"), ProjectConfig())
    assert isinstance(backend, GeminiBackend)

    async def go() -> BackendResponse:
        try:
            return await backend.generate(LLMRequest.from_prompt("spec"), None)
        finally:
            await backend.aclose()

    assert asyncio.run(go()).text == "Echo: spec"
    assert fake_gemini.requests[0].model == "gemini-test"


# --- the fake under load -------------------------------------------------------------------


def test_fake_serves_64_concurrent_requests(fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.latency_s = 0.2
    backend = GeminiBackend("gemini-test", GeminiConfig(), GatewayConfig())
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
    assert fake_gemini.path_counts == {"/v1/models/gemini-test:generateContent": 192}


def test_attempt_counts_identical_bodies(fake_gemini: FakeGeminiServer) -> None:
    def flaky(req: FakeRequest) -> Fault | Text:
        return Fault(503) if req.attempt == 0 else Text(f"attempt {req.attempt}")

    fake_gemini.rule = flaky
    assert generate_error().kind == "server_error"
    assert generate().text == "attempt 1"
    assert generate_error(request=LLMRequest.from_prompt("other")).kind == "server_error"
