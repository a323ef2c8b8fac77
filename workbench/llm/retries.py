"""Retries of transient backend errors, shared by the gateway and the embedder.

    async for attempt in transient_retries(config.gateway):
        with attempt:
            await backend.generate(...)

Rate limits, server errors, timeouts and connection errors are retried with exponential backoff
and jitter, honouring a server's Retry-After when it asks for longer; permanent errors are not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from workbench.config import GatewayConfig
from workbench.llm.types import BackendError


def transient_retries(
    gateway: GatewayConfig, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> AsyncRetrying:
    """Retry transient backend errors (rate limits, 5xx, timeouts, connection) per `[gateway]`.

    At most `max_attempts` attempts, and none started once the call has taken `max_call_s`.
    """
    return AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, BackendError) and e.retryable),
        stop=stop_after_attempt(gateway.max_attempts) | stop_after_delay(gateway.max_call_s),
        wait=backoff(gateway),
        sleep=sleep,
        reraise=True,
    )


def backoff(gateway: GatewayConfig) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, or the server's Retry-After when it asks for longer."""
    exponential = wait_exponential_jitter(initial=gateway.backoff_initial_s, max=gateway.backoff_max_s)

    def delay(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        wait = exponential(state)
        if isinstance(error, BackendError) and error.retry_after is not None:
            wait = max(wait, min(error.retry_after, gateway.backoff_max_s))
        return wait

    return delay
