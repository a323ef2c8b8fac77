"""Step 1: scenarios. For each trait, N situations that call for it, each with a user prompt.

Diversity is explicit: every slot is assigned one value of each axis (persona, domain, stakes,
length, detail, directness, tone — configurable), spread evenly over the slots by a seeded
shuffle, so a trait's scenarios cover the axes instead of collapsing onto the model's favourite
case. The slot's `length` and `detail` set how much background its user prompt carries
(`background_level`), so that not every prompt is a brief of figures, deadlines and what was tried.

Proportion: a share of the slots (`[sft] trait_off_share`, drawn per slot with the seed) are
*trait-off* (`situation_for`): an `exception` the guidance makes, or an `ordinary` request
where a good answer shows the trait barely or not at all. Training only on cases where the trait
decides the answer teaches "always Y" instead of "if X then Y". The situation is stored on the
row and passed to every later prompt (critique, answer, refinement, autorater).
A new prompt too similar to one the trait already has is marked `duplicate` and its slot is
tried again with the near-duplicates listed as things to avoid (up to `max_scenario_attempts`).
A scenario a reviewer sent back is regenerated the same way, with the reviewer's note.

A trait that comes with its own questions (a constitution's) fills its first slots with them
(`[sft] seed_prompts = "use"`): slot i takes question i as its user prompt, origin `seeded`,
with no scenario call, then goes through the near-duplicate check, baseline and critique like
any other scenario. A seeded slot that is a duplicate or sent back is generated afresh.

Statuses: generated (awaiting the near-duplicate check) → new, or duplicate; failures are
refused / truncated / parse_failed; `error` lives on the generation and is retried next run.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

import duckdb

from workbench.generate.context import SFTContext
from workbench.generate.dedup import find_duplicates
from workbench.generate.schemas import ScenarioDraft
from workbench.generate.steps import Apply, Generation, Job, StepReport, stable_id
from workbench.review import send_back_notes
from workbench.store.transitions import Move, move_rows

LIVE = ("new", "needs_review", "ok")  # statuses of scenarios that count as the trait's current set
MAX_AVOID = 30  # prompts listed as "already written" in a retry; more would crowd out the instructions
SEEDED_SCENARIO = "The user asks one of the questions the traits document wrote for this trait."
TRAIT_ON, EXCEPTION, ORDINARY = "trait_on", "exception", "ordinary"  # a scenario's `situation`
BACKGROUND_AXES = ("length", "detail")  # listed from least to most; together they set `background_level`
BACKGROUND_LEVELS = ("bare", "some", "full")
_GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class ScenarioRow:
    """The columns of a stored scenario the steps need."""

    id: str
    chunk_id: str
    slot: int
    attempt: int
    round: int
    status: str
    scenario: str | None
    user_prompt: str | None
    axes: dict[str, str]
    framing: str
    situation: str = TRAIT_ON


def scenario_id(version_id: str, chunk_id: str, slot: int, attempt: int, round_: int) -> str:
    return stable_id("scenario", version_id, chunk_id, slot, attempt, round_)


def axes_for(axes: dict[str, list[str]], seed: int, chunk_id: str, slot: int) -> dict[str, str]:
    """One value per axis for a slot: a seeded permutation per (trait, axis), walked by slot."""
    chosen = {}
    for axis, values in axes.items():
        if values:
            order = list(values)
            random.Random(f"{seed}:{chunk_id}:{axis}").shuffle(order)
            chosen[axis] = order[slot % len(order)]
    return chosen


def situation_for(share: float, seed: int, chunk_id: str, slot: int) -> str:
    """Whether a slot puts the trait at stake (`trait_on`) or is an `exception` or `ordinary` request.

    The slot's point is a seeded offset per trait plus slot x golden ratio, mod 1: a low-discrepancy
    walk, so the trait-off slots are spread evenly over any number of slots (a pilot's first K get
    the same draw as a full run's) and their count stays close to `share` x slots. The first half of
    the trait-off band is exceptions, the second ordinary requests.
    """
    point = (random.Random(f"{seed}:{chunk_id}:situation").random() + slot * _GOLDEN) % 1
    if point < share / 2:
        return EXCEPTION
    return ORDINARY if point < share else TRAIT_ON


def background_level(config_axes: dict[str, list[str]], axes: dict[str, str]) -> str:
    """How much background a slot's user prompt carries: `bare`, `some` or `full`.

    Each of the slot's `length` and `detail` values is placed by its rank in the configured list
    (least first); the lower of the two decides, since a one-line message cannot carry a full brief.
    Without either axis (or with a value no longer configured) the prompt carries `some`.
    """
    ranks = [
        values.index(axes[axis]) / (len(values) - 1)
        for axis in BACKGROUND_AXES
        if len(values := config_axes.get(axis, [])) > 1 and axes.get(axis) in values
    ]
    if not ranks:
        return BACKGROUND_LEVELS[1]
    return BACKGROUND_LEVELS[min(len(BACKGROUND_LEVELS) - 1, int(min(ranks) * len(BACKGROUND_LEVELS)))]


def load_scenarios(ctx: SFTContext, statuses: tuple[str, ...] | None = None) -> list[ScenarioRow]:
    """Scenario rows of the run's traits version and traits, in (trait, slot, attempt, round) order."""
    sql = (
        "SELECT id, chunk_id, slot, attempt, round, status, scenario, user_prompt, axes, framing, situation"
        " FROM sft_scenarios"
        " WHERE traits_version = ? AND chunk_id IN (SELECT unnest(?))"
    )
    params: list[Any] = [ctx.version.id, ctx.chunk_ids]
    if statuses:
        sql += " AND status IN (SELECT unnest(?))"
        params.append(list(statuses))
    with ctx.project.store.connect() as con:
        rows = con.execute(sql + " ORDER BY slot, attempt, round", params).fetchall()
    order = {c: i for i, c in enumerate(ctx.chunk_ids)}
    parsed = [
        ScenarioRow(*row[:8], axes=json.loads(row[8]), framing=row[9], situation=row[10])  # type: ignore[misc]
        for row in rows
    ]
    return sorted(parsed, key=lambda r: (order[r.chunk_id], r.slot, r.attempt, r.round))


def _job(ctx: SFTContext, chunk_id: str, slot: int, attempt: int, **extra: Any) -> Job:
    config = ctx.config
    axes = axes_for(config.axes, config.seed, chunk_id, slot)
    situation = situation_for(config.trait_off_share, config.seed, chunk_id, slot)
    avoid: list[str] = extra.get("avoid", [])[-MAX_AVOID:]
    note: str | None = extra.get("note")
    request = ctx.request(
        "scenarios", schema=ScenarioDraft, framing=config.framing, axes=axes, avoid=avoid, note=note,
        previous_prompt=extra.get("previous_prompt"), situation=situation,
        background=background_level(config.axes, axes), **ctx.trait_variables(chunk_id),
    )  # fmt: skip
    sid = scenario_id(ctx.version.id, chunk_id, slot, attempt, 0)
    context = {"chunk_id": chunk_id, "slot": slot, "attempt": attempt, "axes": axes, "situation": situation,
               "parent_id": extra.get("parent")}  # fmt: skip
    return Job("scenario", sid, request, note=note, context=context)


def scenario_jobs(ctx: SFTContext) -> list[Job]:
    """The scenarios still missing: empty slots, duplicates with tries left, sent-back ones."""
    rows = load_scenarios(ctx)
    sent_back = [r.id for r in rows if r.status == "sent_back"]
    notes = send_back_notes(ctx.project.store, "sft_scenarios", sent_back)
    jobs = []
    for chunk_id in ctx.chunk_ids:
        mine = [r for r in rows if r.chunk_id == chunk_id]
        live = [r.user_prompt for r in mine if r.status in LIVE and r.user_prompt]
        for slot in range(ctx.scenarios):
            in_slot = [r for r in mine if r.slot == slot]
            if not in_slot:
                jobs.append(_job(ctx, chunk_id, slot, 0))
                continue
            attempt = max(r.attempt for r in in_slot)
            latest = [r for r in in_slot if r.attempt == attempt]
            back = next((r for r in latest if r.status == "sent_back"), None)
            if back is not None:
                previous = {"note": notes.get(back.id, ""), "previous_prompt": back.user_prompt, "parent": back.id}
                jobs.append(_job(ctx, chunk_id, slot, attempt + 1, avoid=live, **previous))
            elif latest[0].status == "duplicate" and attempt + 1 < ctx.config.max_scenario_attempts:
                avoid = [*live, latest[0].user_prompt or ""]
                jobs.append(_job(ctx, chunk_id, slot, attempt + 1, avoid=avoid, parent=latest[0].id))
    return jobs


def _insert_scenarios(ctx: SFTContext) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if not g.answered:
                continue  # the slot stays empty: the next run asks again (a permanent failure: if asked to)
            c = g.job.context
            draft = ScenarioDraft.model_validate(g.parsed) if g.ok and g.parsed else None
            status = "generated" if draft else g.status
            origin = "regenerated" if g.job.note is not None else "generated"
            con.execute(
                "INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, parent_id, origin,"
                " axes, situation, framing, scenario, user_prompt, note, generation_id, run_id, status, reason)"
                " VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                [
                    g.job.subject_id, ctx.version.id, c["chunk_id"], c["slot"], c["attempt"], c["parent_id"], origin,
                    json.dumps(c["axes"]), c["situation"], ctx.config.framing, draft.scenario if draft else None,
                    draft.user_prompt if draft else None, g.job.note, g.id, ctx.runner.run_id, status, g.reason,
                ],
            )  # fmt: skip

    return apply


