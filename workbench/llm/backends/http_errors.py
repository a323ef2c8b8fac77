"""Helpers the HTTP backends share to turn transport and status errors into `BackendError`s.

Kept free of any client library so importing it costs nothing.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

from workbench.llm.types import BackendError, ErrorKind

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def kind_for_status(status: int) -> ErrorKind:
    """The error kind for an HTTP status: what the gateway needs to decide on a retry.

    Permanent: 401/403 (`auth`), 404 (`not_found`: an unknown model or a wrong base URL) and every
    other 4xx (`client_error`: 400 for a prompt over the context length, 422, 413, ...). Transient:
    408, 409 (ABORTED, a lost race: both Google's and OpenAI's clients retry it), 429, 5xx.
    """
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if 400 <= status < 500 and status != 409:
        return "client_error"
    # 5xx, and anything outside 4xx (a misbehaving proxy) is the server's problem, worth a retry.
    return "server_error"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date. None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After from response headers; `retry-after-ms` (OpenAI's, more precise) wins."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def retry_delay_from_details(body: Any) -> float | None:
    """Google's `google.rpc.RetryInfo` delay ("7s") from an error body's `details`, if any."""
    error = body.get("error", body) if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` masked (servers sometimes echo what they got)."""
    return text.replace(secret, "***") if secret else text


def backend_error(kind: ErrorKind, message: str, secret: str | None, retry_after: float | None = None) -> BackendError:
    """A `BackendError` whose message is guaranteed free of `secret`."""
    return BackendError(kind, redact(message, secret), retry_after=retry_after)


def unexpected_error(error: Exception, where: str, secret: str | None) -> BackendError:
    """A permanent `BackendError` for an exception a client library raised that no rule maps.

    Retrying a bug or an argument the library refuses (e.g. a model name it will not put in a
    URL) would fail the same way, so the call ends with the exception as its reason.
    """
    return backend_error("unexpected", f"{where} raised {type(error).__name__}: {error}", secret)


def status_advice(kind: ErrorKind, model: str, credentials: str) -> str:
    """What to do about an error status, to append to its message ("" for transient kinds).

    Args:
        kind: The status's kind (`kind_for_status`).
        model: The model name the request named.
        credentials: Where the key comes from, e.g. "GEMINI_API_KEY / GOOGLE_API_KEY".
    """
    advice = {
        "auth": f"check {credentials}",
        "not_found": f"check the model name {model!r} and the endpoint",
        "client_error": "the server refuses this request as sent, so it is not retried",
    }
    return f" ({advice[kind]})" if kind in advice else ""
