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
    """The error kind for an HTTP status: what the gateway needs to decide on a retry."""
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status in (401, 403):
        return "auth"
    if 400 <= status < 500:
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
