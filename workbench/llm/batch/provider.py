"""What a provider's batch API must do for the workbench: the `BatchProvider` protocol.

A batch is a set of requests the gateway would otherwise send live, each keyed by its gateway
cache key (so an answer, when it comes back, lands exactly where a live answer would). The
gateway builds each request's provider body once (`line_body`), stores it, and hands bodies
to `submit`; the provider splits them across remote jobs when they exceed its documented
limits (`split`), submits inline or as an uploaded file, reports normalised states, fetches
per-request results, and cancels.

Implementations: `gemini.py` (the Gemini Batch API through google-genai) and `openai.py`
(OpenAI-style batch JSONL through the openai client; the same lines are vLLM `run-batch` input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from workbench.llm.types import BackendResponse, LLMRequest

RemoteState = Literal["pending", "running", "succeeded", "failed", "cancelled", "expired"]
"""A remote job's state, normalised across providers. The last four are final."""

FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "expired"})


@dataclass(frozen=True)
class BatchLine:
    """One request in a batch.

    Attributes:
        key: The gateway cache key of the request: the custom_id / key the provider echoes back.
        body: The provider's request body as `line_body` built it (JSON-serialisable).
    """

    key: str
    body: dict[str, Any]


@dataclass(frozen=True)
class RemoteJob:
    """A remote batch job as the provider reports it.

    Attributes:
        remote_id: The provider's id (Gemini `batches/…`, OpenAI `batch_…`).
        state: Normalised state.
        display_name: The name the workbench gave it at submission (its own batch id), if any.
        total: Requests in the job, if reported.
        succeeded: Requests answered so far, if reported.
        failed: Requests that failed so far, if reported.
        detail: The provider's own state name and any error message, for `workbench batch status`.
    """

    remote_id: str
    state: RemoteState
    display_name: str | None = None
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    detail: str | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class LineResult:
    """The outcome of one request in a finished job: a model answer, or why there is none."""

    key: str
    response: BackendResponse | None = None
    error: str | None = None


class BatchProvider(Protocol):
    """One provider's batch API, bound to one model (a `ModelSpec`)."""

    name: str
    """"gemini" or "openai"."""

    def line_body(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> dict[str, Any]:
        """The request exactly as the live backend would send it, as a JSON-serialisable body."""
        ...

    def split(self, lines: Sequence[BatchLine]) -> list[list[BatchLine]]:
        """The lines grouped into jobs that each respect the provider's documented limits."""
        ...

    async def submit(self, lines: Sequence[BatchLine], display_name: str) -> str:
        """Create one remote job for `lines` (one group from `split`); returns its remote id.

        `display_name` is the workbench's own id for the job, recorded remotely so that a job
        created just before a crash can be found again (`find`).
        """
        ...

    async def find(self, display_name: str) -> RemoteJob | None:
        """The remote job submitted under `display_name`, if the provider has one."""
        ...

    async def get(self, remote_id: str) -> RemoteJob:
        """The job's current state and counts."""
        ...

    async def results(self, remote_id: str) -> list[LineResult]:
        """Every request's outcome of a final job (answers and per-request errors).

        Requests the provider reports nothing for (an expired or cancelled job's unfinished
        part) are simply absent.
        """
        ...

    async def cancel(self, remote_id: str) -> None:
        """Ask the provider to cancel the job (it may still finish some requests)."""
        ...

    async def aclose(self) -> None:
        """Close the client."""
        ...
