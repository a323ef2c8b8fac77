"""The vocabulary of the model gateway: requests, backend responses, call results.

A `LLMRequest` says everything that determines a model's answer (together with the model
spec); its hash is the cache key. Backends turn one request into one `BackendResponse` or raise
a `BackendError`; the gateway turns those into one `CallResult` per request.

Native tool calling: a request may offer tools (`LLMRequest.tools`, `ToolDef`s); the answer then
may carry `ToolCall`s instead of, or beside, text. The caller runs the tools itself (no backend
ever executes anything) and continues the conversation with the assistant turn that made the
calls (`Message("assistant", text, tool_calls=...)`) and one tool turn per result
(`Message.tool_result(call, output)`). Whether a model can do this at all is
`Gateway.supports_native_tools`; where it cannot, callers use a text protocol instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError

Role = Literal["user", "assistant", "tool"]

FinishReason = Literal["stop", "length", "safety", "refusal", "other"]
"""Why generation ended: a natural stop, the token limit, a safety block, an explicit refusal."""

CallStatus = Literal[
    "ok", "length", "safety", "refusal", "parse_failed", "error", "failed", "budget_exceeded", "deferred"
]
"""The final outcome of one gateway call. Stages copy it into their rows' status. `deferred`: the
request waits on a provider batch (`--batch`), so it has no outcome yet; nothing is stored for it."""

ErrorKind = Literal[
    "rate_limited", "server_error", "timeout", "connection", "client_error", "auth", "not_found", "unexpected"
]
"""Why a request produced no answer. The first four are transient (`BackendError.RETRYABLE`); the others are
permanent: a rejected request (400, 422: e.g. a prompt over the context length), a refused key (401, 403), an
unknown model or endpoint (404), or an exception the client library was not expected to raise."""


# Names both Gemini (letters, digits, _ . : -) and OpenAI (letters, digits, _ -) accept.
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class ToolDef:
    """A tool the model may call, declared natively to the backend.

    Attributes:
        name: The function name the model calls it by: a letter or underscore, then up to 63
            letters, digits, underscores or dashes.
        description: What the tool does and when to use it (the model reads this).
        parameters: A JSON schema (an object schema) for the call's arguments.
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}}, hash=False)

    def __post_init__(self) -> None:
        if not _TOOL_NAME.match(self.name):
            raise WorkbenchError(
                f"Tool name {self.name!r} is not accepted by every backend.",
                hint="Use a letter or underscore, then up to 63 letters, digits, underscores or dashes.",
            )
        if self.parameters.get("type", "object") != "object":
            raise WorkbenchError(
                f"Tool {self.name!r}: its parameters must be an object JSON schema, "
                f"not {self.parameters.get('type')!r}.",
                hint='Wrap the arguments in {"type": "object", "properties": {...}}.',
            )


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model made, as the backend reported it.

    Attributes:
        name: The tool called.
        arguments: The call's arguments (empty when `error` says they could not be read).
        id: The backend's id for the call, which the tool result must quote (OpenAI always
            sends one; the Gemini API may not, and then matches results by name and order).
        signature: An opaque token the backend wants back with the call (Gemini's thought
            signature, base64), or None.
        error: Why the arguments could not be read (not JSON, or not a JSON object), with the
            raw text; None for a well-formed call.
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    id: str | None = None
    signature: str | None = None
    error: str | None = None

    def record(self) -> dict[str, Any]:
        """The call as a JSON-serialisable dict (for the cache and fingerprints)."""
        return {
            "name": self.name,
            "arguments": self.arguments,
            "id": self.id,
            "signature": self.signature,
            "error": self.error,
        }


