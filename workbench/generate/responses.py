"""Steps 5-7: the conditioned answer, its refinement, the optional rejected answer; examples.

* conditioned — the `generator` answers an approved scenario's prompt with the trait and the
  holistic guidance in its system prompt (stored beside the row, never in training text).
  An example a reviewer sent back is answered again with the reviewer's note in that prompt.
* refined — the `critic`, in a fresh context, rewrites the answer towards the trait.
* rejected (when `preference` is on) — the `generator` answers without the trait; the `critic`
  checks that the answer indeed does not embody it. Only answers that pass become `rejected`.
* assemble — every refined answer becomes an example row (`new`), linked to its scenario and,
  for a regeneration, to the example it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.generate.context import SFTContext
from workbench.generate.scenarios import load_scenarios
from workbench.generate.schemas import RejectedCheck
from workbench.generate.steps import Job, StepReport, stable_id
from workbench.llm.types import LLMRequest, Message


@dataclass(frozen=True)
class Answer:
    """A conditioned answer that is ready for the next step."""

    id: str
    scenario_id: str
    chunk_id: str
    variant: str
    user_prompt: str
    text: str
    note: str | None


def _system_request(ctx: SFTContext, template: str, chunk_id: str, user_prompt: str, **extra: object) -> LLMRequest:
    """A request whose *system* prompt is the rendered template and whose user turn is the prompt."""
    prompt = ctx.template(template)
    system = prompt.render(**ctx.trait_variables(chunk_id), **extra)
    return LLMRequest(messages=(Message("user", user_prompt),), system=system, template_hash=prompt.hash)


def _sent_back_examples(ctx: SFTContext) -> list[tuple[str, str, str, str, str | None]]:
    """(example id, scenario id, chunk id, user prompt, note) of examples a reviewer sent back."""
    with ctx.project.store.connect() as con:
        return con.execute(
            "SELECT e.id, e.scenario_id, e.chunk_id, e.user_prompt,"
            " (SELECT arg_max(note, created_at) FROM review_events r WHERE r.item_table = 'sft_examples'"
            "  AND r.item_id = e.id AND r.action = 'regenerate')"
            " FROM sft_examples e WHERE e.status = 'sent_back' AND e.traits_version = ?"
            " AND e.chunk_id IN (SELECT unnest(?)) ORDER BY e.created_at, e.id",
            [ctx.version.id, ctx.chunk_ids],
        ).fetchall()


def conditioned_jobs(ctx: SFTContext) -> list[Job]:
    """Answers for approved scenarios, and new answers for sent-back examples."""
    wanted = [(s.id, s.chunk_id, "", s.user_prompt or "", None) for s in load_scenarios(ctx, ("ok",))] + [
        (sid, chunk, example, prompt, note or "") for example, sid, chunk, prompt, note in _sent_back_examples(ctx)
    ]
    done = ctx.runner.stored([stable_id("conditioned", sid, variant) for sid, _, variant, _, _ in wanted])
    return [
        Job("conditioned", sid, _system_request(ctx, "conditioned_system", chunk, prompt, note=note), variant, note)
        for sid, chunk, variant, prompt, note in wanted
        if stable_id("conditioned", sid, variant) not in done
    ]


def load_answers(ctx: SFTContext) -> list[Answer]:
    """Conditioned answers (status ok) for this run's traits, with the prompt they answer."""
    with ctx.project.store.connect() as con:
        rows = con.execute(
            "SELECT g.id, g.subject_id, s.chunk_id, g.variant, coalesce(e.user_prompt, s.user_prompt), g.text, g.note"
            " FROM sft_generations g JOIN sft_scenarios s ON s.id = g.subject_id"
            " LEFT JOIN sft_examples e ON e.id = g.variant"
            " WHERE g.step = 'conditioned' AND g.status = 'ok' AND s.traits_version = ?"
            " AND s.chunk_id IN (SELECT unnest(?)) ORDER BY g.created_at, g.id",
            [ctx.version.id, ctx.chunk_ids],
        ).fetchall()
    return [Answer(*row) for row in rows]


def refine_jobs(ctx: SFTContext, answers: list[Answer]) -> list[Job]:
    """A refinement, in a separate context, of each conditioned answer."""
    done = ctx.runner.stored([stable_id("refined", a.id, "") for a in answers])
    jobs = []
    for a in answers:
        if stable_id("refined", a.id, "") in done:
            continue
        variables = ctx.trait_variables(a.chunk_id)
        request = ctx.request("refine", user_prompt=a.user_prompt, response=a.text, note=a.note, **variables)
        jobs.append(Job("refined", a.id, request, note=a.note))
    return jobs