async def check_near_duplicates(ctx: SFTContext) -> int:
    """Settle `generated` scenarios: `new`, or `duplicate` of a live scenario of the same trait."""
    rows = load_scenarios(ctx)
    moves: list[Move] = []
    for chunk_id in ctx.chunk_ids:
        kept = [r for r in rows if r.chunk_id == chunk_id and r.status in LIVE and r.user_prompt]
        fresh = [r for r in rows if r.chunk_id == chunk_id and r.status == "generated"]
        matches = await find_duplicates(
            ctx.project, [r.user_prompt or "" for r in kept], [r.user_prompt or "" for r in fresh],
            ctx.config.near_duplicate_similarity, stage="sft.scenario", run_id=ctx.runner.run_id,
        )  # fmt: skip
        pool = kept + fresh
        for row, match in zip(fresh, matches, strict=True):
            if match is None:
                moves.append(Move(row.id, read="generated", status="new"))
            else:
                reason = f"near-duplicate of scenario {pool[match.index].id} (cosine {match.similarity:.3f})"
                moves.append(Move(row.id, read="generated", status="duplicate", reason=reason))
    if not moves:
        return 0
    with ctx.project.store.transaction() as con:
        moved = move_rows(con, "sft_scenarios", moves)
    return sum(1 for m in moves if m.status == "duplicate" and m.id in moved)