@dataclass(frozen=True)
class Message:
    """One turn of a conversation. System prompts travel separately in `LLMRequest.system`.

    Attributes:
        role: user, assistant, or tool (the result of one tool call).
        content: The turn's text; for a tool turn, the tool's output.
        tool_calls: The calls an assistant turn made (native tool calling).
        tool_call_id: For a tool turn, the `ToolCall.id` it answers (None if the call had none).
        name: For a tool turn, the tool's name (Gemini pairs results with calls by it).
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.tool_calls and self.role != "assistant":
            raise WorkbenchError(f"A {self.role} message cannot carry tool calls; only an assistant turn makes them.")
        if self.role == "tool" and not self.name:
            raise WorkbenchError(
                "A tool message needs the name of the tool it answers.",
                hint="Build it with Message.tool_result(call, output).",
            )
        if self.role != "tool" and (self.tool_call_id or self.name):
            raise WorkbenchError(f"tool_call_id and name belong on tool messages, not on a {self.role} message.")

    @classmethod
    def tool_result(cls, call: ToolCall, output: str) -> Message:
        """The tool turn answering `call` with the tool's output."""
        return cls("tool", output, tool_call_id=call.id, name=call.name)

    @property
    def uses_tools(self) -> bool:
        """True for a tool turn or an assistant turn with tool calls."""
        return self.role == "tool" or bool(self.tool_calls)


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings; `None` leaves the backend's default."""

    temperature: float | None = None
    max_output_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class LLMRequest:
    """One model call, minus the model. Frozen: its hash is the cache key.

    Attributes:
        messages: The conversation, ending with the user turn to answer.
        system: The system prompt, if any.
        params: Sampling settings.
        schema: A pydantic model the answer must validate against (structured output).
        sample_index: Distinguishes N samples of the same prompt; each is cached separately
            and, where the backend supports seeds, seeded reproducibly from this index.
        template_hash: Hash of the prompt template that produced the messages (lineage only;
            the messages already determine the cache key).
        refused: Why this request must not be sent (e.g. a text over the size cap). The gateway
            ends it `failed` with this reason, without a call.
        tools: Tools declared natively to the backend; the answer may then call them. Not
            combinable with `schema`.
    """

    messages: tuple[Message, ...]
    system: str | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    schema: type[BaseModel] | None = None
    sample_index: int = 0
    template_hash: str | None = None
    refused: str | None = None
    tools: tuple[ToolDef, ...] = ()

    def __post_init__(self) -> None:
        if self.tools and self.schema is not None:
            raise WorkbenchError(
                "A request cannot both offer tools and ask for structured output.",
                hint="Ask for the structured answer in a later request without tools.",
            )
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise WorkbenchError(f"Tool names must be unique in one request; got {names}.")

    @property
    def uses_tools(self) -> bool:
        """True when the request needs native tool calling: it offers tools or carries tool turns."""
        return bool(self.tools) or any(m.uses_tools for m in self.messages)

    @classmethod
    def from_prompt(cls, prompt: str, **kwargs: Any) -> LLMRequest:
        """A single user turn."""
        return cls(messages=(Message("user", prompt),), **kwargs)


@dataclass(frozen=True)
class BackendResponse:
    """What a backend returns for one request that reached the model."""

    text: str
    finish_reason: FinishReason
    tokens_in: int | None = None
    tokens_out: int | None = None
    detail: str | None = None  # e.g. the safety category or the refusal message
    tool_calls: tuple[ToolCall, ...] = ()


class BackendError(Exception):
    """A request that did not produce a model answer.

    Args:
        kind: What went wrong; decides whether the gateway retries (only `RETRYABLE` kinds are).
        message: Human-readable detail, the row's reason when the call fails (never containing credentials).
        retry_after: Seconds the server asked us to wait, from a Retry-After header.
    """

    RETRYABLE: frozenset[str] = frozenset({"rate_limited", "server_error", "timeout", "connection"})

    def __init__(self, kind: ErrorKind, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE


class CallResult(BaseModel):
    """The outcome of one gateway call, whether fresh, cached or failed."""

    status: CallStatus = Field(description="Final outcome; only 'ok' carries a usable answer.")
    model: str = Field(description="The model spec string that answered.")
    cache_key: str = Field(description="Hash of everything that determines the call.")
    text: str | None = Field(None, description="The model's raw text answer.")
    parsed: dict[str, Any] | None = Field(None, description="The validated structured answer, if a schema was given.")
    finish_reason: FinishReason | None = Field(None, description="Why generation stopped.")
    error: str | None = Field(None, description="Why the call failed, for any status other than 'ok'.")
    cached: bool = Field(False, description="True when served from the cache without a request.")
    tokens_in: int | None = Field(None, description="Prompt tokens, summed over attempts and repairs.")
    tokens_out: int | None = Field(None, description="Output tokens, summed over attempts and repairs.")
    cost_usd: float | None = Field(None, description="Cost of this call's requests; 0 when cached.")
    tool_calls: list[ToolCall] = Field(
        default_factory=list,
        description="The tools the model called (native tool calling), in order; an answer may hold only these.",
    )

    @property
    def ok(self) -> bool:
        return self.status == "ok"
