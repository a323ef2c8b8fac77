"""A fake OpenAI-compatible chat completions server (as vLLM, Ollama or llama.cpp serve it).

Serves `POST /v1/chat/completions`: `messages`, sampling params and
`response_format={"type": "json_schema", ...}` in; `choices[0].message.{content, refusal}`,
`finish_reason` and `usage` out; `{"error": {"message", "type", "param", "code"}}` for faults.
A prompt-level `Safety` reply is a 400 with code "content_filter", as Azure OpenAI sends it.
Native tools: `tools` and `tool` messages in; a `ToolCalls` reply is rendered as
`message.tool_calls` (ids `call_id_for`, JSON-string arguments) with finish reason "tool_calls".

    with FakeOpenAIServer() as server:
        client = openai.AsyncOpenAI(api_key="k", base_url=server.base_url)   # .../v1
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.fakes.http_base import FakeHTTPServer, HttpResponse, fault_response, json_response
from tests.fakes.rules import (
    Answer,
    FakeRequest,
    Fault,
    Malformed,
    Refusal,
    Safety,
    Text,
    ToolCalls,
    as_text,
    tokens_for,
)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The body of an OpenAI API error."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _text_of(content: Any) -> str:
    """Message content: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def call_id_for(name: str, index: int) -> str:
    """The id the fake gives call `index` of tool `name`."""
    return f"call_{index}_{name}"


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    functions = [t.get("function", {}) for t in body.get("tools") or [] if t.get("type") == "function"]
    return [
        {"name": f.get("name"), "description": f.get("description"), "parameters": f.get("parameters")}
        for f in functions
    ]


def parse_request(path: str, body: dict[str, Any], api_key: str | None, attempt: int) -> FakeRequest:
    """Turn a chat completions body into a protocol-neutral `FakeRequest`."""
    system_parts = [
        _text_of(m.get("content")) for m in body.get("messages", []) if m.get("role") in ("system", "developer")
    ]
    messages = [
        (m["role"], _text_of(m.get("content")))
        for m in body.get("messages", [])
        if m.get("role") in ("user", "assistant", "tool")
    ]
    response_format = body.get("response_format") or {}
    schema = (
        (response_format.get("json_schema") or {}).get("schema")
        if response_format.get("type") == "json_schema"
        else None
    )
    params = {k: body[k] for k in ("temperature", "top_p", "seed") if body.get(k) is not None}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        params["max_output_tokens"] = max_tokens
    return FakeRequest(
        path=path,
        model=str(body.get("model", "")),
        system="\n\n".join(system_parts) if system_parts else None,
        messages=messages,
        json_schema=schema,
        params=params,
        attempt=attempt,
        api_key=api_key,
        body=body,
        tools=_tools(body),
    )


class FakeOpenAIServer(FakeHTTPServer):
    """An OpenAI-compatible server on 127.0.0.1. `base_url` ends in /v1, like vLLM's."""

    @property
    def base_url(self) -> str:
        """The URL for `AsyncOpenAI(base_url=...)` and `openai:MODEL@URL` specs."""
        return f"{self.root_url}/v1"

    def spec(self, model: str = "fake-model") -> str:
        """A model spec string pointing at this server."""
        return f"openai:{model}@{self.base_url}"

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> HttpResponse:
        """Answer one HTTP request in the OpenAI protocol."""
        route = path.split("?", 1)[0]
        if method != "POST" or not route.endswith("/chat/completions"):
            return json_response(404, openai_error(404, f"{method} {route} is not served by the fake"))
        try:
            data = json.loads(body)
        except ValueError:
            return json_response(400, openai_error(400, "We could not parse the JSON body of your request."))
        auth = headers.get("Authorization") or ""
        api_key = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        request = parse_request(route, data, api_key, self.engine.attempt_of(route, body))
        return self._render(request, self.engine.decide(request))

    def _render(self, request: FakeRequest, reply: Answer) -> HttpResponse:
        if isinstance(reply, Fault):
            return fault_response(reply, openai_error)
        if isinstance(reply, Safety) and reply.prompt:
            message = f"The prompt was filtered by the content policy ({reply.reason})."
            return json_response(400, openai_error(400, message, code="content_filter"))
        if isinstance(reply, Malformed):
            reply = Text(reply.text)
        content: str | None
        refusal = None
        tool_calls = None
        if isinstance(reply, ToolCalls):
            tool_calls = [
                {
                    "id": call_id_for(name, i),
                    "type": "function",
                    "function": {"name": name, "arguments": reply.arguments_json(i)},
                }
                for i, (name, _) in enumerate(reply.calls)
            ]
            finish = "tool_calls" if tool_calls else "stop"
            content, tool_calls, thinking = reply.text or None, tool_calls or None, None
            tokens_in, tokens_out = tokens_for(request, as_text(reply))
        elif isinstance(reply, Safety):
            content, finish, thinking = None, "content_filter", None
            tokens_in, tokens_out = tokens_for(request, Text(""))[0], 0
        elif isinstance(reply, Refusal):
            content, refusal, finish, thinking = None, reply.text, "stop", None
            tokens_in, tokens_out = tokens_for(request, Text(reply.text))
        else:
            content, finish, thinking = reply.text, reply.finish, reply.thinking_tokens
            tokens_in, tokens_out = tokens_for(request, reply)
        # OpenAI counts reasoning inside completion_tokens and details it separately.
        completion = tokens_out + (thinking or 0)
        usage: dict[str, Any] = {
            "prompt_tokens": tokens_in,
            "completion_tokens": completion,
            "total_tokens": tokens_in + completion,
        }
        if thinking is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": thinking}
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "tool_calls": tool_calls},
            "finish_reason": finish,
            "logprobs": None,
        }
        return json_response(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.model,
                "choices": [choice],
                "usage": usage,
            },
        )
