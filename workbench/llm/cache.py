"""The gateway's cache: keys that capture everything determining a call, and bulk look-ups.

Two calls share a key only if they would send the same model the same request: model spec,
system prompt, messages, sampling parameters, output schema, offered tools and sample index. A
re-run with unchanged inputs therefore finds every answer here and sends no request.

Tool calls: a request that offers tools cannot have a schema, so its row's `parsed` column is
free and holds `{"tool_calls": [...]}` (each a `ToolCall.record()`); a cached answer replays
them. Tools and tool turns enter the fingerprint only when present, so the keys of plain
requests are the same as before native tool calling existed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from workbench.llm.spec import ModelSpec
from workbench.llm.types import CallResult, LLMRequest, Message, ToolCall
from workbench.store import Store

# Outcomes decided by the model itself, and permanent failures (bad request, auth, unknown model:
# sending again would fail again and may be paid for; `--retry-failed` asks anew). Transient
# failures (rate limits, timeouts, 5xx after the last retry) are not cached: the next run tries again.
CACHEABLE_STATUSES = frozenset({"ok", "length", "safety", "refusal", "parse_failed", "failed"})


def request_fingerprint(spec: ModelSpec, request: LLMRequest, json_schema: dict[str, Any] | None) -> dict:
    """The JSON-serialisable description of a call that is hashed into its cache key."""
    fingerprint: dict[str, Any] = {
        "model": str(spec),
        "system": request.system,
        "messages": [_message_fingerprint(m) for m in request.messages],
        "params": asdict(request.params),
        "schema": json_schema,
        "sample_index": request.sample_index,
    }
    if request.tools:
        fingerprint["tools"] = [asdict(t) for t in request.tools]
    return fingerprint


def _message_fingerprint(message: Message) -> list[Any]:
    """[role, content], plus the tool-calling fields of a message that has them."""
    if not message.uses_tools:
        return [message.role, message.content]
    tools = {
        "tool_calls": [c.record() for c in message.tool_calls],
        "tool_call_id": message.tool_call_id,
        "name": message.name,
    }
    return [message.role, message.content, tools]


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
            "SELECT key, model, status, finish_reason, text, parsed, error, tokens_in, tokens_out,"
            " json_exists(request, '$.tools') FROM llm_cache WHERE key IN (SELECT unnest(?))",
            [wanted],
        ).fetchall()
    found = {}
    for key, model, status, finish, text, parsed_json, error, tin, tout, offered_tools in rows:
        parsed = json.loads(parsed_json) if parsed_json is not None else None
        calls = [ToolCall(**c) for c in parsed.pop("tool_calls")] if offered_tools and parsed else []
        found[key] = CallResult(
            status=status,
            model=model,
            cache_key=key,
            text=text,
            parsed=None if offered_tools else parsed,
            tool_calls=calls,
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
    parsed = {"tool_calls": [c.record() for c in result.tool_calls]} if "tools" in fingerprint else result.parsed
    return {
        "key": result.cache_key,
        "model": result.model,
        "status": result.status,
        "finish_reason": result.finish_reason,
        "text": result.text,
        "parsed": json.dumps(parsed) if parsed is not None else None,
        "error": result.error,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "request": json.dumps(fingerprint, ensure_ascii=False),
    }
