"""Runs: one row per execution of a stage, carrying its status, owner, piece of work, budget and lineage.

    run_id = start_run(store, "sft", traits_version=v, work=f"sft:{v}", budget_usd=None, default_budget_usd=25.0)
    budget = work_budget(store, run_id)          # the cap and the spend of the run's piece of work
    finish_run(store, run_id, "done")

A stage opens a run, passes its id to the gateway (so every model call is attributed to it and
its budget is enforced), and closes it with a final status. A run records the process that owns
it; a run left `running` by a process that was killed is marked `interrupted` by the next start
of any run (and by `workbench status` and the app's Overview), so nothing stays `running` forever.

The budget belongs to a piece of work (`sft:<traits version>`, `docs:<traits version>`,
`audit:<audit id>` ...), not to one run: every run and restart of the same work spends from one
cap, so restarting after a crash or a budget stop gets no fresh budget. An explicit `--budget`
sets the work's cap and later runs of the work inherit it; otherwise the config's cap applies.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from workbench.store import Store
from workbench.store.ledger_reads import ledger_rows
from workbench.store.owner import current_owner, owner_alive

RunStatus = Literal["running", "done", "failed", "stopped_budget", "interrupted", "waiting"]

INTERRUPTED_NOTE = "its process ended without finishing (killed?)"

# Tables whose rows a process owns while `running`, and the column that takes the note (if any).
_OWNED_TABLES: tuple[tuple[str, str | None], ...] = (("runs", "note"), ("train_runs", "error"), ("eval_runs", None))

# What each run has spent, and how many of its calls have an unknown cost (in flight when a process died).
_SPEND_BY_RUN = (
    "SELECT run_id, coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE status = 'interrupted' AND cost_usd IS NULL)"
    " FROM llm_calls WHERE run_id IS NOT NULL GROUP BY run_id"
)

# The run id of the hand-written demo set (workbench/demo/). Its rows are for looking at: every
# export and dataset build leaves them out, so they never reach training data.
DEMO_RUN = "demo"


@dataclass(frozen=True)
class WorkBudget:
    """The cap of a piece of work and what all its runs have spent.

    Attributes:
        work: The piece of work (`sft:<traits version>`, `eval:<run id>` ...).
        cap_usd: Its cap in USD; None means no cap.
        spent_usd: Recorded cost of the model calls of every run of the work.
        unknown_calls: Calls of the work whose cost is unknown: they were in flight when a
            process died (ledger status `interrupted`, no cost).
        cap_set_by: The run whose explicit `--budget` set the cap; None when it is the config's.
        run_id: The run this budget was asked for (None when listed per work).
        runs: How many runs the work has had.
    """

    work: str
    cap_usd: float | None
    spent_usd: float
    unknown_calls: int
    cap_set_by: str | None = None
    run_id: str | None = None
    runs: int = 1


def start_run(
    store: Store,
    stage: str,
    *,
    traits_version: str | None = None,
    work: str | None = None,
    budget_usd: float | None = None,
    default_budget_usd: float | None = None,
    config: dict[str, Any] | None = None,
) -> str:
    """Record the start of a run owned by this process and return its id.

    Marks runs whose process has died `interrupted` first (see `mark_interrupted`).

    Args:
        store: The project's store.
        stage: What kind of run it is (sft, docs, audit ...).
        traits_version: The traits version it works over, if any.
        work: The piece of work it advances; by default `stage:traits_version` (or, with no
            traits version, a work of its own).
        budget_usd: An explicit cap for the work (`--budget`); later runs of the work inherit it.
        default_budget_usd: The cap when neither this run nor an earlier run of the work set one.
        config: Settings to record with the run.
    """
    run_id = uuid.uuid4().hex[:12]
    work = work or f"{stage}:{traits_version or run_id}"
    with store.transaction() as con:
        _mark_interrupted(con)
        cap = budget_usd
        if cap is None:
            setter = _cap_setter(con, work)
            cap = setter[1] if setter else default_budget_usd
        con.execute(
            "INSERT INTO runs (id, stage, status, traits_version, budget_usd, budget_explicit, config, owner, work)"
            " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            [run_id, stage, traits_version, cap, budget_usd is not None, json.dumps(config or {}), current_owner(),
             work],
        )  # fmt: skip
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


def mark_interrupted(store: Store) -> int:
    """Mark `interrupted` every generation, training and eval run left `running` by a dead process.

    Returns:
        How many runs it marked.
    """
    with store.transaction() as con:
        return _mark_interrupted(con)


def _mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    marked = 0
    for table, note_column in _OWNED_TABLES:
        running = con.execute(f"SELECT id, owner FROM {table} WHERE status = 'running'").fetchall()
        dead = [run_id for run_id, owner in running if not owner_alive(owner)]
        note = f", {note_column} = ?" if note_column else ""
        for run_id in dead:
            con.execute(
                f"UPDATE {table} SET status = 'interrupted', finished_at = current_timestamp{note}"
                " WHERE id = ? AND status = 'running'",
                [INTERRUPTED_NOTE, run_id] if note_column else [run_id],
            )
        marked += len(dead)
    return marked


def work_budget(store: Store, run_id: str, default_cap: float | None = None) -> WorkBudget:
    """The budget of the piece of work `run_id` belongs to: its cap and what all its runs spent.

    A generation run (`runs`) shares its work with every run of the same `work`; an eval run is a
    piece of work of its own (its id is the same on every restart). The cap is the one the run
    recorded when it started (its `--budget`, one inherited from an earlier run of the work, or
    the config's); `default_cap` applies where none was recorded (an id in neither table).
    """
    with store.connect() as con:
        return _work_budget(con, run_id, default_cap)


def work_budgets(store: Store) -> list[WorkBudget]:
    """The budget of every piece of work that generation runs have advanced, newest first.

    The Overview shows these on every rerun. What each run spent comes through `ledger_rows`
    (re-read only after calls were added) and the runs table is small, so nothing scans the
    ledger once per piece of work.
    """
    spent = {run: (float(cost), int(unknown)) for run, cost, unknown in ledger_rows(store, _SPEND_BY_RUN)}
    with store.connect() as con:
        rows = con.execute(
            "SELECT work, id, budget_usd, budget_explicit FROM runs WHERE work IS NOT NULL ORDER BY started_at, id"
        ).fetchall()
    runs_of: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:  # oldest first: a work's last run is its latest
        runs = runs_of.pop(row[0], [])  # re-inserted, so the dict ends ordered by each work's latest run
        runs_of[row[0]] = [*runs, row]
    return [_budget_of_runs(runs, spent) for runs in reversed(runs_of.values())]


def _budget_of_runs(runs: list[tuple[Any, ...]], spent: dict[str, tuple[float, int]]) -> WorkBudget:
    """A piece of work's budget from its runs (oldest first): the latest run's cap, and its setter."""
    work, latest, cap, explicit = runs[-1]
    setter = latest if explicit else next((run[1] for run in reversed(runs[:-1]) if run[3]), None)
    cost = sum(spent.get(run[1], (0.0, 0))[0] for run in runs)
    unknown = sum(spent.get(run[1], (0.0, 0))[1] for run in runs)
    return WorkBudget(work, cap, cost, unknown, setter, None, len(runs))


def _work_budget(con: duckdb.DuckDBPyConnection, run_id: str, default_cap: float | None) -> WorkBudget:
    query = "SELECT work, budget_usd, budget_explicit, started_at FROM runs WHERE id = ?"
    row = con.execute(query, [run_id]).fetchone()
    if row is None:
        return _eval_budget(con, run_id, default_cap)
    work, cap, explicit, started = row
    setter = (run_id, cap) if explicit else _cap_setter(con, work, before=started)
    spent, unknown, runs = con.execute(
        "SELECT coalesce(sum(c.cost_usd), 0),"
        " count(c.id) FILTER (WHERE c.status = 'interrupted' AND c.cost_usd IS NULL), count(DISTINCT r.id)"
        " FROM runs r LEFT JOIN llm_calls c ON c.run_id = r.id WHERE r.work = ?",
        [work],
    ).fetchone()  # type: ignore[misc]
    cap = cap if cap is not None else default_cap
    return WorkBudget(work, cap, float(spent), int(unknown), setter[0] if setter else None, run_id, int(runs))


def _eval_budget(con: duckdb.DuckDBPyConnection, run_id: str, default_cap: float | None) -> WorkBudget:
    """An eval run (or an id no table knows) is a piece of work of its own."""
    row = con.execute("SELECT budget_usd FROM eval_runs WHERE id = ?", [run_id]).fetchone()
    recorded = row[0] if row else None
    spent, unknown = con.execute(
        "SELECT coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE status = 'interrupted' AND cost_usd IS NULL)"
        " FROM llm_calls WHERE run_id = ?",
        [run_id],
    ).fetchone()  # type: ignore[misc]
    work = f"eval:{run_id}" if row else run_id
    cap = recorded if recorded is not None else default_cap
    return WorkBudget(work, cap, float(spent), int(unknown), None, run_id)


def work_cap(store: Store, work: str, default_cap: float | None) -> float | None:
    """The cap the next run of `work` will have: the latest explicit `--budget` of the work, else `default_cap`."""
    with store.connect() as con:
        setter = _cap_setter(con, work)
    return setter[1] if setter else default_cap


def _cap_setter(con: duckdb.DuckDBPyConnection, work: str, before: Any = None) -> tuple[str, float] | None:
    """The latest run of `work` (started before `before`, if given) that set a cap explicitly, and that cap."""
    row = con.execute(
        "SELECT id, budget_usd FROM runs WHERE work = ? AND budget_explicit AND (? IS NULL OR started_at < ?)"
        " ORDER BY started_at DESC LIMIT 1",
        [work, before, before],
    ).fetchone()
    return (row[0], float(row[1])) if row else None
