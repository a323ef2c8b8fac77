"""Aggregates of the call ledger, read again only once calls have been added.

    rows = ledger_rows(store, "SELECT model, sum(cost_usd) FROM llm_calls GROUP BY model")

The ledger is append-only (the gateway inserts rows and never changes or deletes one:
llm/ledger.py), so its row count and newest time identify what it holds. The Overview and Costs
pages and the budgets of every piece of work aggregate all of it on every rerun; on a ledger of
hundreds of thousands of calls that is tens of milliseconds a query, while the fingerprint costs
well under one. It lives beside the store so that every layer (runs, status, views) can use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.store.connection import Store

_LEDGER_FINGERPRINT = "SELECT count(*), max(created_at) FROM llm_calls"
_ledger_reads: dict[tuple[Path, str], tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]] = {}


def ledger_rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """The rows of `sql`, a query over `llm_calls` alone without parameters, read again only after calls were added."""
    with store.connect() as con:
        fingerprint = tuple(con.execute(_LEDGER_FINGERPRINT).fetchone() or ())
        cached = _ledger_reads.get((store.path, sql))
        if cached is None or cached[0] != fingerprint:
            # A call added between the two reads is in the rows but not the fingerprint: the next read re-reads.
            cached = (fingerprint, tuple(con.execute(sql).fetchall()))
            _ledger_reads[store.path, sql] = cached
    return list(cached[1])
