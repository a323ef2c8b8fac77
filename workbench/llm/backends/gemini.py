"""The Gemini backend: one `generateContent` call through the official google-genai async client.

It also embeds texts (`batchEmbedContents`) for workbench/embeddings.py, with the same client,
credentials and error mapping.

Credentials come from the environment, as the SDK reads them: `GEMINI_API_KEY` / `GOOGLE_API_KEY`,
or Vertex AI when `GOOGLE_GENAI_USE_VERTEXAI` is true (the SDK then reads GOOGLE_CLOUD_PROJECT /
GOOGLE_CLOUD_LOCATION and application-default credentials). The endpoint is
`GeminiConfig.base_url`, else the SDK's own `GOOGLE_GEMINI_BASE_URL`, else Google's.

Two SDK behaviours matter here (google-genai 3.4):

* With aiohttp installed the async client sends through aiohttp, not httpx2, and on a connection
  error it silently sleeps 1-10 s and tries once more. Passing `HttpRetryOptions(attempts=1)`
  switches that hidden retry off too; the gateway owns every retry.
* Transport errors are therefore aiohttp's, httpx2's (or httpx's, if GOOGLE_GENAI_HTTP_CLIENT
  says so) or a bare `TimeoutError`; all of them are mapped below. Anything else the SDK raises
  (e.g. ValueError for a model name it will not put in a URL) ends the call as `unexpected`.
* Native tools are sent as function declarations with plain JSON-schema parameters
  (`parameters_json_schema`), and automatic function calling is switched off: the SDK never
  calls anything itself, it returns the model's `function_call` parts, which become `ToolCall`s
  (their thought signatures kept, since Gemini 3 rejects a replayed call without its signature).
  Tool results go back as `function_response` parts, `{"output": text}`; consecutive tool turns
  share one content, as Gemini expects the answers to one turn's calls together.
* The SDK's timeout is one total per request (aiohttp's `ClientTimeout(total=...)`), set per
  request in `http_options`: connect_timeout_s plus the read timeout fitted to the call
  (`timeouts.py`).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from workbench.config import GatewayConfig, GeminiConfig
from workbench.errors import MissingCredentialsError
from workbench.llm.backends.http_errors import (
    backend_error,
    kind_for_status,
    redact,
    retry_after_from_headers,
    retry_delay_from_details,
    status_advice,
    unexpected_error,
)
from workbench.llm.backends.timeouts import attempt_timeout_for, seconds
from workbench.llm.types import (
    BackendError,
    BackendResponse,
    FinishReason,
    LLMRequest,
    Message,
    ToolCall,
    ToolDef,
)

_SAFETY_REASONS = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
_DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com/"
_T = TypeVar("_T")


def _exception_types(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes from an optional transport library (empty if it is not installed)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return ()
    return tuple(getattr(mod, name) for name in names if hasattr(mod, name))


# Checked in this order: timeouts first, since httpx's TimeoutException is a TransportError and
# aiohttp's ServerTimeoutError is a ClientError.
_TIMEOUTS: tuple[type[BaseException], ...] = (
    TimeoutError,
    *_exception_types("httpx2", "TimeoutException"),
    *_exception_types("httpx", "TimeoutException"),
)
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    *_exception_types("httpx2", "TransportError"),
    *_exception_types("httpx", "TransportError"),
    *_exception_types("aiohttp", "ClientError"),
)
# Vertex AI credentials that google.auth cannot find or refresh on the first request.
_BAD_CREDENTIALS = _exception_types("google.auth.exceptions", "DefaultCredentialsError", "RefreshError")
_CREDENTIALS = "GEMINI_API_KEY / GOOGLE_API_KEY, or Vertex AI credentials"


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true")


def http_options(timeout_s: float) -> dict[str, Any]:
    """Per-request SDK options: the request's total timeout, in the SDK's milliseconds (live and
    batch calls)."""
    return {"timeout": max(1, round(timeout_s * 1000))}


def _name(value: Any) -> str:
    """The string of an SDK enum (or of an unknown value the SDK passed through)."""
    return str(getattr(value, "value", value))


class GeminiBackend:
    """Gemini through google-genai. Construction checks credentials; nothing is sent until
    `generate`.

    Args:
        model: The model name, e.g. "gemini-3-flash".
        config: Gemini settings (base_url).
        gateway: Timeout settings; each request's timeout is fitted to it (`timeouts.py`).

    Raises:
        MissingCredentialsError: no API key and Vertex AI not selected, or Vertex AI selected
            without usable credentials.
    """

    def __init__(self, model: str, config: GeminiConfig, gateway: GatewayConfig) -> None:
        self._model = model
        self._gateway = gateway
        vertex = _env_true("GOOGLE_GENAI_USE_VERTEXAI") or _env_true("GOOGLE_GENAI_USE_ENTERPRISE")
        # Same precedence as the SDK, so we redact the key it actually sends.
        self._secret = os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY") or None
        if self._secret is None and not vertex:
            raise MissingCredentialsError(
                f"The Gemini backend (model {model!r}) needs an API key, and GEMINI_API_KEY is not set.",
                hint="Set it with `export GEMINI_API_KEY=...` (or GOOGLE_API_KEY; for Vertex AI set "
                "GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT), or point the role at "
                "another backend, e.g. openai:MODEL@http://127.0.0.1:8000/v1.",
            )
        client_options = types.HttpOptions(
            retry_options=types.HttpRetryOptions(attempts=1),  # no SDK retries, hidden ones included
            base_url=config.base_url,  # None: the SDK falls back to GOOGLE_GEMINI_BASE_URL
        )
        try:
            self._client = genai.Client(http_options=client_options)
        except Exception as e:  # ValueError, or google.auth's DefaultCredentialsError for Vertex
            raise MissingCredentialsError(
                f"The Gemini client could not be created: {redact(str(e), self._secret)}",
                hint="For Vertex AI set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION and run "
                "`gcloud auth application-default login`; for the Gemini API `export GEMINI_API_KEY=...`.",
            ) from None
        self._endpoint = self._describe_endpoint(config)

    def _describe_endpoint(self, config: GeminiConfig) -> str:
        """The URL requests go to, for error messages (never contains the key: it travels in a
        header)."""
        # The SDK resolves env vars and Vertex regions itself; ask it, falling back to our guess.
        options = getattr(getattr(self._client, "_api_client", None), "_http_options", None)
        url = getattr(options, "base_url", None)
        return str(url or config.base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or _DEFAULT_ENDPOINT)

    async def generate(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> BackendResponse:
        """Send one generateContent request.

        Raises:
            BackendError: the request produced no model answer (see `send`, `_api_error` for
                the kinds).
        """
        contents, config = generate_content_args(request, json_schema)
        timeout_s = attempt_timeout_for(self._gateway, request)
        config["http_options"] = http_options(timeout_s)
        response = await self.send(
            self._client.aio.models.generate_content(
                model=self._model, contents=cast(Any, contents), config=cast(types.GenerateContentConfigDict, config)
            ),
            timeout_s,
        )
        return to_backend_response(response)

    async def supports_native_tools(self) -> bool:
        """Gemini takes function declarations and function call/response parts."""
        return True

    async def embed(self, texts: Sequence[str]) -> tuple[list[list[float]], int | None]:
        """Embed texts with one batchEmbedContents request (the SDK's `embed_content`).

        Returns:
            One vector per text, in order (as the API sends them: not necessarily unit length),
            and the prompt tokens if the API reported them.

        Raises:
            BackendError: as for `generate`; also when the answer has the wrong number of vectors.
        """
        contents: Any = [{"role": "user", "parts": [{"text": text}]} for text in texts]
        timeout_s = attempt_timeout_for(self._gateway, None)
        config: Any = {"http_options": http_options(timeout_s)}
        response = await self.send(
            self._client.aio.models.embed_content(model=self._model, contents=contents, config=config), timeout_s
        )
        vectors = [list(e.values or []) for e in response.embeddings or []]
        if len(vectors) != len(texts) or not all(vectors):
            raise BackendError(
                "server_error", f"{self._endpoint} sent {len(vectors)} embedding(s) for {len(texts)} text(s)"
            )
        usage = response.usage_metadata
        return vectors, usage.prompt_token_count if usage else None

    @property
    def client(self) -> genai.Client:
        """The SDK client, for other calls with the same credentials (the batch API's)."""
        return self._client

    async def send(self, request: Awaitable[_T], timeout_s: float) -> _T:
        """Await one SDK request, turning every way it can fail into a `BackendError`.

        Transient: 408/409/429/5xx, unreadable answers, timeouts, unreachable servers. Permanent:
        other 4xx, credentials google.auth refuses, and any other exception (`unexpected`).
        Cancellation is not caught: it is not the request's failure.
        """
        try:
            return await request
        except genai_errors.APIError as e:
            raise self._api_error(e) from None  # the cause may carry the server's echo of our request
        except (json.JSONDecodeError, genai_errors.UnknownApiResponseError) as e:
            raise BackendError("server_error", f"unreadable response from {self._endpoint}: {e}") from None
        except _TIMEOUTS as e:
            raise BackendError(
                "timeout", f"no answer from {self._endpoint} within {seconds(timeout_s)} s ({type(e).__name__})"
            ) from None
        except _BAD_CREDENTIALS as e:
            raise backend_error("auth", f"{type(e).__name__}: {e} (check {_CREDENTIALS})", self._secret) from None
        except _UNREACHABLE as e:
            raise backend_error(
                "connection", f"cannot reach {self._endpoint}: {type(e).__name__}: {e}", self._secret
            ) from None
        except Exception as e:
            raise unexpected_error(e, f"google-genai (model {self._model!r}, {self._endpoint})", self._secret) from None

    def _api_error(self, e: genai_errors.APIError) -> BackendError:
        """An HTTP error status as a `BackendError` (429 carries the server's requested delay)."""
        code = int(e.code) if e.code else 500
        kind = kind_for_status(code)
        if code == 400 and "API_KEY_INVALID" in str(e.details):  # the Gemini API's answer to a bad key
            kind = "auth"
        message = f"Gemini API at {self._endpoint} returned {code} {e.status or ''}: {e.message or e.details}"
        message += status_advice(kind, self._model, _CREDENTIALS)
        retry_after = None
        if kind == "rate_limited":
            headers = getattr(getattr(e, "response", None), "headers", None)
            retry_after = retry_after_from_headers(headers) or retry_delay_from_details(e.details)
        return backend_error(kind, message, self._secret, retry_after=retry_after)

    async def aclose(self) -> None:
        """Close the SDK's connection pools (async and the sync one it always creates)."""
        await self._client.aio.aclose()
        self._client.close()


def generate_content_args(
    request: LLMRequest, json_schema: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `contents` and `config` that `generate_content` gets for `request` (no http_options).

    The live call and the batch API (workbench/llm/batch/gemini.py) both build requests here.
    """
    params = request.params
    # Plain dicts rather than SDK objects: the SDK converts either, and skipping the pydantic
    # round trip saves measurable CPU per call at high concurrency (bench/gateway.py).
    settings = {
        "system_instruction": request.system or None,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_output_tokens": params.max_output_tokens,
        "seed": params.seed,
    }
    config: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
    if json_schema is not None:
        # response_json_schema passes a plain JSON-schema dict through untouched
        # (generationConfig.responseJsonSchema); response_schema would convert it to
        # Google's OpenAPI subset, which rejects $defs/$ref as pydantic writes them.
        config.update(response_mime_type="application/json", response_json_schema=json_schema)
    if request.tools:
        config.update(tools=_tools(request.tools), automatic_function_calling={"disable": True})
    return _contents(request.messages), config


def _tools(tools: Sequence[ToolDef]) -> list[dict[str, Any]]:
    """One Tool holding every function declaration, parameters as plain JSON schema.

    The SDK passes declarations through as given (SDK objects too), so their fields reach the
    API under the proto names (`parameters_json_schema`), which it accepts as well as camelCase.
    """
    declarations = [
        {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters} for t in tools
    ]
    return [{"function_declarations": declarations}]


def _contents(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as Gemini contents; consecutive tool turns share one user content."""
    contents: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        if m.role == "tool":
            part = {"function_response": _drop_none(name=m.name, id=m.tool_call_id, response={"output": m.content})}
            if i > 0 and messages[i - 1].role == "tool":
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
            continue
        parts: list[dict[str, Any]] = [{"text": m.content}] if m.content or not m.tool_calls else []
        parts += [_call_part(c) for c in m.tool_calls]
        contents.append({"role": "model" if m.role == "assistant" else "user", "parts": parts})
    return contents


def _call_part(call: ToolCall) -> dict[str, Any]:
    part: dict[str, Any] = {"function_call": _drop_none(name=call.name, id=call.id, args=call.arguments)}
    if call.signature is not None:
        part["thought_signature"] = base64.b64decode(call.signature)
    return part


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _tool_call(part: types.Part) -> ToolCall:
    """A function_call part as a `ToolCall`."""
    call = part.function_call
    assert call is not None
    signature = base64.b64encode(part.thought_signature).decode("ascii") if part.thought_signature else None
    return ToolCall(name=call.name or "", arguments=dict(call.args or {}), id=call.id, signature=signature)


def to_backend_response(response: types.GenerateContentResponse) -> BackendResponse:
    """Text, finish reason and token counts of a generateContent response (live or batch)."""
    usage = response.usage_metadata
    tokens_in = usage.prompt_token_count if usage else None
    tokens_out = None
    if usage and (usage.candidates_token_count is not None or usage.thoughts_token_count is not None):
        # Thinking tokens are billed as output, so cost needs them counted.
        tokens_out = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)

    if not response.candidates:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            blocked = f"prompt blocked: {_name(feedback.block_reason)}"
            if feedback.block_reason_message:
                blocked += f" ({feedback.block_reason_message})"
            return BackendResponse("", "safety", tokens_in, tokens_out, detail=blocked)
        return BackendResponse("", "other", tokens_in, tokens_out, detail="no candidates in the response")

    candidate = response.candidates[0]
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    # Thought summaries are not the answer.
    text = "".join(part.text for part in parts if part.text and not part.thought)
    calls = tuple(_tool_call(part) for part in parts if part.function_call is not None)
    reason = _name(candidate.finish_reason) if candidate.finish_reason is not None else None
    finish: FinishReason
    detail: str | None = None
    if reason == "STOP" or (reason is None and (text or calls)):
        finish = "stop"
    elif reason == "MAX_TOKENS":
        finish = "length"
    elif reason in _SAFETY_REASONS:
        finish, detail = "safety", reason
    else:
        finish, detail = "other", reason or "no finish reason"
    if detail and candidate.finish_message:
        detail += f" ({candidate.finish_message})"
    return BackendResponse(text, finish, tokens_in, tokens_out, detail=detail, tool_calls=calls)
