"""What one call carries through the gateway, and the small pure steps of its way (gateway.py).

`Call` is a prepared request (spec, role, fingerprint, cache key); `Tally` sums the tokens and
cost of its attempts; `Answer` is a response with its structured-output check; the functions
turn responses and refusals into `CallResult`s; `Reporter` counts finished calls for progress.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from workbench.llm.spec import ModelSpec
from workbench.llm.structured import parse_answer
from workbench.llm.types import BackendError, BackendResponse, CallResult, LLMRequest
from workbench.progress import ProgressCallback, ProgressUpdate

STATUS_BY_FINISH = {"stop": "ok", "length": "length", "safety": "safety", "refusal": "refusal", "other": "error"}


@dataclass
class Tally:
    """Tokens and cost of all requests made for one call (attempts and repair)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None

    def add(self, response: BackendResponse, cost: float | None) -> None:
        self.tokens_in += response.tokens_in or 0
        self.tokens_out += response.tokens_out or 0
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost


@dataclass
class Answer:
    """A response that reached the model, with its structured-output check (if it had a schema)."""

    response: BackendResponse
    parsed: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Call:
    """One request on its way through the gateway."""

    spec: ModelSpec
    role: str | None
    request: LLMRequest
    fingerprint: dict[str, Any]
    key: str

    @property
    def json_schema(self) -> dict[str, Any] | None:
        return self.fingerprint["schema"]


def checked(response: BackendResponse, request: LLMRequest) -> tuple[Answer, str]:
    """A response with its structured-output check, and the status its ledger row takes."""
    answer = Answer(response)
    ledger_status = STATUS_BY_FINISH[response.finish_reason]
    if ledger_status == "ok" and request.schema is not None:
        answer.parsed, answer.problem = parse_answer(response.text, request.schema)
        ledger_status = "ok" if answer.problem is None else "invalid_json"
    return answer, ledger_status


def deferred(call: Call, why: str) -> CallResult:
    """A request that waits on a batch: no outcome yet, nothing cached or stored."""
    return CallResult(status="deferred", model=str(call.spec), cache_key=call.key, error=why)


def refused(call: Call) -> CallResult:
    """The result of a request that must not be sent (nothing is sent, cached or paid)."""
    return CallResult(status="failed", model=str(call.spec), cache_key=call.key, error=call.request.refused)


def unexpected(error: Exception) -> BackendError:
    """An exception the client library was not expected to raise, as a permanent failure with its reason."""
    return BackendError("client_error", f"unexpected {type(error).__name__} from the client: {error}")


def finish_error(response: BackendResponse) -> str:
    reasons = {"length": "output truncated at the token limit", "safety": "blocked by a safety filter",
               "refusal": "the model refused", "other": "generation ended abnormally"}  # fmt: skip
    reason = reasons.get(response.finish_reason, response.finish_reason)
    return f"{reason}: {response.detail}" if response.detail else reason


def seeded(request: LLMRequest) -> LLMRequest:
    """Give sample i of a seeded request the seed `seed + i`, so N samples differ reproducibly."""
    if request.params.seed is None or request.sample_index == 0:
        return request
    params = dataclasses.replace(request.params, seed=request.params.seed + request.sample_index)
    return dataclasses.replace(request, params=params)


class Reporter:
    """Counts finished calls and forwards progress to the caller's callback."""

    def __init__(self, callback: ProgressCallback | None, stage: str, total: int, done: int) -> None:
        self.callback, self.stage, self.total, self.done = callback, stage, total, done
        self._emit()

    async def after(self, work: Any) -> CallResult:
        result: CallResult = await work
        self.done += 1
        self._emit()
        return result

    def _emit(self) -> None:
        if self.callback is not None:
            self.callback(ProgressUpdate(self.stage, self.done, self.total))
