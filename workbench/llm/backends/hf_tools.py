"""Native tool calling for the hf backend: whether a model can do it, the chat messages, parsing.

A local model takes native tools only when both halves exist:

* its chat template renders the `tools` it is given (checked by rendering a probe conversation
  with a probe tool and looking for the tool's name), and
* its tokenizer ships a `response_template`: transformers' declarative parser for the model's
  own tool-call format, applied with `tokenizer.parse_response`.

Without a parser, calls would have to be guessed out of free text, which is not reliable enough
for an eval that counts invalid tool use; such models report no native tools (`takes_native_tools`
is False) and callers use the text protocol instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import jinja2

from workbench.llm.types import BackendResponse, LLMRequest, Message, ToolCall, ToolDef

_PROBE_NAME = "workbench_probe_tool"
_PROBE_TOOL = {
    "type": "function",
    "function": {"name": _PROBE_NAME, "description": "A probe.", "parameters": {"type": "object", "properties": {}}},
}


def takes_native_tools(tokenizer: Any) -> bool:
    """True when the chat template renders tools and the tokenizer can parse the model's calls."""
    if getattr(tokenizer, "response_template", None) is None:
        return False
    probe = [{"role": "user", "content": "Which tools are there?"}]
    try:
        rendered = tokenizer.apply_chat_template(probe, tools=[_PROBE_TOOL], tokenize=False, add_generation_prompt=True)
    except jinja2.TemplateError:
        return False
    return _PROBE_NAME in str(rendered)


def tool_schemas(tools: Sequence[ToolDef]) -> list[dict[str, Any]]:
    """Tools in the JSON-schema form chat templates take."""
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]


def chat_messages(request: LLMRequest, system: str | None) -> list[dict[str, Any]]:
    """The conversation in the chat-template format, tool calls and tool turns included."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    return messages + [_chat_message(m) for m in request.messages]


def _chat_message(message: Message) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        turn["tool_calls"] = [
            {"type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            | ({"id": c.id} if c.id else {})
            for c in message.tool_calls
        ]
    if message.role == "tool":
        turn["name"] = message.name
        if message.tool_call_id:
            turn["tool_call_id"] = message.tool_call_id
    return turn


def with_tool_calls(
    response: BackendResponse, tokenizer: Any, tokens: list[int], prompt: str, tools: list[dict[str, Any]] | None
) -> BackendResponse:
    """A finished answer to a request with tools, split by the tokenizer's own response template
    into its text and tool calls. An answer that breaks the model's tool-call format (e.g. broken
    JSON) ends `other`, saying why; answers to requests without tools pass unchanged."""
    if tools is None or response.finish_reason != "stop":
        return response
    try:
        parsed = tokenizer.parse_response(tokens, prefix=prompt, tools=tools)
    except ValueError as e:
        return dataclasses.replace(response, finish_reason="other", detail=f"unreadable tool call: {e}")
    calls = tuple(_tool_call(entry.get("function", entry)) for entry in parsed.get("tool_calls") or [])
    return dataclasses.replace(response, text=str(parsed.get("content") or ""), tool_calls=calls)


def _tool_call(function: dict[str, Any]) -> ToolCall:
    name, arguments = str(function.get("name", "")), function.get("arguments", {})
    if isinstance(arguments, str):  # some templates leave the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError as e:
            return ToolCall(name, error=f"arguments are not JSON ({e}): {arguments[:500]}")
    if not isinstance(arguments, dict):
        return ToolCall(name, error=f"arguments are not a JSON object: {json.dumps(arguments)[:500]}")
    return ToolCall(name, arguments)
