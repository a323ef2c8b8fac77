"""The interface every backend implements.

A backend sends one request and returns one `BackendResponse`, or raises `BackendError` with a
kind that tells the gateway whether to retry. Backends do not retry, cache, log or limit
concurrency themselves: the gateway does all of that once, for every backend. Client libraries'
own retries are switched off for the same reason.

A backend that cannot take native tools says so in `supports_native_tools`; the gateway then
refuses requests that use them before anything is sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from workbench.llm.types import BackendResponse, LLMRequest


class Backend(Protocol):
    """A client for one model."""

    async def generate(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> BackendResponse:
        """Answer one request. `json_schema` (from `request.schema`) asks for structured output."""
        ...

    async def supports_native_tools(self) -> bool:
        """Whether `generate` takes requests with tools and tool turns (`LLMRequest.uses_tools`)."""
        ...

    async def aclose(self) -> None:
        """Release connections or model memory."""
        ...
