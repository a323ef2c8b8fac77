"""Scan: the `rater` reads batches of concatenated rows and lists the patterns that recur in them.

    report = await scan_dataset(ctx)

The rows are shuffled with the audit's seed and packed into batches of at most `rows_per_scan`
rows and `scan_token_budget` tokens (a row longer than `max_row_tokens`, or than `[limits]
max_row_chars`, is cut, in the scan only); when the dataset is used up before `scans` batches
exist, it is reshuffled for another pass. Each batch is one call, and the calls run in parallel.
Every pattern a scan reports becomes an `audit_candidates` row, its evidence resolved from row
labels to row ids and each quote checked against its row (`verified`). Evidence on a row the
batch did not contain is dropped; so is a candidate left with no evidence, and how many were
dropped for which reason is recorded in `audit_rejections` (`funnel.py` reports it).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from workbench.audit.audits import AuditContext
from workbench.audit.datasets import StoredRow, dataset_rows
from workbench.audit.schemas import ScannedPattern, ScanReport
from workbench.config_stages import AuditConfig
from workbench.errors import WorkbenchError
from workbench.generate.steps import Apply, Generation, Job, StepReport, stable_id
from workbench.tokens import CHARS_PER_TOKEN, estimate_tokens

CUT_MARK = "\n[... cut for length]"
# Why a scan's candidate is dropped (the keys of `audit_rejections.reason` the scan writes).
NO_EVIDENCE = "no_evidence"  # the scan gave no evidence at all
UNKNOWN_ROWS = "unknown_rows"  # every piece of evidence named a row label the batch did not have


def clip(text: str, max_tokens: int, max_chars: int | None = None) -> str:
    """The text, cut to about `max_tokens` tokens with a visible mark if it was longer.

    With `max_chars` (`[limits] max_row_chars`), the cut text, mark included, is never longer.
    """
    limit = max_tokens * CHARS_PER_TOKEN
    if max_chars is not None:
        limit = min(limit, max_chars - len(CUT_MARK))
    return text if len(text) <= limit else text[:limit] + CUT_MARK


@dataclass(frozen=True)
class ScanBatch:
    """The rows one scan reads, in the order it reads them."""

    index: int
    row_ids: tuple[str, ...]


def scan_batches(rows: Sequence[StoredRow], settings: AuditConfig) -> list[ScanBatch]:
    """`settings.scans` batches of rows: seeded shuffles, packed by row count and token budget.

    Raises:
        WorkbenchError: the dataset has fewer than two rows (a pattern needs two rows to recur).
    """
    if len(rows) < 2:
        raise WorkbenchError("A pattern audit needs at least two rows; this dataset has fewer.")
    batches: list[ScanBatch] = []
    for shuffle in range(settings.scans):  # each pass yields at least one batch
        order = list(rows)
        random.Random(f"{settings.seed}:{shuffle}").shuffle(order)
        for batch in _pack(order, settings):
            if len(batches) == settings.scans:
                return batches
            batches.append(ScanBatch(len(batches), batch))
    return batches


def _pack(order: Sequence[StoredRow], settings: AuditConfig) -> list[tuple[str, ...]]:
    """Consecutive batches of `order` within the row count and the token budget."""
    batches: list[tuple[str, ...]] = []
    current: list[str] = []
    tokens = 0
    for row in order:
        cost = min(estimate_tokens(row.text), settings.max_row_tokens)
        if current and (len(current) == settings.rows_per_scan or tokens + cost > settings.scan_token_budget):
            batches.append(tuple(current))
            current, tokens = [], 0
        current.append(row.row_id)
        tokens += cost
    if len(current) >= 2 or not batches:
        batches.append(tuple(current))
    return batches


def scan_subject(audit_id: str, index: int | str) -> str:
    """The subject id of a scan's generation (`index` "" gives the prefix every scan of the audit has)."""
    return f"{audit_id}:scan:{index}"


def scan_jobs(ctx: AuditContext) -> list[Job]:
    """A scan call for each batch that has no stored outcome yet."""
    rows = {r.row_id: r for r in dataset_rows(ctx.project, ctx.dataset.id)}
    batches = scan_batches(list(rows.values()), ctx.settings)
    cap = ctx.project.config.limits.max_row_chars
    jobs = []
    for batch in batches:
        labelled = {f"R{i + 1}": rows[row_id] for i, row_id in enumerate(batch.row_ids)}
        shown = [
            {"label": label, "text": clip(row.text, ctx.settings.max_row_tokens, cap)}
            for label, row in labelled.items()
        ]
        request = ctx.request("audit_scan", schema=ScanReport, rows=shown)
        rows_by_label = {label: (row.row_id, row.text) for label, row in labelled.items()}
        jobs.append(Job("scan", scan_subject(ctx.audit.id, batch.index), request,
                        context={"scan": batch.index, "rows": rows_by_label}))  # fmt: skip
    done = ctx.runner.stored([j.generation_id for j in jobs])
    return [j for j in jobs if j.generation_id not in done]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def resolve_evidence(pattern: ScannedPattern, rows: dict[str, tuple[str, str]]) -> list[dict[str, object]]:
    """The pattern's evidence on rows of the batch, as {row_id, quote, verified}."""
    evidence = []
    for item in pattern.evidence:
        found = rows.get(item.row.strip())
        if found is None:
            continue  # a label the batch did not have: nothing to tie the quote to
        row_id, text = found
        quote = item.quote.strip()
        evidence.append(
            {"row_id": row_id, "quote": quote, "verified": bool(quote) and _normalise(quote) in _normalise(text)}
        )
    return evidence


def record_rejections(
    con: duckdb.DuckDBPyConnection, audit_id: str, step: str, source_id: str, counts: Mapping[str, int]
) -> None:
    """Store how many candidates `step` dropped for each reason (a count per reason replaces the earlier one)."""
    for reason, candidates in counts.items():
        con.execute(
            "INSERT INTO audit_rejections VALUES (?, ?, ?, ?, ?) ON CONFLICT (audit_id, step, source_id, reason)"
            " DO UPDATE SET candidates = excluded.candidates",
            [audit_id, step, source_id, reason, candidates],
        )


def _apply_scans(ctx: AuditContext) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if not g.ok or g.parsed is None:
                continue  # the scan's outcome is in audit_generations with its reason
            rejected: Counter[str] = Counter()
            for i, pattern in enumerate(ScanReport.model_validate(g.parsed).patterns):
                evidence = resolve_evidence(pattern, g.job.context["rows"])
                if not evidence:
                    rejected[UNKNOWN_ROWS if pattern.evidence else NO_EVIDENCE] += 1
                    continue
                con.execute(
                    "INSERT INTO audit_candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    [stable_id(g.id, i), ctx.audit.id, g.job.context["scan"], pattern.name.strip(),
                     pattern.description.strip(), pattern.kind, json.dumps(evidence), g.id],
                )  # fmt: skip
            record_rejections(con, ctx.audit.id, "scan", g.id, rejected)

    return apply


async def scan_dataset(ctx: AuditContext) -> StepReport:
    """Run every scan that has no stored outcome; record the candidates each reports."""
    return await ctx.runner.run_jobs("scan", "rater", scan_jobs(ctx), apply=_apply_scans(ctx))


def pending_scans(ctx: AuditContext) -> int:
    """Scans without a final outcome (never run, or ended in a transport error)."""
    return len(scan_jobs(ctx))