def seed_scenarios(ctx: SFTContext) -> None:
    """Write question i of each trait into its slot i, while that slot is empty, awaiting the duplicate check.

    A question the document wrote for a trait puts that trait at stake: its row is `trait_on`
    (the column's default) whatever the slot's draw.
    """
    if ctx.config.seed_prompts == "off":
        return
    taken = {(r.chunk_id, r.slot) for r in load_scenarios(ctx)}
    seeds = [
        [scenario_id(ctx.version.id, trait.id, slot, 0, 0), ctx.version.id, trait.id, slot, ctx.config.framing,
         SEEDED_SCENARIO, question, ctx.runner.run_id]
        for trait in ctx.traits
        for slot, question in enumerate(trait.questions[: ctx.scenarios])
        if (trait.id, slot) not in taken
    ]  # fmt: skip
    if seeds:
        with ctx.project.store.transaction() as con:
            con.executemany(
                "INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, origin, axes, framing,"
                " scenario, user_prompt, run_id, status) VALUES (?, ?, ?, ?, 0, 0, 'seeded', '{}', ?, ?, ?, ?,"
                " 'generated') ON CONFLICT (id) DO NOTHING",
                seeds,
            )


async def generate_scenarios(ctx: SFTContext) -> StepReport:
    """Fill every slot of every trait (seeded ones first), retrying near-duplicates and sent-back scenarios."""
    report = StepReport("scenario")
    seed_scenarios(ctx)
    tried: set[str] = set()  # once per run: a slot left empty by a transport error waits for the next run
    for _ in range(ctx.config.max_scenario_attempts + 1):
        await check_near_duplicates(ctx)
        jobs = [job for job in scenario_jobs(ctx) if job.subject_id not in tried]
        if not jobs:
            break
        tried.update(job.subject_id for job in jobs)
        report.merge(await ctx.runner.run_jobs("scenario", "generator", jobs, apply=_insert_scenarios(ctx)))
        if report.halted:
            break
    await check_near_duplicates(ctx)
    return report
