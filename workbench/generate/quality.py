"""Steps 8-9: the autorater and deduplication of finished examples.

The `rater` scores each new example for realism, quality, trait embodiment and leakage (any
mention of traits, guidelines, a document, a system prompt, numbered principles). An example
below the project's thresholds becomes `filtered` with the failing scores as its reason; it is
kept, never deleted. Rated examples are then embedded (the `embedder` role, a local
sentence-transformers model by default) and a prompt too similar to an earlier example's is
marked `duplicate` of it. What survives waits for review (`needs_review`), or is accepted
(`ok`) when the project sets `auto_accept_examples`.
"""

from __future__ import annotations

import json

import duckdb

from workbench.config import SFTThresholds
from workbench.generate.context import SFTContext
from workbench.generate.dedup import find_duplicates
from workbench.generate.schemas import ExampleRating
from workbench.generate.steps import Apply, Generation, Job, StepReport

KEPT = ("needs_review", "ok")  # examples later ones are compared against


def threshold_failures(rating: ExampleRating, thresholds: SFTThresholds) -> list[str]:
    """Human-readable reasons a rating falls short; empty when it passes."""
    failures = [
        f"{name} {score} < {minimum}"
        for name, score, minimum in (
            ("realism", rating.realism, thresholds.realism),
            ("quality", rating.quality, thresholds.quality),
            ("embodiment", rating.embodiment, thresholds.embodiment),
        )
        if score < minimum
    ]
    if rating.leakage > thresholds.max_leakage:
        failures.append(f"leakage {rating.leakage} > {thresholds.max_leakage}")
    return failures


def _new_examples(ctx: SFTContext, status: str) -> list[tuple[str, str, str, str]]:
    """(id, chunk id, user prompt, response) of this run's examples with `status`, oldest first."""
    with ctx.project.store.connect() as con:
        return con.execute(
            "SELECT id, chunk_id, user_prompt, response FROM sft_examples WHERE status = ? AND traits_version = ?"
            " AND chunk_id IN (SELECT unnest(?)) ORDER BY created_at, id",
            [status, ctx.version.id, ctx.chunk_ids],
        ).fetchall()


def rating_jobs(ctx: SFTContext) -> list[Job]:
    """An autorater call for each new example."""
    jobs = []
    for example_id, chunk_id, prompt, response in _new_examples(ctx, "new"):
        variables = ctx.trait_variables(chunk_id)
        request = ctx.request("autorate", schema=ExampleRating, user_prompt=prompt, response=response, **variables)
        jobs.append(Job("rating", example_id, request))
    return jobs


def _apply_ratings(thresholds: SFTThresholds) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if g.status == "error":
                continue  # a transport failure: the example stays new and the next run asks again
            if g.ok and g.parsed is not None:
                failures = threshold_failures(ExampleRating.model_validate(g.parsed), thresholds)
                status, reason = ("filtered", "; ".join(failures)) if failures else ("rated", None)
            else:
                status, reason = g.status, f"autorater: {g.reason}"
            con.execute(
                "UPDATE sft_examples SET status = ?, reason = ?, scores = ?, updated_at = current_timestamp"
                " WHERE id = ? AND status = 'new'",
                [status, reason, json.dumps(g.parsed) if g.parsed is not None else None, g.job.subject_id],
            )

    return apply


async def rate_examples(ctx: SFTContext) -> StepReport:
    """Score every new example and filter those under the thresholds."""
    apply = _apply_ratings(ctx.config.thresholds)
    return await ctx.runner.run_jobs("rating", "rater", rating_jobs(ctx), apply=apply)


async def dedup_examples(ctx: SFTContext) -> StepReport:
    """Mark rated examples whose prompt nearly repeats an earlier example's as `duplicate`."""
    fresh = _new_examples(ctx, "rated")
    report = StepReport("dedup", jobs=len(fresh))
    if not fresh:
        return report
    with ctx.project.store.connect() as con:
        kept = con.execute(
            "SELECT id, user_prompt FROM sft_examples WHERE status IN (SELECT unnest(?)) ORDER BY created_at, id",
            [list(KEPT)],
        ).fetchall()
    matches = await find_duplicates(
        ctx.project, [p for _, p in kept], [row[2] for row in fresh], ctx.config.near_duplicate_similarity,
        stage="sft.dedup", run_id=ctx.runner.run_id,
    )  # fmt: skip
    pool = [i for i, _ in kept] + [row[0] for row in fresh]
    survivor = "ok" if ctx.config.auto_accept_examples else "needs_review"
    updates: list[tuple[str, str | None, str | None, float | None, str]] = []
    for row, match in zip(fresh, matches, strict=True):
        if match is None:
            updates.append((survivor, None, None, None, row[0]))
        else:
            reason = f"near-duplicate of example {pool[match.index]} (cosine {match.similarity:.3f})"
            updates.append(("duplicate", reason, pool[match.index], match.similarity, row[0]))
        report.count(updates[-1][0])
    with ctx.project.store.transaction() as con:
        con.executemany(
            "UPDATE sft_examples SET status = ?, reason = ?, duplicate_of = ?, similarity = ?,"
            " updated_at = current_timestamp WHERE id = ? AND status = 'rated'",
            updates,
        )
    return report
