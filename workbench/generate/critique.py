"""Steps 2-4: baseline answer, scenario critique (with bounded revision rounds), the human gate.

The `baseline` role (the model being trained) answers each new scenario with no system prompt.
The `critic` then judges the scenario against that answer: if a platitude already does, the
prompt is too easy and is rewritten to force engagement with the specifics (as much background
as the slot's `length` and `detail` allow). A revision is a new scenario row (round + 1) that goes
through baseline and critique again, up to `max_revision_rounds` revisions, so a scenario gets at
most `max_revision_rounds + 1` critiques; every round is kept. The critic sees the guidance and
boundaries beside the trait, and knows a trait-off scenario (an exception, an ordinary request)
is meant to leave the trait out of play: it keeps one for that instead of dropping it. A kept
scenario waits for a person (`needs_review`) unless the project sets `auto_approve_scenarios`.
"""

from __future__ import annotations

import duckdb

from workbench.generate.context import SFTContext
from workbench.generate.scenarios import ScenarioRow, background_level, load_scenarios, scenario_id
from workbench.generate.schemas import ScenarioCritique
from workbench.generate.steps import Apply, Generation, Job, StepReport, StoredGeneration, stable_id
from workbench.llm.types import LLMRequest
from workbench.store.transitions import Move, move_rows


def _baseline_id(scenario: str) -> str:
    return stable_id("baseline", scenario, "")


def baseline_jobs(ctx: SFTContext, scenarios: list[ScenarioRow]) -> list[Job]:
    """A baseline answer for each new scenario that has none yet."""
    done = ctx.runner.stored([_baseline_id(s.id) for s in scenarios])
    return [
        Job("baseline", s.id, LLMRequest.from_prompt(s.user_prompt or ""))
        for s in scenarios
        if _baseline_id(s.id) not in done
    ]


def _baseline_text(answer: StoredGeneration) -> str:
    if answer.ok and answer.text:
        return answer.text
    return f"(the baseline model gave no usable answer: {answer.status}: {answer.reason})"


def critique_jobs(ctx: SFTContext, scenarios: list[ScenarioRow]) -> list[Job]:
    """A critique for each new scenario whose baseline answer is in."""
    baselines = ctx.runner.stored([_baseline_id(s.id) for s in scenarios])
    rounds = ctx.config.max_revision_rounds + 1  # critiques a scenario can get: the first, one per revision
    jobs = []
    for s in scenarios:
        baseline = baselines.get(_baseline_id(s.id))
        if baseline is None:
            continue
        request = ctx.request(
            "scenario_critique", schema=ScenarioCritique, scenario=s.scenario or "", user_prompt=s.user_prompt or "",
            baseline=_baseline_text(baseline), round=s.round, max_rounds=rounds, situation=s.situation,
            background=background_level(ctx.config.axes, s.axes), **ctx.trait_variables(s.chunk_id),
        )  # fmt: skip
        jobs.append(Job("critique", s.id, request, context={"row": s}))
    return jobs


def _apply_critiques(ctx: SFTContext) -> Apply:
    kept_status = "ok" if ctx.config.auto_approve_scenarios else "needs_review"

    def verdict_move(row: ScenarioRow, g: Generation) -> Move:
        def settle(status: str, reason: str | None) -> Move:
            return Move(row.id, read=row.status, status=status, reason=reason)

        if not g.ok or g.parsed is None:
            return settle("needs_review", f"critique failed ({g.status}): {g.reason}")
        verdict = ScenarioCritique.model_validate(g.parsed)
        if verdict.verdict == "keep":
            return settle(kept_status, verdict.reasons)
        if verdict.verdict == "drop":
            return settle("filtered", f"dropped by the critic: {verdict.reasons}")
        if row.round < ctx.config.max_revision_rounds and verdict.revised_user_prompt:
            return settle("revised", verdict.reasons)
        still = f"the critic still asks for a revision after {row.round} round(s): {verdict.reasons}"
        return settle("needs_review", still)

    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        # A transport failure leaves the scenario new: the next run asks again.
        answered = [g for g in generations if g.answered]
        moves = [verdict_move(g.job.context["row"], g) for g in answered]
        moved = move_rows(con, "sft_scenarios", moves)
        for g, move in zip(answered, moves, strict=True):
            if move.status == "revised" and move.id in moved:  # not if a person decided meanwhile
                revised = ScenarioCritique.model_validate(g.parsed).revised_user_prompt or ""
                _insert_revision(con, ctx, g.job.context["row"], revised, g.id)

    return apply


def _insert_revision(
    con: duckdb.DuckDBPyConnection, ctx: SFTContext, row: ScenarioRow, prompt: str, generation_id: str
) -> None:
    child = scenario_id(ctx.version.id, row.chunk_id, row.slot, row.attempt, row.round + 1)
    con.execute(
        "INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, parent_id, origin, axes,"
        " situation, framing, scenario, user_prompt, generation_id, run_id, status)"
        " SELECT ?, traits_version, chunk_id, slot, attempt, ?, id, 'revised', axes, situation, framing, scenario,"
        " ?, ?, ?, 'new'"
        " FROM sft_scenarios WHERE id = ? ON CONFLICT (id) DO NOTHING",
        [child, row.round + 1, prompt, generation_id, ctx.runner.run_id, row.id],
    )


async def critique_scenarios(ctx: SFTContext) -> list[StepReport]:
    """Baseline and critique every new scenario, following revisions until none are new."""
    baseline, critique = StepReport("baseline"), StepReport("critique")
    tried: set[str] = set()  # once per run: a scenario left new by a transport error waits for the next run
    for _ in range(ctx.config.max_revision_rounds + 2):
        fresh = [s for s in load_scenarios(ctx, ("new",)) if s.id not in tried]
        if not fresh:
            break
        tried.update(s.id for s in fresh)
        baseline.merge(await ctx.runner.run_jobs("baseline", "baseline", baseline_jobs(ctx, fresh)))
        jobs = critique_jobs(ctx, fresh)
        critique.merge(await ctx.runner.run_jobs("critique", "critic", jobs, apply=_apply_critiques(ctx)))
        if baseline.halted or critique.halted or not jobs:
            break
    return [baseline, critique]
