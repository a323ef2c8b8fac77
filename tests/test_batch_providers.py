"""The batch providers: the real google-genai and openai clients against the fake batch endpoints.

Most tests run once per provider (the `batch` fixture): a job goes pending -> running -> final as
the client polls it, and each line is answered by the fake's rule exactly as a live call is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.http_base import FakeHTTPServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.rules import Fault, Reply, Safety, Text
from workbench.config import ProjectConfig
from workbench.errors import MissingCredentialsError, WorkbenchError
from workbench.llm.backends import make_backend
from workbench.llm.batch import gemini as gemini_batch
from workbench.llm.batch import openai as openai_batch
from workbench.llm.batch.openai import jsonl_line, parse_output_line
from workbench.llm.batch.provider import BatchLine, BatchProvider, LineResult, RemoteJob
from workbench.llm.batch.providers import make_batch_provider
from workbench.llm.spec import ModelSpec
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, Message, SamplingParams, ToolCall, ToolDef

T = TypeVar("T")


class Verdict(BaseModel):
    label: str
    score: int


SCHEMA = Verdict.model_json_schema()
STRUCTURED = LLMRequest(
    messages=(Message("user", "Rate this answer."),),
    system="You are a strict judge.",
    params=SamplingParams(temperature=0.2, max_output_tokens=64, seed=7),
    schema=Verdict,
)
LOOKUP = ToolDef("lookup", "Look a word up.", {"type": "object", "properties": {"word": {"type": "string"}}})
# A signature whose base64 has "+" and "/": the SDK re-encodes it URL-safe, and it must survive.
CALL = ToolCall("lookup", {"word": "cat"}, id="call_0_lookup", signature=base64.b64encode(b"\xfb\xffsig").decode())
TOOL_TURN = LLMRequest(
    messages=(
        Message("user", "Define cat."),
        Message("assistant", "", tool_calls=(CALL,)),
        Message.tool_result(CALL, "a pet"),
    ),
    system="Use the tools.",
    tools=(LOOKUP,),
)


@dataclass
class Batch:
    """One provider under test: its fake server and model spec."""

    server: Any  # FakeGeminiServer | FakeOpenAIServer
    spec: ModelSpec

    def provider(self) -> BatchProvider:
        return make_batch_provider(self.spec, ProjectConfig())

    def run(self, work: Callable[[BatchProvider], Awaitable[T]]) -> T:
        """Run `work` with a fresh provider on a fresh event loop (as a CLI command does)."""
        provider = self.provider()

        async def go() -> T:
            try:
                return await work(provider)
            finally:
                await provider.aclose()

        return asyncio.run(go())

    def sync(self, work: Callable[[BatchProvider], T]) -> T:
        """Call a synchronous provider method (line_body, split) with a provider closed after."""

        async def call(provider: BatchProvider) -> T:
            return work(provider)

        return self.run(call)

    def submit(self, prompts: list[str], display_name: str = "wb-1") -> str:
        return self.run(lambda p: p.submit(lines_for(p, prompts), display_name))

    def submit_lines(self, lines: list[BatchLine], display_name: str) -> str:
        return self.run(lambda p: p.submit(lines, display_name))

    def poll(self, remote_id: str) -> list[RemoteJob]:
        """Read the job until it is final: every state seen, in order."""

        async def work(provider: BatchProvider) -> list[RemoteJob]:
            seen = [await provider.get(remote_id)]
            while not seen[-1].final and len(seen) < 10:
                seen.append(await provider.get(remote_id))
            return seen

        return self.run(work)

    def results(self, remote_id: str) -> dict[str, LineResult]:
        return {r.key: r for r in self.run(lambda p: p.results(remote_id))}


@pytest.fixture(params=["gemini", "openai"])
def batch(request: pytest.FixtureRequest) -> Batch:
    if request.param == "gemini":
        return Batch(request.getfixturevalue("fake_gemini"), ModelSpec.parse("gemini:gemini-test"))
    server: FakeOpenAIServer = request.getfixturevalue("fake_openai")
    return Batch(server, ModelSpec.parse(server.spec("fake-model")))


def lines_for(provider: BatchProvider, prompts: list[str]) -> list[BatchLine]:
    return [BatchLine(f"key-{i}", provider.line_body(LLMRequest.from_prompt(p), None)) for i, p in enumerate(prompts)]


def live_body(spec: ModelSpec, server: FakeHTTPServer, request: LLMRequest, schema: dict[str, Any] | None) -> Any:
    """The body a live call sends for `request`, as the fake server received it."""
    backend = make_backend(spec, ProjectConfig())

    async def go() -> None:
        try:
            await backend.generate(request, schema)
        finally:
            await backend.aclose()

    asyncio.run(go())
    return server.requests[-1].body


# --- the same request as a live call ---------------------------------------------------------


@pytest.mark.parametrize(("request_", "schema"), [(STRUCTURED, SCHEMA), (TOOL_TURN, None)], ids=["schema", "tools"])
def test_gemini_line_is_the_live_request_inline_and_in_a_file(
    fake_gemini: FakeGeminiServer,
    monkeypatch: pytest.MonkeyPatch,
    request_: LLMRequest,
    schema: dict[str, Any] | None,
) -> None:
    batch = Batch(fake_gemini, ModelSpec.parse("gemini:gemini-test"))
    live = live_body(batch.spec, fake_gemini, request_, schema)
    body = batch.sync(lambda p: p.line_body(request_, schema))
    assert body == live
    assert json.loads(json.dumps(body)) == body  # thought signatures travel as base64 text

    batch.run(lambda p: p.submit([BatchLine("k", body)], "inline-job"))
    monkeypatch.setattr(gemini_batch, "INLINE_MAX_BYTES", 0)
    batch.run(lambda p: p.submit([BatchLine("k", body)], "file-job"))
    inline, from_file = fake_gemini.batch_jobs
    assert (inline.source, from_file.source) == ("inline", "file")
    # Inline requests also name the model; otherwise the server got the live body both ways.
    assert {k: v for k, v in inline.lines[0][1].items() if k != "model"} == live
    assert from_file.lines == [("k", live)]


@pytest.mark.parametrize(("request_", "schema"), [(STRUCTURED, SCHEMA), (TOOL_TURN, None)], ids=["schema", "tools"])
def test_openai_line_is_the_live_request(
    fake_openai: FakeOpenAIServer, request_: LLMRequest, schema: dict[str, Any] | None
) -> None:
    batch = Batch(fake_openai, ModelSpec.parse(fake_openai.spec("fake-model")))
    live = live_body(batch.spec, fake_openai, request_, schema)
    body = batch.sync(lambda p: p.line_body(request_, schema))
    assert body == live
    batch.run(lambda p: p.submit([BatchLine("k", body)], "job"))
    assert fake_openai.batch_jobs[0].lines == [("k", live)]


# --- the job lifecycle, for both providers ------------------------------------------------------


def test_job_goes_pending_running_succeeded_and_answers_parse(batch: Batch) -> None:
    batch.server.rule = lambda req: Text(f"re: {req.last_user_text}", tokens_in=11, tokens_out=3)
    remote_id = batch.submit(["first", "second"])
    assert [job.state for job in batch.poll(remote_id)] == ["pending", "running", "succeeded"]
    results = batch.results(remote_id)
    assert results == {
        "key-0": LineResult("key-0", BackendResponse("re: first", "stop", tokens_in=11, tokens_out=3)),
        "key-1": LineResult("key-1", BackendResponse("re: second", "stop", tokens_in=11, tokens_out=3)),
    }
    # Each line was answered once, as a request of its own, by the rule that answers live calls.
    assert [req.last_user_text for req in batch.server.requests] == ["first", "second"]


def test_a_failing_line_is_that_lines_error(batch: Batch) -> None:
    batch.server.rule = lambda req: Fault(500) if "bad" in req.last_user_text else Text("fine")
    remote_id = batch.submit(["good", "bad", "good too"])
    assert batch.poll(remote_id)[-1].state == "succeeded"
    results = batch.results(remote_id)
    assert results["key-1"].response is None and "500" in (results["key-1"].error or "")
    assert [results[k].response.text for k in ("key-0", "key-2")] == ["fine", "fine"]  # type: ignore[union-attr]


def test_expired_job_returns_only_the_answered_lines(batch: Batch) -> None:
    batch.server.batch_states = ["pending", "running", "expired"]
    batch.server.batch_answered = 1
    remote_id = batch.submit(["a", "b", "c"])
    assert batch.poll(remote_id)[-1].state == "expired"
    results = batch.results(remote_id)
    assert list(results) == ["key-0"] and results["key-0"].response is not None


def test_failed_job_has_no_results(batch: Batch) -> None:
    batch.server.batch_states = ["pending", "failed"]
    remote_id = batch.submit(["a"])
    final = batch.poll(remote_id)[-1]
    assert (final.state, final.final) == ("failed", True)
    assert batch.results(remote_id) == {}


def test_cancel_ends_the_job(batch: Batch) -> None:
    remote_id = batch.submit(["a", "b"])
    batch.run(lambda p: p.cancel(remote_id))
    assert batch.server.batch_jobs[0].state == "cancelled"
    assert batch.poll(remote_id)[-1].state == "cancelled"
    assert batch.results(remote_id) == {}


def test_a_new_provider_finds_the_job_by_display_name(batch: Batch) -> None:
    first = batch.submit(["a"], display_name="wb-batch-7")
    batch.submit(["b"], display_name="wb-batch-8")
    # "A crash": a new provider, on a new event loop, knows only the workbench's own id.
    found = batch.run(lambda p: p.find("wb-batch-7"))
    assert found is not None and (found.remote_id, found.display_name) == (first, "wb-batch-7")
    assert batch.run(lambda p: p.find("wb-batch-never")) is None
    assert len(batch.server.batch_jobs) == 2  # finding submits nothing


def test_an_unknown_job_is_a_not_found_backend_error(batch: Batch) -> None:
    unknown = "batches/nope" if batch.spec.backend == "gemini" else "batch_nope"
    with pytest.raises(BackendError) as info:
        batch.run(lambda p: p.get(unknown))
    assert info.value.kind == "not_found"


# --- Gemini: inline or file, and splitting ------------------------------------------------------


def test_gemini_large_job_goes_as_a_file_and_its_results_come_back(
    fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = Batch(fake_gemini, ModelSpec.parse("gemini:gemini-test"))
    lines = batch.sync(lambda p: lines_for(p, ["a", "b"]))
    size = sum(len(json.dumps({"key": x.key, "request": x.body}, separators=(",", ":"))) + 1 for x in lines)
    monkeypatch.setattr(gemini_batch, "INLINE_MAX_BYTES", size)
    small = batch.submit(["a", "b"])
    monkeypatch.setattr(gemini_batch, "INLINE_MAX_BYTES", size - 1)
    large = batch.submit(["a", "b"])
    assert [job.source for job in fake_gemini.batch_jobs] == ["inline", "file"]
    assert fake_gemini.batch_jobs[1].file is not None
    batch.poll(large)
    batch.poll(small)
    assert batch.results(large) == batch.results(small)
    assert batch.results(large)["key-1"].response == BackendResponse("Echo: b", "stop", tokens_in=1, tokens_out=2)


def test_gemini_split_respects_the_file_limit(fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = Batch(fake_gemini, ModelSpec.parse("gemini:gemini-test"))
    lines = batch.sync(lambda p: lines_for(p, ["one", "two", "six", "ten", "ace"]))
    per_line = len(json.dumps({"key": "key-0", "request": lines[0].body}, separators=(",", ":"))) + 1
    monkeypatch.setattr(gemini_batch, "FILE_MAX_BYTES", 2 * per_line)
    groups = batch.sync(lambda p: p.split(lines))
    assert [[line.key for line in group] for group in groups] == [["key-0", "key-1"], ["key-2", "key-3"], ["key-4"]]
    for i, group in enumerate(groups):
        batch.submit_lines(group, f"wb-part-{i}")
    jobs = fake_gemini.batch_jobs
    assert [(job.display_name, [key for key, _ in job.lines]) for job in jobs] == [
        ("wb-part-0", ["key-0", "key-1"]),
        ("wb-part-1", ["key-2", "key-3"]),
        ("wb-part-2", ["key-4"]),
    ]
    monkeypatch.setattr(gemini_batch, "FILE_MAX_BYTES", per_line - 1)
    with pytest.raises(WorkbenchError, match="over the batch limit"):
        batch.sync(lambda p: p.split(lines))


def test_openai_split_respects_the_request_limit(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = Batch(fake_openai, ModelSpec.parse(fake_openai.spec("fake-model")))
    monkeypatch.setattr(openai_batch, "MAX_LINES", 2)
    groups = batch.sync(lambda p: p.split(lines_for(p, ["a", "b", "c"])))
    assert [len(group) for group in groups] == [2, 1]


# --- OpenAI-style JSONL, as vLLM run-batch reads and writes it -----------------------------------


def run_batch_like_vllm(server: FakeOpenAIServer, line: dict[str, Any]) -> dict[str, Any]:
    """Answer one input line as an offline runner does: post its body, wrap the reply."""
    post = urllib.request.Request(f"{server.root_url}{line['url']}", json.dumps(line["body"]).encode(), method="POST")
    post.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(post) as reply:
            status, body = reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        status, body = e.code, json.loads(e.read())
    return {
        "id": "vllm-1",
        "custom_id": line["custom_id"],
        "response": {"status_code": status, "body": body},
        "error": None,
    }


def test_openai_jsonl_round_trip_with_an_error_line(fake_openai: FakeOpenAIServer) -> None:
    rules: dict[str, Reply] = {
        "ok": Text("fine", tokens_in=5, tokens_out=1),
        "bad": Fault(400),
        "blocked": Safety(prompt=True),
    }
    fake_openai.rule = lambda req: rules[req.last_user_text]
    provider_lines = Batch(fake_openai, ModelSpec.parse(fake_openai.spec("fake-model"))).sync(
        lambda p: lines_for(p, list(rules))
    )
    exported = [jsonl_line(line) for line in provider_lines]
    assert exported[0] == {
        "custom_id": "key-0",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": provider_lines[0].body,
    }
    imported = [parse_output_line(run_batch_like_vllm(fake_openai, json.loads(json.dumps(line)))) for line in exported]
    assert imported[0] == LineResult("key-0", BackendResponse("fine", "stop", tokens_in=5, tokens_out=1))
    assert imported[1].response is None and imported[1].error is not None and "400" in imported[1].error
    assert imported[2].response is not None and imported[2].response.finish_reason == "safety"
    not_run = {"custom_id": "key-9", "response": None, "error": {"code": "batch_expired", "message": "expired"}}
    assert parse_output_line(not_run) == LineResult("key-9", error="batch_expired: expired")


# --- choosing a provider ------------------------------------------------------------------------


def test_a_local_model_has_no_batch_mode() -> None:
    with pytest.raises(WorkbenchError, match="gemini: or openai:") as info:
        make_batch_provider(ModelSpec.parse("hf:Org/Tiny"), ProjectConfig())
    assert info.value.hint


def test_batch_providers_read_credentials_as_live_backends_do() -> None:
    with pytest.raises(MissingCredentialsError, match="GEMINI_API_KEY"):
        make_batch_provider(ModelSpec.parse("gemini:gemini-test"), ProjectConfig())
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        make_batch_provider(ModelSpec.parse("openai:gpt-test"), ProjectConfig())
