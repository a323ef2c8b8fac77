"""Rate: judge rows against patterns, several rows and several patterns per call.

    report = await rate_sample(ctx)                          # the audit's sample, every active pattern
    report = await rate_rows(ctx, patterns, rows)            # any rows (a whole dataset, model outputs)

A lexical pattern (one with a rule, `lexical_rules.py`) is rated in SQL, exactly and with no
call, into the same `audit_ratings`; only the others go to the `rater`. So prevalence, filters
and `rate_outputs` treat both kinds alike.

One call shows the `rater` up to `rows_per_call` rows and `patterns_per_call` patterns and gets
back, per pattern, the rows meeting its broad and its strict criterion. So S rows and P patterns
cost ceil(S / rows_per_call) x ceil(P / patterns_per_call) calls instead of S x P.

A rating is stored per (pattern, criteria hash, row text): rows are rated once whatever dataset
they are in, and editing a pattern's criteria makes it be rated afresh. The calls are laid out
over the rows in a fixed order, so a run that resumes after a crash sends the same requests
and finds them in the cache. A call the model refused, answered with unparsable JSON, or answered
leaving a pattern out (`incomplete`) is tried again on the next run, up to three tries; until
then its pairs are unrated and counted as such in the report. The step report counts an
incomplete answer as `incomplete`, with its reason, never as `ok`, so the run is not passed as
a success (`workbench.cli.sft.exit_if_unanswered`). A row label it made up is ignored.

A row longer than `[limits] max_row_chars` is never sent to the `rater`: it stays unrated (the
report's unrated column counts it), and an `audit_generations` row with status `too_long` and
the reason records why (`workbench status` shows it). Lexical patterns still rate it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import product
from typing import TypeVar

import duckdb

from workbench.audit.audits import AuditContext
from workbench.audit.datasets import StoredRow, dataset_rows
from workbench.audit.lexical_rules import rate_lexical
from workbench.audit.patterns import Pattern, list_patterns
from workbench.audit.schemas import BatchRatings
from workbench.generate.steps import GENERATION_COLUMNS, Apply, Generation, Job, StepReport, stable_id
from workbench.store.bulk import insert_columns
from workbench.store.transitions import Move, move_rows

T = TypeVar("T")


def sample_positions(count: int, size: int, seed: int) -> list[int]:
    """The dataset positions of a sample of `size` rows out of `count`, drawn without replacement with `seed`."""
    return random.Random(f"sample:{seed}").sample(range(count), min(size, count))


def sample_rows(rows: Sequence[StoredRow], size: int, seed: int) -> list[StoredRow]:
    """`size` rows drawn without replacement with `seed` (all rows, shuffled, if there are fewer)."""
    return [rows[i] for i in sample_positions(len(rows), size, seed)]


def audit_sample(ctx: AuditContext) -> list[StoredRow]:
    """The rows the audit rates every pattern on: the same draw as sample_rows(), reading only those rows."""
    positions = sample_positions(ctx.dataset.row_count, ctx.settings.sample_size, ctx.settings.seed)
    by_position = {r.position: r for r in dataset_rows(ctx.project, ctx.dataset.id, positions=positions)}
    return [by_position[p] for p in positions]


def stored_levels(
    con: duckdb.DuckDBPyConnection, patterns: Sequence[Pattern], text_hashes: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(pattern id, text hash) -> level, for the patterns' current criteria."""
    found = con.execute(
        "SELECT r.pattern_id, r.text_hash, r.level FROM audit_ratings r"
        " JOIN (SELECT unnest(?) AS pattern_id, unnest(?) AS criteria_hash) p USING (pattern_id, criteria_hash)"
        " WHERE r.text_hash IN (SELECT unnest(?))",
        [[p.id for p in patterns], [p.criteria_hash for p in patterns], list(set(text_hashes))],
    ).fetchall()
    return {(pattern_id, text): level for pattern_id, text, level in found}


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def rating_jobs(ctx: AuditContext, patterns: Sequence[Pattern], rows: Sequence[StoredRow]) -> list[Job]:
    """A rating call for each (rows, patterns) block that has an unrated pair (see `still_to_send`)."""
    distinct = list({r.text_hash: r for r in rows}.values())
    with ctx.project.store.connect() as con:
        rated = stored_levels(con, patterns, [r.text_hash for r in distinct])
    jobs = []
    for block_rows, block_patterns in product(
        _chunks(distinct, ctx.settings.rows_per_call), _chunks(patterns, ctx.settings.patterns_per_call)
    ):
        if all((p.id, r.text_hash) in rated for p in block_patterns for r in block_rows):
            continue
        jobs.append(_rating_job(ctx, block_patterns, block_rows))
    return ctx.still_to_send("rate", jobs)


def _rating_job(ctx: AuditContext, patterns: list[Pattern], rows: list[StoredRow]) -> Job:
    shown_patterns = [
        {"label": f"P{i + 1}", "name": p.name, "description": p.description, "broad": p.broad, "strict": p.strict}
        for i, p in enumerate(patterns)
    ]
    shown_rows = [{"label": f"R{i + 1}", "text": r.text} for i, r in enumerate(rows)]
    request = ctx.request("audit_rate", schema=BatchRatings, patterns=shown_patterns, rows=shown_rows)
    subject = stable_id(*(p.criteria_hash + p.id for p in patterns), *(r.text_hash for r in rows))
    context = {
        "patterns": {f"P{i + 1}": (p.id, p.criteria_hash) for i, p in enumerate(patterns)},
        "rows": {f"R{i + 1}": r.text_hash for i, r in enumerate(rows)},
    }
    return Job("rate", subject, request, context=context)


