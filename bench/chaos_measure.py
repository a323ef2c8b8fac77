"""The chaos benchmark's figures, read from the stores and the fake server's log.

    figures = measure(chaos_store, clean_store, server.answers(), attempts, grace_s=0.5, cap=cap, lost_decisions=0)

Every figure here should be 0 on a product that survives SIGKILL at any moment; see
bench/chaos.py for how the stores got there. Identities are the deterministic columns a row
*is* (DESIGN §3.4): two rows with one identity are a duplicate. Lost rows are identities the
clean project has and the chaos project lacks, apart from those a reviewer's rejection rules
out (the examples of a rejected scenario, and the generations after the human gate).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from bench.chaos_server import CHAOS, CLEAN, Answer
from workbench.store import Store

# table -> (identity columns, which rows have one: edits are new versions by design)
IDENTITIES = {
    "sft_scenarios": ("traits_version, chunk_id, slot, attempt, round", "origin <> 'edited'"),
    "sft_examples": ("scenario_id", "origin = 'generated'"),
    "documents": ("traits_version, chunk_id, doc_type, slot, attempt", "origin <> 'edited'"),
    "sft_generations": ("step, subject_id, variant", "true"),
    "doc_generations": ("step, subject_id, variant", "true"),
    "audit_generations": ("step, subject_id, variant", "true"),
    "audit_candidates": ("audit_id, scan, name", "true"),
    "audit_patterns": ("audit_id, name", "true"),
}
# table -> SELECT of the keys every finished project must have; a second column, if any, is the
# scenario a row depends on (rows of scenarios the reviewer rejected are not expected).
EXPECTED = {
    "sft_scenarios": "SELECT id FROM sft_scenarios WHERE origin <> 'edited'",
    "sft_examples": "SELECT id, scenario_id FROM sft_examples WHERE origin = 'generated'",
    "sft_generations": "SELECT id FROM sft_generations WHERE step IN ('scenario', 'baseline', 'critique')",
    "documents": "SELECT id FROM documents WHERE origin <> 'edited'",
    "doc_generations": "SELECT id FROM doc_generations",
    "audit_generations": "SELECT id FROM audit_generations",
    "audit_patterns": "SELECT id FROM audit_patterns",
    "audit_ratings": "SELECT pattern_id || criteria_hash || text_hash FROM audit_ratings",
}
# Statuses a row passes through inside a run; none may be left once a final run has finished.
IN_PROGRESS = {
    "sft_scenarios": ("new",),
    "sft_examples": ("new",),
    "documents": ("brainstormed", "drafted", "critiqued", "new", "rated"),
}
REVIEWED = ("sft_scenarios", "sft_examples", "documents")


@dataclass(frozen=True)
class Attempt:
    """One run process of the chaos phase: its API key, when it lived (monotonic), how it ended,
    and how many model requests arrived from it."""

    key: str
    start: float
    end: float
    killed: bool
    sent: int = 0


@dataclass
class Figure:
    """One line of the table: a name, the value that must be 0 (or None if informational), a note."""

    name: str
    value: float | None
    note: str = ""


@dataclass
class Measured:
    """The figures, in table order."""

    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: float | None, note: str = "") -> None:
        self.figures.append(Figure(name, value, note))

    @property
    def all_zero(self) -> bool:
        return all(f.value is None or f.value == 0 for f in self.figures)


def _by_table(counts: dict[str, int]) -> str:
    return ", ".join(f"{t} {n}" for t, n in counts.items() if n) or "-"


def duplicates(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per table, rows beyond the first with the same identity."""
    out = {}
    for table, (columns, where) in IDENTITIES.items():
        row = con.execute(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} WHERE {where} GROUP BY {columns})"
        ).fetchone()
        out[table] = int(row[0]) if row else 0
    return out


