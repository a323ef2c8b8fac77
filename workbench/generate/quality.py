"""The autorater and deduplication of finished rows, shared by SFT examples and midtraining documents.

    await rate_rows(ctx, SFT_EXAMPLES, ctx.config.thresholds)
    await dedup_rows(ctx, SFT_EXAMPLES, similarity=0.92, auto_accept=False)

A `QualitySpec` says which table holds the rows, which of its columns the autorater's template
reads and which text is compared for near-duplicates. The `rater` scores each `new` row for
realism, quality, trait embodiment and leakage (any mention of traits, guidelines, a document, a
system prompt, numbered principles). A row below the thresholds becomes `filtered` with the
failing scores as its reason; it is kept, never deleted. An SFT example of a trait-off scenario
(an exception, an ordinary request: `generate/scenarios.py`) is meant to show the trait barely
or not at all, so the `embodiment` minimum applies to its `fit` score (the amount of the trait
suits the situation) instead of its embodiment (to embodiment where the rater gives no fit).
Rated rows are then embedded (the `embedder` role) and one too similar to an earlier kept row
is marked `duplicate` of it. What survives waits for review (`needs_review`), or is accepted (`ok`) with auto-accept on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from workbench.config_stages import Thresholds
from workbench.generate.context import GenerationContext, SFTContext
from workbench.generate.dedup import find_duplicates
from workbench.generate.scenarios import TRAIT_ON
from workbench.generate.schemas import ExampleRating
from workbench.generate.steps import Apply, Generation, Job, StepReport
from workbench.store.transitions import Move, move_rows

KEPT = ("needs_review", "ok")  # rows later ones are compared against


@dataclass(frozen=True)
class QualitySpec:
    """Where a pipeline's finished rows live and what the autorater and dedup read of them.

    Attributes:
        table: The table of finished rows (with status, reason, scores, duplicate_of, similarity).
        noun: What a row is called in reasons ("example", "document").
        template: The autorater's prompt template.
        columns: Columns passed to the template as variables of the same name.
        dedup_column: The text compared for near-duplicates.
        situation_sql: SQL giving a row's situation (`trait_on`, `exception`, `ordinary`), passed to
            the template as `situation`; None where rows have none (every row is then `trait_on`).
    """

    table: str
    noun: str
    template: str
    columns: tuple[str, ...]
    dedup_column: str
    situation_sql: str | None = None


SFT_EXAMPLES = QualitySpec(
    "sft_examples", "example", "autorate", ("user_prompt", "response"), "user_prompt",
    situation_sql="coalesce((SELECT s.situation FROM sft_scenarios s WHERE s.id = sft_examples.scenario_id),"
    f" '{TRAIT_ON}')",
)  # fmt: skip


def threshold_failures(rating: ExampleRating, thresholds: Thresholds, *, trait_off: bool = False) -> list[str]:
    """Human-readable reasons a rating falls short; empty when it passes.

    A trait-off row (`trait_off`) is held to the embodiment minimum on its `fit` score instead:
    showing the trait barely is what it is for, so its embodiment is low by design. A rater that
    gives no fit (a project's autorate.md written before it) leaves it judged on embodiment.
    """
    fit = rating.fit if trait_off else None
    judged = ("fit", fit) if fit is not None else ("embodiment", rating.embodiment)
    failures = [
        f"{name} {score} < {minimum}"
        for name, score, minimum in (
            ("realism", rating.realism, thresholds.realism),
            ("quality", rating.quality, thresholds.quality),
            (*judged, thresholds.embodiment),
        )
        if score < minimum
    ]
    if trait_off and fit is None and rating.embodiment < thresholds.embodiment:
        failures[-1] += " (a trait-off example, but the autorater gave no fit score)"
    if rating.leakage > thresholds.max_leakage:
        failures.append(f"leakage {rating.leakage} > {thresholds.max_leakage}")
    return failures


def _rows_with_status(ctx: GenerationContext, spec: QualitySpec, status: str) -> list[dict[str, Any]]:
    """This run's rows with `status` (id, chunk_id and the spec's columns), oldest first."""
    columns = ", ".join(dict.fromkeys(("id", "chunk_id", *spec.columns, spec.dedup_column)))
    if spec.situation_sql:
        columns += f", {spec.situation_sql} AS situation"
    with ctx.project.store.connect() as con:
        cursor = con.execute(
            f"SELECT {columns} FROM {spec.table} WHERE status = ? AND traits_version = ?"
            " AND chunk_id IN (SELECT unnest(?)) ORDER BY created_at, id",
            [status, ctx.version.id, ctx.chunk_ids],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rating_jobs(ctx: GenerationContext, spec: QualitySpec) -> list[Job]:
    """An autorater call for each new row."""
    jobs = []
    for row in _rows_with_status(ctx, spec, "new"):
        variables = {c: row[c] for c in spec.columns} | ctx.trait_variables(row["chunk_id"])
        if spec.situation_sql:
            variables["situation"] = row["situation"]
        request = ctx.request(spec.template, schema=ExampleRating, **variables)
        jobs.append(Job("rating", row["id"], request, context={"situation": row.get("situation", TRAIT_ON)}))
    return jobs


def _apply_ratings(spec: QualitySpec, thresholds: Thresholds) -> Apply:
    def move(g: Generation) -> Move:
        if g.ok and g.parsed is not None:
            trait_off = g.job.context.get("situation", TRAIT_ON) != TRAIT_ON
            failures = threshold_failures(ExampleRating.model_validate(g.parsed), thresholds, trait_off=trait_off)
            status, reason = ("filtered", "; ".join(failures)) if failures else ("rated", None)
        else:
            status, reason = g.status, f"autorater: {g.reason}"
        scores = json.dumps(g.parsed) if g.parsed is not None else None
        return Move(g.job.subject_id, read="new", status=status, reason=reason, values={"scores": scores})

    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        # A transport failure leaves the row new: the next run asks again.
        move_rows(con, spec.table, [move(g) for g in generations if g.answered])

    return apply


async def rate_rows(ctx: GenerationContext, spec: QualitySpec, thresholds: Thresholds) -> StepReport:
    """Score every new row and filter those under the thresholds."""
    return await ctx.runner.run_jobs("rating", "rater", rating_jobs(ctx, spec), apply=_apply_ratings(spec, thresholds))


async def dedup_rows(ctx: GenerationContext, spec: QualitySpec, *, similarity: float, auto_accept: bool) -> StepReport:
    """Mark rated rows whose text nearly repeats an earlier kept row's as `duplicate`; settle the rest."""
    fresh = _rows_with_status(ctx, spec, "rated")
    report = StepReport("dedup", jobs=len(fresh))
    if not fresh:
        return report
    with ctx.project.store.connect() as con:
        kept = con.execute(
            f"SELECT id, {spec.dedup_column} FROM {spec.table} WHERE status IN (SELECT unnest(?))"
            " ORDER BY created_at, id",
            [list(KEPT)],
        ).fetchall()
    matches = await find_duplicates(
        ctx.project, [text for _, text in kept], [row[spec.dedup_column] for row in fresh], similarity,
        stage=f"{ctx.runner.stage_prefix}.dedup", run_id=ctx.runner.run_id,
    )  # fmt: skip
    pool = [i for i, _ in kept] + [row["id"] for row in fresh]
    survivor = "ok" if auto_accept else "needs_review"
    moves: list[Move] = []
    for row, match in zip(fresh, matches, strict=True):
        if match is None:
            moves.append(Move(row["id"], read="rated", status=survivor))
        else:
            reason = f"near-duplicate of {spec.noun} {pool[match.index]} (cosine {match.similarity:.3f})"
            original = {"duplicate_of": pool[match.index], "similarity": match.similarity}
            moves.append(Move(row["id"], read="rated", status="duplicate", reason=reason, values=original))
    with ctx.project.store.transaction() as con:
        moved = move_rows(con, spec.table, moves)
    for m in moves:
        report.count(m.status if m.id in moved else "decided_meanwhile")
    return report


async def rate_examples(ctx: SFTContext) -> StepReport:
    """Score every new SFT example and filter those under the `[sft]` thresholds."""
    return await rate_rows(ctx, SFT_EXAMPLES, ctx.config.thresholds)


async def dedup_examples(ctx: SFTContext) -> StepReport:
    """Mark rated SFT examples whose user prompt nearly repeats an earlier example's as `duplicate`."""
    config = ctx.config
    return await dedup_rows(
        ctx, SFT_EXAMPLES, similarity=config.near_duplicate_similarity, auto_accept=config.auto_accept_examples
    )
