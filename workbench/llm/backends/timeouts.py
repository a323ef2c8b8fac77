"""How long the HTTP backends wait for a model server, fitted to each call (`[gateway]` settings).

A call that may write 1000 tokens needs longer than one that may write 50, and a fixed timeout
long enough for the first makes a hung server hold the second for minutes on every retry. So the
read timeout grows with the request's output budget:

    read = read_timeout_floor_s + output tokens / min_tokens_per_s      (20 + 1000 / 25 = 60 s)

where the output tokens are the request's `max_output_tokens`, else `default_output_tokens`.
A fixed `read_timeout_s` replaces the formula. Connecting has its own bound, `connect_timeout_s`
(the OpenAI client applies the two separately; google-genai takes one total per request, so
the Gemini backend gives it their sum, `attempt_timeout_for`).
"""

from __future__ import annotations

from workbench.config import GatewayConfig
from workbench.llm.types import LLMRequest


def read_timeout_for(gateway: GatewayConfig, request: LLMRequest | None) -> float:
    """Seconds to wait for the answer to `request` once connected.

    Args:
        gateway: The project's `[gateway]` settings.
        request: The call; None for a request with no output budget of its own (embeddings),
            which is fitted to `default_output_tokens`.
    """
    if gateway.read_timeout_s is not None:
        return gateway.read_timeout_s
    tokens = request.params.max_output_tokens if request is not None else None
    return gateway.read_timeout_floor_s + (tokens or gateway.default_output_tokens) / gateway.min_tokens_per_s


def attempt_timeout_for(gateway: GatewayConfig, request: LLMRequest | None) -> float:
    """The longest one request waits on a server that stops answering: connecting plus reading.

    It bounds a hung server; a server that trickles bytes can hold an OpenAI-compatible request
    longer, since its client's read timeout restarts with every byte.
    """
    return gateway.connect_timeout_s + read_timeout_for(gateway, request)


def seconds(value: float) -> str:
    """A duration for messages: "41", "0.5", "2641" (no exponent, at most one decimal)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
