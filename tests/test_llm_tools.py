"""Native tool calling through the gateway: the real google-genai and openai clients against the
fake servers, the cache replaying tool calls, and backends that cannot take tools refusing them."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from pydantic import BaseModel
from transformers import AutoTokenizer, LlamaForCausalLM, LogitsProcessor, LogitsProcessorList

from tests.fakes.gemini_server import FakeGeminiServer, signature_for
from tests.fakes.openai_server import FakeOpenAIServer, call_id_for
from tests.fakes.rules import Text, ToolCalls
from workbench.config import HFConfig
from workbench.errors import WorkbenchError
from workbench.llm.backends.hf import HFBackend
from workbench.llm.gateway import Gateway
from workbench.llm.types import BackendResponse, CallResult, LLMRequest, Message, SamplingParams, ToolCall, ToolDef
from workbench.project import Project, load_project

READ_INBOX = ToolDef(
    name="read_inbox",
    description="List the newest messages in the user's inbox.",
    parameters={
        "type": "object",
        "properties": {"folder": {"type": "string", "enum": ["inbox", "archive"]}, "limit": {"type": "integer"}},
        "required": ["folder"],
    },
)
SEND_MAIL = ToolDef(
    name="send_mail",
    description="Send an email on the user's behalf.",
    parameters={
        "type": "object",
        "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
        "required": ["to", "body"],
    },
)
TOOLS = (READ_INBOX, SEND_MAIL)
ASK = LLMRequest.from_prompt(
    "Tidy up my inbox, then tell the lab manager.", system="You are an assistant.", tools=TOOLS
)
TWO_CALLS = ToolCalls(
    (("read_inbox", {"folder": "inbox", "limit": 3}), ("send_mail", {"to": "lab@example.org", "body": "Done."})),
    text="Let me look first.",
)


@pytest.fixture
def tool_project(
    project: Project, fake_gemini: FakeGeminiServer, fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> Project:
    """The test project: target on the fake Gemini API, judge on the fake OpenAI-compatible server."""
    monkeypatch.setenv("WORKBENCH_ROLES__TARGET", "gemini:gemini-fake")
    monkeypatch.setenv("WORKBENCH_ROLES__JUDGE", fake_openai.spec("qwen-fake"))
    monkeypatch.setenv("WORKBENCH_GATEWAY__FLUSH_INTERVAL_S", "0.2")
    return load_project(project.root)


def ask(project: Project, request: LLMRequest, role: str) -> CallResult:
    async def go() -> CallResult:
        async with Gateway(project, stage="test") as gateway:
            return await gateway.call(request, role=role)

    return asyncio.run(go())


def follow_up(result: CallResult) -> LLMRequest:
    """ASK continued with the assistant turn that made the calls and one result per call."""
    outputs = ["3 messages: budget review, lab rota, newsletter.", "sent"]
    turns = [Message.tool_result(call, output) for call, output in zip(result.tool_calls, outputs, strict=True)]
    assistant = Message("assistant", result.text or "", tool_calls=tuple(result.tool_calls))
    return LLMRequest(messages=(*ASK.messages, assistant, *turns), system=ASK.system, tools=TOOLS)


# --- Gemini -------------------------------------------------------------------------------------


def test_gemini_declares_tools_and_returns_parsed_calls(tool_project: Project, fake_gemini: FakeGeminiServer) -> None:
    fake_gemini.rule = lambda req: TWO_CALLS
    result = ask(tool_project, ASK, "target")

    sent = fake_gemini.requests[0]
    assert [list(tool) for tool in sent.body["tools"]] == [["functionDeclarations"]]
    assert sent.tools == [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in TOOLS]
    assert "automatic" not in json.dumps(sent.body).lower()  # an SDK-side setting, never sent
    assert result.status == "ok"
    assert result.text == "Let me look first."
    assert result.tool_calls == [
        ToolCall("read_inbox", {"folder": "inbox", "limit": 3}, signature=signature_for("read_inbox", 0)),
        ToolCall("send_mail", {"to": "lab@example.org", "body": "Done."}, signature=signature_for("send_mail", 1)),
    ]


def test_gemini_follow_up_replays_calls_and_sends_function_responses(
    tool_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    fake_gemini.rule = lambda req: TWO_CALLS
    first = ask(tool_project, ASK, "target")
    fake_gemini.rule = lambda req: Text("Inbox tidied; the lab manager knows.")
    second = ask(tool_project, follow_up(first), "target")

    contents = fake_gemini.requests[-1].body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[1]["parts"] == [
        {"text": "Let me look first."},
        {
            "functionCall": {"name": "read_inbox", "args": {"folder": "inbox", "limit": 3}},
            "thoughtSignature": signature_for("read_inbox", 0),
        },
        {
            "functionCall": {"name": "send_mail", "args": {"to": "lab@example.org", "body": "Done."}},
            "thoughtSignature": signature_for("send_mail", 1),
        },
    ]
    # Both results answer the same turn's calls, so they travel together in one content.
    assert contents[2]["parts"] == [
        {
            "functionResponse": {
                "name": "read_inbox",
                "response": {"output": "3 messages: budget review, lab rota, newsletter."},
            }
        },
        {"functionResponse": {"name": "send_mail", "response": {"output": "sent"}}},
    ]
    assert (second.status, second.text, second.tool_calls) == ("ok", "Inbox tidied; the lab manager knows.", [])


# --- OpenAI-compatible --------------------------------------------------------------------------


def test_openai_declares_tools_and_returns_parsed_calls(tool_project: Project, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.rule = lambda req: ToolCalls((("read_inbox", {"folder": "archive"}),))
    result = ask(tool_project, ASK, "judge")

    body = fake_openai.requests[0].body
    assert body["tools"] == [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in TOOLS
    ]
    # A reply holding only a tool call, no text, is a complete answer.
    assert (result.status, result.text) == ("ok", "")
    assert result.tool_calls == [ToolCall("read_inbox", {"folder": "archive"}, id=call_id_for("read_inbox", 0))]


def test_openai_follow_up_sends_tool_calls_and_tool_messages(
    tool_project: Project, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.rule = lambda req: TWO_CALLS
    first = ask(tool_project, ASK, "judge")
    fake_openai.rule = lambda req: Text("All done.")
    second = ask(tool_project, follow_up(first), "judge")

    messages = fake_openai.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assert messages[2]["content"] == "Let me look first."
    assert messages[2]["tool_calls"] == [
        {
            "id": call_id_for("read_inbox", 0),
            "type": "function",
            "function": {"name": "read_inbox", "arguments": json.dumps({"folder": "inbox", "limit": 3})},
        },
        {
            "id": call_id_for("send_mail", 1),
            "type": "function",
            "function": {"name": "send_mail", "arguments": json.dumps({"to": "lab@example.org", "body": "Done."})},
        },
    ]
    assert messages[3:] == [
        {
            "role": "tool",
            "tool_call_id": call_id_for("read_inbox", 0),
            "content": "3 messages: budget review, lab rota, newsletter.",
        },
        {"role": "tool", "tool_call_id": call_id_for("send_mail", 1), "content": "sent"},
    ]
    assert (second.status, second.text) == ("ok", "All done.")


def test_openai_malformed_arguments_are_kept_with_the_reason(
    tool_project: Project, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.rule = lambda req: ToolCalls((("send_mail", '{"to": "lab@'),))
    [call] = ask(tool_project, ASK, "judge").tool_calls
    assert (call.name, call.arguments, call.id) == ("send_mail", {}, call_id_for("send_mail", 0))
    assert call.error is not None and '{"to": "lab@' in call.error


def test_a_call_without_id_cannot_continue_on_openai(tool_project: Project, fake_openai: FakeOpenAIServer) -> None:
    gemini_call = ToolCall("read_inbox", {"folder": "inbox"})  # the Gemini API may send no id
    request = LLMRequest(
        messages=(
            *ASK.messages,
            Message("assistant", "", tool_calls=(gemini_call,)),
            Message.tool_result(gemini_call, "empty"),
        ),
        tools=TOOLS,
    )
    result = ask(tool_project, request, "judge")
    assert result.status == "failed"
    assert "has no id" in (result.error or "")
    assert fake_openai.requests_total == 0


# --- cache --------------------------------------------------------------------------------------


def test_cache_replays_tool_calls_and_keeps_tool_requests_apart(
    tool_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    fake_gemini.rule = lambda req: TWO_CALLS
    fresh = ask(tool_project, ASK, "target")
    cached = ask(tool_project, ASK, "target")
    assert fake_gemini.requests_total == 1
    assert cached.cached and cached.tool_calls == fresh.tool_calls and cached.text == fresh.text

    plain = LLMRequest(messages=ASK.messages, system=ASK.system)  # the same prompt, no tools offered
    fake_gemini.rule = lambda req: Text("I can only describe what I would do.")
    answer = ask(tool_project, plain, "target")
    assert not answer.cached and answer.tool_calls == []
    assert fake_gemini.requests_total == 2


# --- capability and validation -------------------------------------------------------------------


def test_supports_native_tools_per_backend(
    tool_project: Project, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__BASELINE", f"hf:{tiny_model_path}")
    project = load_project(tool_project.root)

    async def go() -> dict[str, bool]:
        async with Gateway(project, stage="test") as gateway:
            return {role: await gateway.supports_native_tools(role=role) for role in ("target", "judge", "baseline")}

    assert asyncio.run(go()) == {"target": True, "judge": True, "baseline": False}


@pytest.mark.parametrize(
    "request_",
    [ASK, LLMRequest(messages=(Message("user", "hi"), Message("tool", "42 unread", name="read_inbox")))],
    ids=["offers tools", "carries a tool turn"],
)
def test_tool_requests_to_a_backend_without_native_tools_raise(
    project: Project, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch, request_: LLMRequest
) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__BASELINE", f"hf:{tiny_model_path}")
    with pytest.raises(WorkbenchError, match="does not support native tool calling") as info:
        ask(load_project(project.root), request_, "baseline")
    assert "text tool protocol" in (info.value.hint or "")


class Answer(BaseModel):
    verdict: str


@pytest.mark.parametrize(
    "build",
    [
        lambda: Message("user", "hi", tool_calls=(ToolCall("read_inbox"),)),
        lambda: Message("tool", "output without a tool name"),
        lambda: LLMRequest.from_prompt("hi", tools=TOOLS, schema=Answer),
        lambda: LLMRequest.from_prompt("hi", tools=(READ_INBOX, READ_INBOX)),
        lambda: ToolDef("read inbox", "spaces are not allowed"),
        lambda: ToolDef("count", "not an object", parameters={"type": "integer"}),
    ],
    ids=[
        "calls on a user turn",
        "nameless tool turn",
        "tools with schema",
        "duplicate tools",
        "bad name",
        "non-object",
    ],
)
def test_malformed_tool_structures_are_refused(build: Any) -> None:
    with pytest.raises(WorkbenchError):
        build()


# --- hf: a local model whose template renders tools and whose tokenizer parses its calls ---------

# ChatML with tools in the system turn, calls as <tool_call>JSON</tool_call>, results as user turns.
TOOL_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools:\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}<|im_start|>assistant\n{{ message['content'] }}"
    "{% for call in message['tool_calls'] or [] %}<tool_call>{{ call['function'] | tojson }}</tool_call>{% endfor %}"
    "<|im_end|>\n"
    "{% elif message['role'] == 'tool' %}<|im_start|>user\n<tool_response>{{ message['content'] }}</tool_response>"
    "<|im_end|>\n"
    "{% else %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# transformers' declarative parser for that format (as its Qwen 2 fallback describes Qwen's).
RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "tool_calls": {
            "open_pattern": r"\s*<tool_call>",
            "close": "</tool_call>",
            "repeats": True,
            "content": "json",
            "transform": {"type": "function", "function": "{content}"},
        },
        "content": {"close_pattern": r"\s*<\|im_end\|>", "content": "text"},
    },
}
SCRIPTED_CALL = (
    'Looking.<tool_call>{"name": "read_inbox", "arguments": {"folder": "inbox", "limit": "3"}}</tool_call><|im_end|>'
)


class ForceTokens(LogitsProcessor):
    """Makes every row generate `tokens`, whatever the (random) weights say."""

    def __init__(self, tokens: list[int]) -> None:
        self.tokens, self.prompt_width = tokens, -1

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_width < 0:
            self.prompt_width = input_ids.shape[1]
        step = min(input_ids.shape[1] - self.prompt_width, len(self.tokens) - 1)
        forced = torch.full_like(scores, float("-inf"))
        forced[:, self.tokens[step]] = 0.0
        return cast(torch.FloatTensor, forced)


@pytest.fixture
def tool_model(tiny_model_path: Path, tmp_path: Path) -> Path:
    """The tiny model with a tool-rendering chat template and a response template."""
    path = Path(shutil.copytree(tiny_model_path, tmp_path / "tool_model"))
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template, tokenizer.response_template = TOOL_TEMPLATE, RESPONSE_TEMPLATE
    tokenizer.save_pretrained(path)
    return path


def generate_scripted(
    path: Path, request: LLMRequest, monkeypatch: pytest.MonkeyPatch, output: str = SCRIPTED_CALL
) -> tuple[BackendResponse, str]:
    """The hf backend's answer when the model emits `output`, and the prompt it was given."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    script = tokenizer.encode(output, add_special_tokens=False)
    prompts: list[str] = []
    original: Any = LlamaForCausalLM.generate

    def generate(self: LlamaForCausalLM, **kwargs: Any) -> Any:
        prompts.append(str(tokenizer.decode(kwargs["input_ids"][0])))
        return original(self, **kwargs, logits_processor=LogitsProcessorList([ForceTokens(script)]))

    monkeypatch.setattr(LlamaForCausalLM, "generate", generate)
    backend = HFBackend(str(path), HFConfig(device="cpu"), batch_size=1)

    async def go() -> BackendResponse:
        try:
            assert await backend.supports_native_tools()
            return await backend.generate(request, None)
        finally:
            await backend.aclose()

    return asyncio.run(go()), prompts[0]