def rejected_jobs(ctx: SFTContext) -> list[Job]:
    """A trait-less answer for each approved scenario."""
    scenarios = load_scenarios(ctx, ("ok",))
    done = ctx.runner.stored([stable_id("rejected", s.id, "") for s in scenarios])
    return [
        Job("rejected", s.id, _system_request(ctx, "rejected_system", s.chunk_id, s.user_prompt or ""))
        for s in scenarios
        if stable_id("rejected", s.id, "") not in done
    ]


def rejected_check_jobs(ctx: SFTContext) -> list[Job]:
    """A check that each rejected answer really lacks the trait."""
    scenarios = {s.id: s for s in load_scenarios(ctx, ("ok",))}
    answers = ctx.runner.stored([stable_id("rejected", sid, "") for sid in scenarios])
    answers = {k: v for k, v in answers.items() if v.ok}
    done = ctx.runner.stored([stable_id("rejected_check", gid, "") for gid in answers])
    jobs = []
    for gid, answer in answers.items():
        if stable_id("rejected_check", gid, "") in done:
            continue
        s = scenarios[answer.subject_id]
        request = ctx.request(
            "rejected_check", schema=RejectedCheck, user_prompt=s.user_prompt or "", response=answer.text or "",
            **ctx.trait_variables(s.chunk_id),
        )  # fmt: skip
        jobs.append(Job("rejected_check", gid, request))
    return jobs


def _rejected_for(ctx: SFTContext, scenario_ids: list[str]) -> dict[str, tuple[str, str] | None]:
    """Per scenario: (rejected generation id, text) if it passed its check, None if it is settled
    without one (failed or embodies the trait); absent while still pending."""
    answers = ctx.runner.stored([stable_id("rejected", sid, "") for sid in scenario_ids])
    checks = ctx.runner.stored([stable_id("rejected_check", gid, "") for gid in answers])
    settled: dict[str, tuple[str, str] | None] = {}
    for gid, answer in answers.items():
        if not answer.ok:
            settled[answer.subject_id] = None
            continue
        check = checks.get(stable_id("rejected_check", gid, ""))
        if check is None:
            continue
        passed = check.ok and check.parsed is not None and not RejectedCheck.model_validate(check.parsed).embodies_trait
        settled[answer.subject_id] = (gid, answer.text or "") if passed else None
    return settled


def assemble_examples(ctx: SFTContext) -> StepReport:
    """Turn each refined answer into an example row (status `new`)."""
    answers = load_answers(ctx)
    report = StepReport("assemble", jobs=len(answers))
    refined = ctx.runner.stored([stable_id("refined", a.id, "") for a in answers])
    with ctx.project.store.connect() as con:
        found = con.execute("SELECT id FROM sft_examples WHERE traits_version = ?", [ctx.version.id]).fetchall()
    existing = {r[0] for r in found}
    scenario_prompts = {s.id: s.user_prompt for s in load_scenarios(ctx)}
    rejected = _rejected_for(ctx, sorted({a.scenario_id for a in answers})) if ctx.config.preference else {}
    rows = []
    for a in answers:
        example_id = stable_id("example", a.id)
        final = refined.get(stable_id("refined", a.id, ""))
        if example_id in existing or final is None or not final.ok:
            continue
        if ctx.config.preference and a.scenario_id not in rejected:
            continue  # its rejected answer is still on its way
        pair = rejected.get(a.scenario_id) if scenario_prompts.get(a.scenario_id) == a.user_prompt else None
        rows.append([
            example_id, a.scenario_id, ctx.version.id, a.chunk_id, a.variant or None,
            "regenerated" if a.variant else "generated", a.user_prompt, final.text, final.id,
            pair[1] if pair else None, pair[0] if pair else None, a.note, ctx.runner.run_id,
        ])  # fmt: skip
    if rows:
        with ctx.project.store.transaction() as con:
            con.executemany(
                "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, parent_id, origin, user_prompt,"
                " response, response_generation_id, rejected, rejected_generation_id, note, run_id, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new') ON CONFLICT (id) DO NOTHING",
                rows,
            )
    report.count("new", len(rows))
    return report
