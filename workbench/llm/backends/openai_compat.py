"""The OpenAI-compatible backend: one chat completion through the official `openai` async client.

Works with OpenAI itself and with self-hosted servers that speak the same API (vLLM, Ollama,
llama.cpp server, ...). The key comes from the environment variable named in the project config
(`OPENAI_API_KEY` by default). A self-hosted server usually needs no key, so when a base URL is
given and the variable is unset we send a placeholder: that is "no auth", not a fallback to a
fake. Structured output uses `response_format={"type": "json_schema", ...}` with strict off, since
strict mode rejects common pydantic schemas (optional fields, open objects) on OpenAI and is not
implemented by every compatible server; the gateway validates the answer anyway.

Native tools go out as `tools` (function definitions); the answer's `tool_calls` come back as
`ToolCall`s, their JSON-string arguments parsed (a call whose arguments are not a JSON object is
kept, with `error` saying why). An assistant turn's calls are replayed as its `tool_calls`, and
each tool turn is a `tool` message quoting its call's id.

Each request carries its own timeout: `connect_timeout_s` to connect, and a read timeout fitted
to its output budget (`timeouts.py`). Status errors, timeouts and connection failures become
`BackendError`s of the matching kind; anything else the client raises ends the call as
`unexpected`, with the exception as its reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

import openai

from workbench.config import GatewayConfig
from workbench.errors import MissingCredentialsError
from workbench.llm.backends.http_errors import (
    backend_error,
    kind_for_status,
    retry_after_from_headers,
    status_advice,
    unexpected_error,
)
from workbench.llm.backends.timeouts import read_timeout_for, seconds
from workbench.llm.types import BackendError, BackendResponse, FinishReason, LLMRequest, Message, ToolCall

NO_AUTH_KEY = "not-needed"
"""Sent to self-hosted servers when no key is configured (the client refuses an empty key)."""

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "content_filter": "safety"}


def _schema_name(json_schema: dict[str, Any]) -> str:
    """A response_format name: the schema's title, cut to OpenAI's [A-Za-z0-9_-]{1,64}."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(json_schema.get("title") or "response"))[:64]
    return name or "response"