def lost(clean: duckdb.DuckDBPyConnection, chaos: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per table, keys of the clean project missing from the chaos one (see the module docstring)."""
    rejected = {r[0] for r in chaos.execute("SELECT id FROM sft_scenarios WHERE status = 'rejected'").fetchall()}
    out = {}
    for table, sql in EXPECTED.items():
        have = {r[0] for r in chaos.execute(sql).fetchall()}
        missing = [r for r in clean.execute(sql).fetchall() if r[0] not in have]
        out[table] = sum(1 for r in missing if len(r) == 1 or r[1] not in rejected)
    return out


def in_progress(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per table, rows left in a status a run passes through."""
    out = {}
    for table, statuses in IN_PROGRESS.items():
        row = con.execute(f"SELECT count(*) FROM {table} WHERE status IN (SELECT unnest(?))", [list(statuses)])
        out[table] = int(row.fetchone()[0])  # type: ignore[index]
    return out


def overturned(con: duckdb.DuckDBPyConnection) -> int:
    """Rows whose latest decision is accept/reject but whose status no longer says so."""
    total = 0
    for table in REVIEWED:
        row = con.execute(
            f"""WITH latest AS (
                    SELECT item_id, arg_max(action, created_at) AS action FROM review_events
                    WHERE item_table = ? AND action <> 'note' GROUP BY item_id)
                SELECT count(*) FROM latest JOIN {table} t ON t.id = latest.item_id
                WHERE (latest.action = 'accept' AND t.status <> 'ok')
                   OR (latest.action = 'reject' AND t.status <> 'rejected')""",
            [table],
        ).fetchone()
        total += int(row[0]) if row else 0
    return total


def spend_per_work(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Total cost per piece of work: `runs.work` where the store has it, else stage and traits version."""
    columns = {c[0] for c in con.execute("SELECT * FROM runs LIMIT 0").description}
    work = "r.work" if "work" in columns else "r.stage || ' ' || coalesce(left(r.traits_version, 8), '')"
    rows = con.execute(
        f"SELECT coalesce({work}, '(no run)'), coalesce(sum(c.cost_usd), 0) FROM llm_calls c"
        " LEFT JOIN runs r ON r.id = c.run_id GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {str(w): float(s) for w, s in rows}


def paid_twice(answers: list[Answer], attempts: list[Attempt], grace_s: float) -> tuple[int, int]:
    """Copies of a request sent again after an earlier copy was answered 200.

    Returns (re-sent although the answer reached a live client at least `grace_s` before its
    end, re-sent where the answer came within `grace_s` of a kill or after it).
    """
    sends: dict[tuple[str, str], list[Answer]] = defaultdict(list)
    for answer in answers:
        sends[(answer.key, answer.digest)].append(answer)
    delivered, near_kill = 0, 0
    for copies in sends.values():
        first_ok = next((i for i, a in enumerate(copies) if a.status == 200), None)
        if first_ok is None or first_ok == len(copies) - 1:
            continue
        again = len(copies) - 1 - first_ok
        if _reached_client(copies[first_ok], attempts, grace_s):
            delivered += again
        else:
            near_kill += again
    return delivered, near_kill


def _of(phase: str, answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if a.key.startswith(f"{phase}-")]


def _reached_client(answer: Answer, attempts: list[Attempt], grace_s: float) -> bool:
    return any(a.key == answer.key and a.start <= answer.at <= a.end - (grace_s if a.killed else 0.0) for a in attempts)


def measure(
    chaos: Store, clean: Store, answers: list[Answer], attempts: list[Attempt], *, grace_s: float, cap: float,
    lost_decisions: int,
) -> Measured:  # fmt: skip
    """Every figure of the table (see the module docstring and bench/chaos.py)."""
    m = Measured()
    with chaos.connect() as con, clean.connect() as ref:
        dup, dup_clean = duplicates(con), duplicates(ref)
        m.add("duplicate rows", sum(dup.values()), f"{_by_table(dup)}; clean run: {sum(dup_clean.values())}")
        gone = lost(ref, con)
        m.add("lost rows (vs clean run)", sum(gone.values()), _by_table(gone))
        left = in_progress(con)
        m.add("non-terminal rows", sum(left.values()), _by_table(left))
        m.add("overturned review decisions", overturned(con), "latest accept/reject vs row status")
        m.add("lost review decisions", lost_decisions, "acknowledged by review_many, no event")
        ledger = dict(con.execute("SELECT status, count(*) FROM llm_calls GROUP BY 1 ORDER BY 1").fetchall())
        requests = len(_of(CHAOS, answers))  # every request read is answered
        interrupted = ledger.get("interrupted", 0)
        settled = sum(ledger.values()) - interrupted
        # Write-ahead: a request killed in flight is an `interrupted` row, whether or not it had
        # reached the server. So every request received has a settled row or is among those.
        m.add(
            "requests with no ledger row",
            max(0, requests - settled - interrupted),
            f"{requests} received; {settled} settled rows ({', '.join(f'{s} {n}' for s, n in ledger.items())})",
        )
        m.add("settled rows without a request", max(0, settled - requests), "a row counted that was never sent")
        m.add("  interrupted (in flight at kills)", None,
              f"{interrupted}, of which {requests - settled} had reached the server")  # fmt: skip
        again, near = paid_twice(_of(CHAOS, answers), attempts, grace_s)
        baseline, _ = paid_twice(_of(CLEAN, answers), attempts, grace_s)
        near_note = f"+{near} answered <{grace_s:g} s before a kill or after (not counted)"
        m.add("answered requests sent again (paid twice)", again, f"{near_note}; clean run: {baseline}")
        running = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]  # type: ignore[index]
        m.add("runs left running", running)
        spend = spend_per_work(con)
        over = sum(max(0.0, s - cap) for s in spend.values())
        shown = "; ".join(f"{w} ${s:.6f}" for w, s in spend.items())
        m.add("spend over cap, all works (USD)", round(over, 6), f"cap ${cap:.6f} per work: {shown}")
    return m
