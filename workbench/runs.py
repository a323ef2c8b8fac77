"""Runs: one row per execution of a stage, carrying its status, budget and lineage.

A stage opens a run, passes its id to the gateway (so every model call is attributed to it and
its budget is enforced across restarts), and closes it with a final status.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from workbench.store import Store

RunStatus = Literal["running", "done", "failed", "stopped_budget"]


# The run id of the hand-written demo set (workbench/demo/). Its rows are for looking at: every
# export and dataset build leaves them out, so they never reach training data.
DEMO_RUN = "demo"


def start_run(
    store: Store,
    stage: str,
    *,
    traits_version: str | None = None,
    budget_usd: float | None = None,
    config: dict[str, Any] | None = None,
) -> str:
    """Record the start of a run and return its id."""
    run_id = uuid.uuid4().hex[:12]
    with store.connect() as con:
        con.execute(
            "INSERT INTO runs (id, stage, status, traits_version, budget_usd, config) VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, stage, "running", traits_version, budget_usd, json.dumps(config or {})],
        )
    return run_id


def finish_run(store: Store, run_id: str, status: RunStatus, note: str | None = None) -> None:
    """Record how a run ended."""
    with store.connect() as con:
        con.execute(
            "UPDATE runs SET status = ?, note = ?, finished_at = current_timestamp WHERE id = ?",
            [status, note, run_id],
        )


def add_run_config(store: Store, run_id: str, values: dict[str, Any]) -> None:
    """Merge `values` into a run's config: what a run learns as it goes (e.g. the ids it made)."""
    with store.connect() as con:
        con.execute(
            "UPDATE runs SET config = json_merge_patch(coalesce(config, '{}'), ?) WHERE id = ?",
            [json.dumps(values), run_id],
        )


def run_spent_usd(store: Store, run_id: str) -> float:
    """Total recorded cost of a run's model calls so far."""
    with store.connect() as con:
        row = con.execute("SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE run_id = ?", [run_id]).fetchone()
    return float(row[0]) if row else 0.0
