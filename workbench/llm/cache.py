"""The gateway's cache: keys that capture everything determining a call, and bulk look-ups.

Two calls share a key only if they would send the same model the same request: model spec,
system prompt, messages, sampling parameters, output schema and sample index. A re-run with
unchanged inputs therefore finds every answer here and sends no request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from workbench.llm.spec import ModelSpec
from workbench.llm.types import CallResult, LLMRequest
from workbench.store import Store

# Outcomes decided by the model itself, and permanent failures (bad request, auth, unknown model:
# sending again would fail again and may be paid for; `--retry-failed` asks anew). Transient
# failures (rate limits, timeouts, 5xx after the last retry) are not cached: the next run tries again.
CACHEABLE_STATUSES = frozenset({"ok", "length", "safety", "refusal", "parse_failed", "failed"})


def request_fingerprint(spec: ModelSpec, request: LLMRequest, json_schema: dict[str, Any] | None) -> dict:
    """The JSON-serialisable description of a call that is hashed into its cache key."""
    return {
        "model": str(spec),
        "system": request.system,
        "messages": [[m.role, m.content] for m in request.messages],
        "params": asdict(request.params),
        "schema": json_schema,
        "sample_index": request.sample_index,
    }


def cache_key(fingerprint: dict) -> str:
    """sha256 of the canonical JSON of a fingerprint."""
    canonical = json.dumps(fingerprint, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def lookup(store: Store, keys: Iterable[str]) -> dict[str, CallResult]:
    """Fetch cached results for many keys with one connection."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    with store.connect() as con:
        rows = con.execute(
            "SELECT key, model, status, finish_reason, text, parsed, error, tokens_in, tokens_out"
            " FROM llm_cache WHERE key IN (SELECT unnest(?))",
            [wanted],
        ).fetchall()
    found = {}
    for key, model, status, finish, text, parsed, error, tin, tout in rows:
        found[key] = CallResult(
            status=status,
            model=model,
            cache_key=key,
            text=text,
            parsed=json.loads(parsed) if parsed is not None else None,
            finish_reason=finish,
            error=error,
            cached=True,
            tokens_in=tin,
            tokens_out=tout,
            cost_usd=0.0,
        )
    return found


def cache_row(result: CallResult, fingerprint: dict) -> dict[str, Any]:
    """The llm_cache row for a finished call."""
    return {
        "key": result.cache_key,
        "model": result.model,
        "status": result.status,
        "finish_reason": result.finish_reason,
        "text": result.text,
        "parsed": json.dumps(result.parsed) if result.parsed is not None else None,
        "error": result.error,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "request": json.dumps(fingerprint, ensure_ascii=False),
    }