def levels_from_answer(
    answer: BatchRatings, patterns: dict[str, object], rows: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Pattern label -> row label -> level, for every pattern the answer covers (unknown labels ignored)."""
    levels: dict[str, dict[str, str]] = {}
    for entry in answer.patterns:
        label = entry.pattern.strip()
        if label not in patterns:
            continue
        strict = {r.strip() for r in entry.strict}
        broad = {r.strip() for r in entry.broad} | strict  # strict implies broad
        levels[label] = {row: "strict" if row in strict else "broad" if row in broad else "absent" for row in rows}
    return levels


def _apply_ratings(incomplete: dict[str, str]) -> Apply:
    """Store each answer's ratings; an answer that left a pattern out goes into `incomplete` (id -> reason)."""

    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if not g.ok or g.parsed is None:
                continue  # unrated; the outcome and its reason are in audit_generations
            patterns, rows = g.job.context["patterns"], g.job.context["rows"]
            levels = levels_from_answer(BatchRatings.model_validate(g.parsed), patterns, rows)
            left_out = [label for label in patterns if label not in levels]
            if left_out:  # not `ok`: the next run asks again (see AuditContext.still_to_send)
                reason = incomplete[g.id] = f"the answer left out pattern(s) {', '.join(left_out)}"
                move_rows(con, "audit_generations", [Move(g.id, read="ok", status="incomplete", reason=reason)])
            values = [
                (patterns[p][0], patterns[p][1], rows[r], level)
                for p, by_row in levels.items()
                for r, level in by_row.items()
            ]
            if values:
                # One statement of column lists: executemany costs a millisecond a row in DuckDB.
                columns = [list(column) for column in zip(*values, strict=True)]
                con.execute(
                    "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                    " SELECT unnest(?), unnest(?), unnest(?), unnest(?), ? ON CONFLICT DO NOTHING",
                    [*columns, g.id],
                )

    return apply


def _count_incomplete(report: StepReport, incomplete: dict[str, str]) -> None:
    """Move the answers `apply` found incomplete from the report's `ok` (as they came back) to `incomplete`."""
    if not incomplete:
        return
    report.written["ok"] -= len(incomplete)
    if not report.written["ok"]:
        del report.written["ok"]
    report.count("incomplete", len(incomplete), reason=next(iter(incomplete.values())))


async def rate_rows(ctx: AuditContext, patterns: Sequence[Pattern], rows: Sequence[StoredRow]) -> StepReport:
    """Rate every row against every pattern where the pair has no rating under the current criteria.

    Lexical patterns are rated in SQL first (the report counts their ratings as `lexical`); the
    rest are sent to the `rater`, so a set of lexical patterns alone makes no call at all.
    """
    lexical = [(p.id, p.criteria_hash, p.rule) for p in patterns if p.rule is not None]
    written = 0
    if lexical:
        with ctx.project.store.transaction() as con:
            written = rate_lexical(con, lexical, [r.text_hash for r in rows])
    incomplete: dict[str, str] = {}  # filled by apply, in the runner's writer thread, before run_jobs returns
    llm = [p for p in patterns if p.rule is None]
    cap = ctx.project.config.limits.max_row_chars
    # A row over the cap is left out rather than cut: a rating of part of a row would be stored
    # against the whole row's text and counted as if the row had been read (a pattern in the
    # cut part would count as absent). Left out, it stays unrated, which prevalence reports.
    sendable = [r for r in rows if len(r.text) <= cap]
    jobs = rating_jobs(ctx, llm, sendable)
    report = await ctx.runner.run_jobs("rate", "rater", jobs, apply=_apply_ratings(incomplete))
    _count_incomplete(report, incomplete)
    oversized = list({r.text_hash: r for r in rows if len(r.text) > cap}.values())
    if llm and oversized:
        _record_too_long(ctx, oversized, cap)
        report.count("too_long", len(oversized))
    if written:
        report.count("lexical", written)
    return report


def _record_too_long(ctx: AuditContext, rows: Sequence[StoredRow], cap: int) -> None:
    """One `too_long` outcome per row left out of rating, with the reason (no call was made)."""
    values = {
        "step": "rate", "variant": "too_long", "role": "rater", "model": ctx.project.config.roles.get("rater", ""),
        "cache_key": "", "run_id": ctx.runner.run_id, "status": "too_long",
    }  # fmt: skip
    records = [
        values | {
            "id": stable_id("rate", r.text_hash, "too_long"), "subject_id": r.text_hash,
            "reason": f"row {r.row_id} is {len(r.text):,} characters, over the {cap:,}-character cap "
            "([limits] max_row_chars): left out of rating, so it stays unrated",
        }
        for r in rows
    ]  # fmt: skip
    columns = {column: [record.get(column) for record in records] for column in GENERATION_COLUMNS}
    with ctx.project.store.transaction() as con:
        insert_columns(
            con, "audit_generations", columns,
            "ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, reason = excluded.reason",
        )  # fmt: skip


async def rate_sample(ctx: AuditContext) -> StepReport:
    """Rate the audit's sample against each of its active patterns."""
    return await rate_rows(ctx, list_patterns(ctx.project, ctx.audit.id), audit_sample(ctx))
