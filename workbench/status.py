"""What a project holds: rows per stage and status, what the model calls have cost, budgets and interrupted runs.

`workbench status`, the app's overview and the notebooks all read this one summary. Each stage
that stores rows with a status adds a query to `STAGE_COUNTS` (as its migration lands). Runs
whose process died are only shown `interrupted` once `workbench.runs.mark_interrupted` has run
(the status command and the Overview call it first).

Aggregates of the call ledger go through `store.ledger_reads.ledger_rows`, which re-reads the (append-only) ledger
only once calls have been added, so the Overview and Costs pages stay fast on a large one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from workbench.runs import WorkBudget, work_budgets
from workbench.store import Store
from workbench.store.ledger_reads import ledger_rows


def stage_counts(table: str, stage: str, by: str = "status") -> str:
    """A query of (stage, status, rows, most common reason) over `table`, grouped `by` (its columns).

    The reason's mode is taken only over rows that have one: mode over every row costs about three
    counts on a large table, while rows with a reason are few (and the column's statistics skip the
    second read when there are none). mode ignores NULLs, so the result is the same.
    """
    return (
        f"SELECT {stage}, status, n, reason FROM (SELECT {by}, count(*) AS n FROM {table} GROUP BY {by})"
        f" LEFT JOIN (SELECT {by}, mode(reason) AS reason FROM {table} WHERE reason IS NOT NULL GROUP BY {by})"
        f" USING ({by})"
    )


# Queries returning (stage, status, count, most common reason) rows. Stages register here.
STAGE_COUNTS: tuple[str, ...] = (
    stage_counts("sft_scenarios", "'sft.scenarios'"),
    stage_counts("sft_generations", "'sft.' || step", "step, status"),
    stage_counts("sft_examples", "'sft.examples'"),
    stage_counts("doc_generations", "'docs.' || step", "step, status"),
    stage_counts("documents", "'docs.documents'"),
    stage_counts("audit_generations", "'audit.' || step", "step, status"),
    "SELECT 'audit.patterns', origin || ' ' || status, count(*), NULL FROM audit_patterns GROUP BY origin, status",
)


@dataclass(frozen=True)
class TraitsSummary:
    """The latest version of one traits document: how many chunks of each kind it has."""

    document: str
    version: int
    version_id: str
    traits: int
    guidance: int
    boundaries: int


@dataclass(frozen=True)
class StageSpend:
    """Model calls of one stage: requests sent, how they ended, tokens and cost."""

    stage: str
    requests: int
    ok: int
    retried: int
    failed: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    unpriced: int


@dataclass(frozen=True)
class InterruptedRun:
    """A run whose process ended without finishing it (killed?)."""

    kind: str  # generation, training or eval
    id: str
    what: str
    started_at: datetime


@dataclass(frozen=True)
class ProjectStatus:
    """Everything `workbench status` shows."""

    schema_version: int
    traits: list[TraitsSummary]
    rows: dict[str, dict[str, int]]  # stage -> status -> count
    reasons: dict[str, dict[str, str]]  # stage -> status -> its most common reason (where there is one)
    spend: list[StageSpend]
    cached_answers: int
    review_events: int
    budgets: list[WorkBudget]  # each piece of work's cap and spend, newest first
    interrupted: list[InterruptedRun]


def _traits(con: duckdb.DuckDBPyConnection) -> list[TraitsSummary]:
    rows = con.execute(
        """
        SELECT v.document, v.number, v.id,
               count(*) FILTER (WHERE c.kind = 'trait'), count(*) FILTER (WHERE c.kind = 'guidance'),
               count(*) FILTER (WHERE c.kind = 'boundary')
        FROM traits_versions v
        JOIN (SELECT document, max(number) AS number FROM traits_versions GROUP BY document) latest
          USING (document, number)
        LEFT JOIN version_chunks vc ON vc.version_id = v.id
        LEFT JOIN chunks c ON c.id = vc.chunk_id
        GROUP BY ALL ORDER BY v.document
        """
    ).fetchall()
    return [TraitsSummary(*row) for row in rows]


def stage_spend(store: Store) -> list[StageSpend]:
    """Model calls per stage, by stage: what the Costs page and `project_status` show."""
    rows = ledger_rows(
        store,
        """
        SELECT stage, count(*),
               count(*) FILTER (WHERE status = 'ok'),
               count(*) FILTER (WHERE status = 'retried'),
               count(*) FILTER (WHERE status NOT IN ('ok', 'retried')),
               coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0),
               count(*) FILTER (WHERE cost_usd IS NULL AND tokens_in IS NOT NULL)
        FROM llm_calls GROUP BY stage ORDER BY stage
        """,
    )
    return [StageSpend(*row) for row in rows]


def _interrupted(con: duckdb.DuckDBPyConnection) -> list[InterruptedRun]:
    rows = con.execute(
        """
        SELECT 'generation', id, coalesce(work, stage), started_at FROM runs WHERE status = 'interrupted'
        UNION ALL
        SELECT 'training', id, method || ' · ' || base_model, started_at FROM train_runs WHERE status = 'interrupted'
        UNION ALL
        SELECT 'eval', id, suite || ' · ' || model, created_at FROM eval_runs WHERE status = 'interrupted'
        ORDER BY 4 DESC, 2
        """
    ).fetchall()
    return [InterruptedRun(*row) for row in rows]


def project_status(store: Store) -> ProjectStatus:
    """Summarise a project's store in one short read."""
    with store.connect() as con:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]  # type: ignore[index]
        rows: dict[str, dict[str, int]] = {}
        reasons: dict[str, dict[str, str]] = {}
        for query in STAGE_COUNTS:
            for stage, status, count, reason in con.execute(query).fetchall():
                rows.setdefault(stage, {})[status] = count
                if reason:
                    reasons.setdefault(stage, {})[status] = reason
        cached = con.execute("SELECT count(*) FROM llm_cache").fetchone()[0]  # type: ignore[index]
        reviews = con.execute("SELECT count(*) FROM review_events").fetchone()[0]  # type: ignore[index]
        rows = dict(sorted(rows.items()))
        interrupted = _interrupted(con)
        traits = _traits(con)
        spend = stage_spend(store)  # inside the block: a second connection to an open database is cheap
    return ProjectStatus(version, traits, rows, reasons, spend, cached, reviews, work_budgets(store), interrupted)