class OpenAIBackend:
    """A model behind an OpenAI-compatible chat completions endpoint.

    Args:
        model: The model name the server knows, e.g. "qwen2.5-7b-instruct".
        base_url: The server's API root (e.g. "http://127.0.0.1:8000/v1"); None for OpenAI
            (or OPENAI_BASE_URL, which the client reads itself).
        api_key_env: The environment variable holding the key.
        gateway: Timeout settings; each request's timeouts are fitted to it (`timeouts.py`).

    Raises:
        MissingCredentialsError: no base URL and the key variable is unset.
    """

    def __init__(self, model: str, base_url: str | None, api_key_env: str, gateway: GatewayConfig) -> None:
        self._model = model
        self._base_url = base_url
        self._gateway = gateway
        self._api_key_env = api_key_env
        self._secret = os.environ.get(api_key_env) or None
        if self._secret is None and base_url is None:
            raise MissingCredentialsError(
                f"The OpenAI backend (model {model!r}) needs an API key, and {api_key_env} is not set.",
                hint=f"Set it with `export {api_key_env}=...`, give a self-hosted server in the spec "
                "(openai:MODEL@http://127.0.0.1:8000/v1), or point the role at another backend.",
            )
        self._api_key = self._secret or NO_AUTH_KEY
        # One client per event loop: httpx2 connections are bound to the loop that opened them,
        # and a backend may outlive a loop (asyncio.run per CLI command or app click).
        self._clients: dict[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = {}
        default = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self._endpoint = (base_url or default).rstrip("/")

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,  # the gateway retries, once, for every backend
        )

    def client(self) -> openai.AsyncOpenAI:
        """The client of the running event loop (also used for the batch API's calls)."""
        loop = asyncio.get_running_loop()
        for stale in [other for other in self._clients if other.is_closed()]:
            del self._clients[stale]  # its sockets die with it; a closed loop cannot close them
        if loop not in self._clients:
            self._clients[loop] = self._new_client()
        return self._clients[loop]

    async def generate(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> BackendResponse:
        """Send one chat completion request.

        Raises:
            BackendError: the request produced no model answer. Transient: 408/409/429/5xx,
                timeouts, unreachable servers; permanent: other 4xx, and any other exception
                (`unexpected`). Cancellation is not caught: it is not the request's failure.
        """
        kwargs = chat_body(self._model, self._base_url, request, json_schema)
        read_s = read_timeout_for(self._gateway, request)
        connect_s = self._gateway.connect_timeout_s
        try:
            completion = await self.client().chat.completions.create(
                **kwargs, timeout=openai.Timeout(read_s, connect=connect_s)
            )
        except Exception as e:
            if isinstance(e, openai.APIStatusError):
                blocked = blocked_prompt(e.status_code, e.code, e.message)
                if blocked is not None:
                    return blocked
            raise self.client_error(e, read_s, connect_s) from None
        return to_backend_response(completion)

    async def supports_native_tools(self) -> bool:
        """OpenAI-compatible servers take `tools` (vLLM only when started with tool parsing on:
        otherwise it answers 400, which ends the call `failed` with the server's message)."""
        return True

    def client_error(self, e: Exception, read_s: float, connect_s: float) -> BackendError:
        """What the client raised, as a `BackendError` (the batch API's calls map errors here too).

        Args:
            e: The exception.
            read_s: The read timeout the call had, for the message.
            connect_s: Its connect timeout.
        """
        if isinstance(e, openai.APITimeoutError):  # before APIConnectionError: it is a subclass
            return self._timeout_error(e, read_s, connect_s)
        if isinstance(e, openai.APIConnectionError):
            cause = f"{type(e.__cause__).__name__}: {e.__cause__}" if e.__cause__ else e.message
            return backend_error("connection", f"cannot reach {self._endpoint}: {cause}", self._secret)
        if isinstance(e, openai.APIStatusError):
            return self._status_error(e)
        return unexpected_error(e, f"the openai client (model {self._model!r}, {self._endpoint})", self._secret)

    def _timeout_error(self, e: openai.APITimeoutError, read_s: float, connect_s: float) -> BackendError:
        """A timeout, saying how long was waited: to connect, or for the answer."""
        if type(e.__cause__).__name__ == "ConnectTimeout":  # the transport's (httpx2's) own class
            return BackendError("timeout", f"could not connect to {self._endpoint} within {seconds(connect_s)} s")
        return BackendError("timeout", f"no answer from {self._endpoint} within {seconds(read_s)} s")

    def _status_error(self, e: openai.APIStatusError) -> BackendError:
        """An HTTP error status as a `BackendError` (429 carries the server's requested delay)."""
        kind = kind_for_status(e.status_code)
        message = f"{self._endpoint} returned {e.status_code}: {e.message}"
        if isinstance(e.body, str) and e.body:  # not JSON: a proxy's error page says what broke
            message += f" ({e.body[:200]})"
        message += status_advice(kind, self._model, self._api_key_env)
        retry_after = retry_after_from_headers(e.response.headers) if kind == "rate_limited" else None
        return backend_error(kind, message, self._secret, retry_after=retry_after)

    async def aclose(self) -> None:
        """Close the connection pool of the running loop; forget the others."""
        clients, self._clients = self._clients, {}
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and loop in clients:
            await clients[loop].close()


def chat_body(
    model: str, base_url: str | None, request: LLMRequest, json_schema: dict[str, Any] | None
) -> dict[str, Any]:
    """The chat completions body for `request`: the live call's create() arguments, and each
    batch line's body (workbench/llm/batch/openai.py). Unset parameters are left out, not null.

    Args:
        model: The model name.
        base_url: The server (None for OpenAI itself, which takes another max-tokens name).
        request: The call.
        json_schema: The structured-output schema, if any.
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    messages += [_message(m) for m in request.messages]
    kwargs: dict[str, Any] = {"model": model, "messages": messages}
    if request.tools:
        kwargs["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
    params = request.params
    if params.temperature is not None:
        kwargs["temperature"] = params.temperature
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if params.max_output_tokens is not None:
        # OpenAI's own reasoning models reject max_tokens; older self-hosted servers only
        # know max_tokens. Each side gets the name it accepts.
        key = "max_completion_tokens" if base_url is None else "max_tokens"
        kwargs[key] = params.max_output_tokens
    if json_schema is not None:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(json_schema), "schema": json_schema, "strict": False},
        }
    return kwargs


def blocked_prompt(status: int, code: str | None, message: str) -> BackendResponse | None:
    """The answer for an error status that means "prompt filtered", else None.

    A prompt rejected by a content filter (Azure OpenAI's way: 400, code content_filter) is a
    safety outcome of the model call, not a broken request (live, or a batch line's status).
    """
    if status == 400 and code == "content_filter":
        return BackendResponse("", "safety", detail=f"prompt blocked: content_filter ({message})")
    return None


def _message(message: Message) -> dict[str, Any]:
    """One conversation turn in the chat completions format.

    Raises:
        BackendError: a tool call or tool result without an id (the protocol pairs them by id).
    """
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": _call_id(message.tool_call_id, message.name),
            "content": message.content,
        }
    if not message.tool_calls:
        return {"role": message.role, "content": message.content}
    calls = [
        {
            "id": _call_id(c.id, c.name),
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)},
        }
        for c in message.tool_calls
    ]
    return {"role": "assistant", "content": message.content or None, "tool_calls": calls}


def _call_id(call_id: str | None, name: str | None) -> str:
    if call_id is None:
        raise BackendError(
            "client_error",
            f"the call of tool {name!r} has no id, and OpenAI-compatible servers pair tool results with calls "
            "by id (a conversation begun with a backend that sends none, such as Gemini, cannot continue here)",
        )
    return call_id


def _tool_call(call: Any) -> ToolCall:
    """A chat completion's tool call, its JSON-string arguments parsed."""
    raw = call.function.arguments or "{}"
    try:
        arguments = json.loads(raw)
    except ValueError as e:
        return ToolCall(call.function.name, id=call.id, error=f"arguments are not JSON ({e}): {raw[:500]}")
    if not isinstance(arguments, dict):
        return ToolCall(call.function.name, id=call.id, error=f"arguments are not a JSON object: {raw[:500]}")
    return ToolCall(call.function.name, arguments, id=call.id)


def to_backend_response(completion: Any) -> BackendResponse:
    """Text, finish reason and token counts of a chat completion (live or batch)."""
    usage = completion.usage
    tokens_in = usage.prompt_tokens if usage else None
    tokens_out = usage.completion_tokens if usage else None  # includes reasoning tokens
    if not completion.choices:
        return BackendResponse("", "other", tokens_in, tokens_out, detail="no choices in the response")
    choice = completion.choices[0]
    message = choice.message
    text = (message.content if message else None) or ""
    refusal = getattr(message, "refusal", None)
    if refusal:
        return BackendResponse(text, "refusal", tokens_in, tokens_out, detail=refusal)
    calls = tuple(_tool_call(c) for c in (getattr(message, "tool_calls", None) or []) if c.type == "function")
    reason = choice.finish_reason
    finish: FinishReason = _FINISH.get(reason or "", "other")
    if (reason is None and (text or calls)) or (reason == "tool_calls" and calls):
        # Some compatible servers omit the reason on a normal end; a turn that ends by calling
        # tools is a complete answer (without calls, "tool_calls" is as abnormal as any other).
        finish = "stop"
    detail = None if finish in ("stop", "length") else str(reason or "no finish reason")
    return BackendResponse(text, finish, tokens_in, tokens_out, detail=detail, tool_calls=calls)