def test_hf_model_with_tool_template_and_parser_calls_tools(tool_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = LLMRequest.from_prompt("Check my inbox.", tools=TOOLS, params=SamplingParams(max_output_tokens=200))
    response, prompt = generate_scripted(tool_model, request, monkeypatch)
    assert '"name": "read_inbox"' in prompt and '"name": "send_mail"' in prompt
    assert (response.finish_reason, response.text) == ("stop", "Looking.")
    # The parser casts arguments to the declared types: "3" is an integer parameter.
    assert response.tool_calls == (ToolCall("read_inbox", {"folder": "inbox", "limit": 3}),)


def test_hf_follow_up_renders_calls_and_results(tool_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    call = ToolCall("read_inbox", {"folder": "inbox"})
    turns = (Message("assistant", "", tool_calls=(call,)), Message.tool_result(call, "2 unread"))
    request = LLMRequest(messages=(Message("user", "Check my inbox."), *turns), tools=TOOLS)
    _, prompt = generate_scripted(tool_model, request, monkeypatch)
    assert '<tool_call>{"name": "read_inbox", "arguments": {"folder": "inbox"}}</tool_call>' in prompt
    assert "<tool_response>2 unread</tool_response>" in prompt


def test_hf_call_that_breaks_the_format_is_not_ok(tool_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = '<tool_call>{"name": "read_inbox", "arguments": {folder</tool_call><|im_end|>'
    request = LLMRequest.from_prompt("Check my inbox.", tools=TOOLS)
    response, _ = generate_scripted(tool_model, request, monkeypatch, output=broken)
    assert response.finish_reason == "other"
    assert response.tool_calls == () and "unreadable tool call" in (response.detail or "")
