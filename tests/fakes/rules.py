"""The protocol-neutral heart of the fake LLM servers: requests, scripted replies, counters.

A fake server parses each HTTP request into a `FakeRequest`, asks its `RuleEngine` what to do,
and renders the returned reply in its own protocol (Gemini or OpenAI). A test scripts the fake by
setting `server.rule` to a function `FakeRequest -> Reply`:

    fake_gemini.rule = lambda req: Fault(429, retry_after=3) if req.attempt == 0 else Text("ok")
    fake_gemini.latency_s = 0.2            # or a function FakeRequest -> seconds
    fake_gemini.requests_total, fake_gemini.path_counts, fake_gemini.requests

A `ToolCalls` reply makes the model call tools, rendered in each protocol's own wire format
(Gemini `functionCall` parts with thought signatures; OpenAI `tool_calls` with ids); the tools a
request offered are in `FakeRequest.tools`, and tool results appear in `messages` as "tool" turns.

`attempt` counts earlier sightings of the same request body, so "fail the first try, then
answer" needs no state in the test. Rules run on server threads: keep them side-effect free
or guard shared state with a lock.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A hanging request must never outlive a test run: sleeps are capped and interrupted by stop().
MAX_HANG_S = 30.0


@dataclass(frozen=True)
class FakeRequest:
    """One model request as the fake understood it, independent of the wire protocol.

    Attributes:
        path: The HTTP path it was posted to.
        model: The model name from the path (Gemini) or body (OpenAI).
        system: The system prompt, or None.
        messages: The conversation as (role, text) pairs, roles normalised to user/assistant,
            and "tool" for a tool result (its output as text).
        json_schema: The JSON schema asked for (structured output), or None.
        params: Sampling settings under neutral names: temperature, top_p,
            max_output_tokens, seed (only those the client sent).
        attempt: How many times this exact body was received before (0 on the first try).
        api_key: The key the client sent (x-goog-api-key or the Bearer token), or None.
        body: The raw JSON body, for assertions on protocol details.
        tools: The tools offered, as {"name", "description", "parameters"} dicts.
    """

    path: str
    model: str
    system: str | None
    messages: list[tuple[str, str]]
    json_schema: dict[str, Any] | None
    params: dict[str, Any]
    attempt: int = 0
    api_key: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_user_text(self) -> str:
        """The text of the last user turn ("" if there is none)."""
        return next((text for role, text in reversed(self.messages) if role == "user"), "")


@dataclass(frozen=True)
class Text:
    """A normal answer. Token counts default to whitespace word counts.

    `finish` is "stop" or "length"; any other string is sent verbatim as the protocol's
    finish reason (e.g. "OTHER" for Gemini), to exercise unusual values.
    `thinking_tokens` is reported as Gemini's thoughtsTokenCount / OpenAI's reasoning_tokens.
    """

    text: str
    finish: str = "stop"
    tokens_in: int | None = None
    tokens_out: int | None = None
    thinking_tokens: int | None = None


@dataclass(frozen=True)
class Fault:
    """An HTTP error. `retry_after` becomes a Retry-After header; `body` replaces the error JSON."""

    status: int
    retry_after: float | None = None
    body: str | None = None


@dataclass(frozen=True)
class Hang:
    """Sleep `seconds` (capped at MAX_HANG_S), then answer with `then` or the default rule.

    Use it past the client's timeout to provoke a timeout.
    """

    seconds: float
    then: Reply | None = None


@dataclass(frozen=True)
class Safety:
    """A safety block: of the answer (finish reason), or with `prompt=True` of the prompt itself."""

    reason: str = "SAFETY"
    prompt: bool = False


@dataclass(frozen=True)
class Refusal:
    """An explicit refusal (OpenAI's message.refusal; plain text for Gemini, which has none)."""

    text: str


@dataclass(frozen=True)
class Malformed:
    """An answer whose text is not valid JSON (truncated braces), for structured requests."""

    text: str = '{"answer": "this JSON never clos'


@dataclass(frozen=True)
class ToolCalls:
    """The model calls tools: `calls` are (name, arguments) pairs, `text` an optional note beside them.

    Arguments given as a string are sent verbatim where the protocol carries them as a string
    (OpenAI), to exercise malformed arguments.
    """

    calls: tuple[tuple[str, dict[str, Any] | str], ...]
    text: str = ""

    def arguments_json(self, index: int) -> str:
        """The arguments of call `index` as the JSON string OpenAI sends."""
        arguments = self.calls[index][1]
        return arguments if isinstance(arguments, str) else json.dumps(arguments)


Reply = Text | Fault | Hang | Safety | Refusal | Malformed | ToolCalls
Answer = Text | Fault | Safety | Refusal | Malformed | ToolCalls
"""A resolved reply (`Hang`s waited out), what the servers render."""
Rule = Callable[[FakeRequest], Reply]
Latency = float | Callable[[FakeRequest], float]


def example_for_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A small value that validates against common JSON schemas (pydantic's output included).

    Handles $ref into $defs, anyOf/oneOf, enum/const, nullable type lists, objects (required
    properties only, or all when none are required), arrays (minItems) and numeric bounds.
    It is a test helper, not a general schema sampler.
    """
    defs = schema.get("$defs", schema.get("definitions", defs or {}))
    if "$ref" in schema:
        return example_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_for_schema(options[0], defs)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        names = schema.get("required") or list(props)
        return {name: example_for_schema(props.get(name, {}), defs) for name in names}
    if kind == "array":
        item = example_for_schema(schema.get("items", {}), defs)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind in ("integer", "number"):
        value = schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else schema.get("minimum", 1)
        value = min(value, schema.get("maximum", value))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "example".ljust(int(schema.get("minLength", 0)), "x")


def default_rule(request: FakeRequest) -> Reply:
    """Valid JSON for structured requests, otherwise an echo of the last user turn."""
    if request.json_schema is not None:
        return Text(json.dumps(example_for_schema(request.json_schema)))
    return Text(f"Echo: {request.last_user_text}")


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: whitespace words, at least 1."""
    return max(1, len(text.split()))


class RuleEngine:
    """Decides each reply and keeps thread-safe counters. Shared by both fake servers.

    Attributes:
        rule: The test's script; `default_rule` until a test sets another.
        latency_s: Seconds to wait before every reply (a float or a function of the request).
    """

    def __init__(self) -> None:
        self.rule: Rule = default_rule
        self.latency_s: Latency = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._bodies_seen: Counter[str] = Counter()
        self._path_counts: Counter[str] = Counter()
        self._requests: list[FakeRequest] = []
        self._total = 0

    # --- counters -------------------------------------------------------------------------

    @property
    def requests_total(self) -> int:
        """HTTP requests received, of any kind, including unparseable ones."""
        with self._lock:
            return self._total

    @property
    def path_counts(self) -> dict[str, int]:
        """HTTP requests received per path (a copy)."""
        with self._lock:
            return dict(self._path_counts)

    @property
    def requests(self) -> list[FakeRequest]:
        """Every model request parsed so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget counters and seen bodies (rule and latency are kept)."""
        with self._lock:
            self._bodies_seen.clear()
            self._path_counts.clear()
            self._requests.clear()
            self._total = 0

    # --- request handling (called from server threads) -----------------------------------

    def count_http(self, path: str) -> None:
        """Record that an HTTP request arrived at `path`."""
        with self._lock:
            self._total += 1
            self._path_counts[path] += 1

    def attempt_of(self, path: str, raw_body: bytes) -> int:
        """How many times this body was seen before at this path; records this sighting."""
        digest = hashlib.sha256(path.encode() + b"\0" + raw_body).hexdigest()
        with self._lock:
            seen = self._bodies_seen[digest]
            self._bodies_seen[digest] += 1
            return seen

    def decide(self, request: FakeRequest) -> Answer:
        """Record the request, wait the latency, and resolve the rule's reply (Hangs included)."""
        with self._lock:
            self._requests.append(request)
        latency = self.latency_s(request) if callable(self.latency_s) else self.latency_s
        self.sleep(latency)
        reply = self.rule(request)
        while isinstance(reply, Hang):
            self.sleep(min(reply.seconds, MAX_HANG_S))
            reply = reply.then if reply.then is not None else default_rule(request)
        return reply

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the server stops (so Hangs never block shutdown)."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def stop(self) -> None:
        """Wake every sleeping request; later sleeps return at once (until `resume`)."""
        self._stopping.set()

    def resume(self) -> None:
        """Let sleeps sleep again (a restarted server)."""
        self._stopping.clear()


def as_text(reply: ToolCalls) -> Text:
    """A tool-call reply as the text its token counts are based on (the note and each call)."""
    calls = " ".join(f"{name} {reply.arguments_json(i)}" for i, (name, _) in enumerate(reply.calls))
    return Text(f"{reply.text} {calls}")


def tokens_for(request: FakeRequest, reply: Text) -> tuple[int, int]:
    """(tokens_in, tokens_out) for a text reply, defaulting to word counts."""
    prompt = " ".join([request.system or "", *(text for _, text in request.messages)])
    tokens_in = reply.tokens_in if reply.tokens_in is not None else count_tokens(prompt)
    tokens_out = reply.tokens_out if reply.tokens_out is not None else count_tokens(reply.text)
    return tokens_in, tokens_out
