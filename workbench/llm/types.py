"""The vocabulary of the model gateway: requests, backend responses, call results.

A `LLMRequest` says everything that determines a model's answer (together with the model
spec); its hash is the cache key. Backends turn one request into one `BackendResponse` or raise
a `BackendError`; the gateway turns those into one `CallResult` per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]

FinishReason = Literal["stop", "length", "safety", "refusal", "other"]
"""Why generation ended: a natural stop, the token limit, a safety block, an explicit refusal."""

CallStatus = Literal["ok", "length", "safety", "refusal", "parse_failed", "error", "failed", "budget_exceeded"]
"""The final outcome of one gateway call. Stages copy it into their rows' status."""

ErrorKind = Literal[
    "rate_limited", "server_error", "timeout", "connection", "client_error", "auth", "not_found", "unexpected"
]
"""Why a request produced no answer. The first four are transient (`BackendError.RETRYABLE`); the others are
permanent: a rejected request (400, 422: e.g. a prompt over the context length), a refused key (401, 403), an
unknown model or endpoint (404), or an exception the client library was not expected to raise."""


@dataclass(frozen=True)
class Message:
    """One turn of a conversation. System prompts travel separately in `LLMRequest.system`."""

    role: Role
    content: str


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
    """

    messages: tuple[Message, ...]
    system: str | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    schema: type[BaseModel] | None = None
    sample_index: int = 0
    template_hash: str | None = None
    refused: str | None = None

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

    @property
    def ok(self) -> bool:
        return self.status == "ok"
