"""Steps 5-7: the conditioned answer, its refinement, the optional rejected answer; examples.

* conditioned — the `generator` answers an approved scenario's prompt with the trait and the
  holistic guidance in its system prompt (stored beside the row, never in training text).
  An example a reviewer sent back is answered again with the reviewer's note in that prompt.
  A trait-off scenario's answer (an exception, an ordinary request) is told to keep the trait out.
* refined — the `critic`, in a fresh context, rewrites the answer towards the trait, in proportion
  to the scenario's situation, and opens it the way the slot's `opening_for` says, so that the
  answers do not all begin with the same formula.
* rejected (when `preference` is on) — an answer made *without the trait in the system prompt*:
  by default (`[sft] rejected_source = "baseline"`, the seed's method) the `baseline` role's answer
  with no system prompt, the one the scenario critique already read; with `"contrastive"` the
  `generator` told to answer as an assistant lacking the trait. The `critic` checks that it does
  not embody the trait. A try that fails (the check finds the trait, or a call fails) is followed
  by a fresh sample from the same source, up to `rejected_regenerations` more, within the run;
  only an answer that passes becomes `rejected`. An example whose tries are all spent keeps its
  last try in `rejected_generation_id` (with that try's check, for a reviewer to read) and no
  `rejected`, and the assemble step counts it as `without_rejected` with the reason.
* assemble — every refined answer becomes an example row (`new`), linked to its scenario and,
  for a regeneration, to the example it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.generate.context import SFTContext
from workbench.generate.scenarios import TRAIT_ON, ScenarioRow, axes_for, load_scenarios
from workbench.generate.schemas import RejectedCheck
from workbench.generate.steps import Job, StepReport, StoredGeneration, stable_id
from workbench.llm.types import LLMRequest, Message

# How a refined reply begins, spread over each trait's slots (`opening_for`).
OPENINGS = (
    "Begin with the answer itself, or the one thing they most need to know.",
    "Begin from a specific detail of their message and what it means for them.",
    "Begin with the most useful next step they can take.",
    "Begin with a plain statement of where things stand.",
    "Begin with a short, direct reply to what they asked; the reasons can follow.",
)


def opening_for(seed: int, chunk_id: str, slot: int) -> str:
    """How the refined reply of a trait's slot begins: `OPENINGS` walked in a seeded order."""
    return axes_for({"opening": list(OPENINGS)}, seed, chunk_id, slot)["opening"]


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
    situations = {s.id: s.situation for s in load_scenarios(ctx)}
    return [
        Job("conditioned", sid, _system_request(ctx, "conditioned_system", chunk, prompt, note=note,
                                                situation=situations.get(sid, TRAIT_ON)), variant, note)
        for sid, chunk, variant, prompt, note in wanted
        if stable_id("conditioned", sid, variant) not in done
    ]  # fmt: skip


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
    scenarios = {s.id: s for s in load_scenarios(ctx)}
    jobs = []
    for a in answers:
        if stable_id("refined", a.id, "") in done:
            continue
        s = scenarios[a.scenario_id]
        variables = ctx.trait_variables(a.chunk_id) | {
            "situation": s.situation, "opening": opening_for(ctx.config.seed, a.chunk_id, s.slot),
        }  # fmt: skip
        request = ctx.request("refine", user_prompt=a.user_prompt, response=a.text, note=a.note, **variables)
        jobs.append(Job("refined", a.id, request, note=a.note))
    return jobs


@dataclass(frozen=True)
class Rejected:
    """Where a scenario's rejected answer stands.

    Attributes:
        try_index: The try in play (0 is the first), or the last one once every try is spent.
        generation_id: That try's answer (the baseline source's first try: the critique step's baseline answer).
        answer: Its stored answer; None while it is still to be asked.
        text: The answer that passed its check: the pair's rejected side.
        reason: Why there is no pair, once every try is spent.
    """

    try_index: int
    generation_id: str
    answer: StoredGeneration | None = None
    text: str | None = None
    reason: str | None = None

    @property
    def settled(self) -> bool:
        """Whether nothing more is to be asked: a try passed, or every try is spent."""
        return self.text is not None or self.reason is not None


def _try_id(ctx: SFTContext, scenario_id: str, try_index: int) -> str:
    """The generation id of one try of a scenario's rejected answer."""
    if try_index == 0 and ctx.config.rejected_source == "baseline":
        return stable_id("baseline", scenario_id, "")  # asked by the critique step already
    return stable_id("rejected", scenario_id, str(try_index) if try_index else "")


def _check_id(generation_id: str) -> str:
    return stable_id("rejected_check", generation_id, "")


def _check_failure(check: StoredGeneration) -> str | None:
    """Why a checked try fails (the check failed, or it found the trait), or None if it passes."""
    if not check.ok or check.parsed is None:
        return f"the check ended {check.status}: {check.reason}"
    verdict = RejectedCheck.model_validate(check.parsed)
    return f"the check found the trait: {verdict.reasons}" if verdict.embodies_trait else None


def _rejected_states(ctx: SFTContext, scenario_ids: list[str]) -> dict[str, Rejected]:
    """Per scenario, where its rejected answer stands: its tries walked in order until one is open or passes."""
    tries = ctx.config.rejected_regenerations + 1
    ids = {sid: [_try_id(ctx, sid, k) for k in range(tries)] for sid in scenario_ids}
    answers = ctx.runner.stored([gid for found in ids.values() for gid in found])
    checks = ctx.runner.stored([_check_id(gid) for gid, answer in answers.items() if answer.ok])
    return {sid: _walk(ctx, found, answers, checks) for sid, found in ids.items()}


def _walk(
    ctx: SFTContext, ids: list[str], answers: dict[str, StoredGeneration], checks: dict[str, StoredGeneration]
) -> Rejected:
    """One scenario's state: the first try still to ask or check, the first that passed, or every try failed."""
    failure, answer = "", None
    for k, gid in enumerate(ids):
        answer = answers.get(gid)
        if answer is None and not (k == 0 and ctx.config.rejected_source == "baseline"):
            return Rejected(k, gid)
        if answer is None or not answer.ok:
            failure = "no baseline answer" if answer is None else f"the answer ended {answer.status}: {answer.reason}"
            continue
        check = checks.get(_check_id(gid))
        if check is None:
            return Rejected(k, gid, answer)
        failure = _check_failure(check) or ""
        if not failure:
            return Rejected(k, gid, answer, text=answer.text or "")
    return Rejected(len(ids) - 1, ids[-1], answer, reason=f"no rejected answer after {len(ids)} tries: {failure}")


def _rejected_request(ctx: SFTContext, scenario: ScenarioRow, try_index: int) -> LLMRequest:
    """A try's request: the bare prompt (baseline) or the contrastive system prompt, as a fresh sample."""
    prompt = scenario.user_prompt or ""
    if ctx.config.rejected_source == "contrastive":
        request = _system_request(ctx, "rejected_system", scenario.chunk_id, prompt)
    else:
        request = LLMRequest.from_prompt(prompt)
    # The sample index is part of the cache key (and the seed, where a backend takes one): a new answer per try.
    return replace(request, sample_index=try_index)


def rejected_jobs(ctx: SFTContext) -> list[Job]:
    """The open try of each approved scenario whose rejected answer is still to be asked."""
    scenarios = load_scenarios(ctx, ("ok",))
    states = _rejected_states(ctx, [s.id for s in scenarios])
    return [
        Job("rejected", s.id, _rejected_request(ctx, s, state.try_index), str(state.try_index or ""))
        for s in scenarios
        if (state := states[s.id]).answer is None and not state.settled
    ]


def rejected_check_jobs(ctx: SFTContext) -> list[Job]:
    """A check that the open try of each approved scenario really lacks the trait."""
    jobs = []
    scenarios = load_scenarios(ctx, ("ok",))
    states = _rejected_states(ctx, [s.id for s in scenarios])
    for s in scenarios:
        state = states[s.id]
        if state.settled or state.answer is None:
            continue
        request = ctx.request(
            "rejected_check", schema=RejectedCheck, user_prompt=s.user_prompt or "",
            response=state.answer.text or "", **ctx.trait_variables(s.chunk_id),
        )  # fmt: skip
        jobs.append(Job("rejected_check", state.generation_id, request))
    return jobs


async def reject_answers(ctx: SFTContext) -> list[StepReport]:
    """Rejected answers and their checks, each failed try followed by a new one within the run (bounded)."""
    role = "baseline" if ctx.config.rejected_source == "baseline" else "generator"
    answers, checks = StepReport("rejected"), StepReport("rejected_check")
    tried: set[str] = set()  # once per run: a call left unanswered waits for the next run
    for _ in range(ctx.config.rejected_regenerations + 1):
        jobs = [j for j in rejected_jobs(ctx) if j.generation_id not in tried]
        tried.update(j.generation_id for j in jobs)
        answers.merge(await ctx.runner.run_jobs("rejected", role, jobs))
        if answers.halted:
            break
        check_jobs = [j for j in rejected_check_jobs(ctx) if j.generation_id not in tried]
        tried.update(j.generation_id for j in check_jobs)
        checks.merge(await ctx.runner.run_jobs("rejected_check", "critic", check_jobs))
        if checks.halted or not (jobs or check_jobs):
            break
    return [answers, checks]


def assemble_examples(ctx: SFTContext) -> StepReport:
    """Turn each refined answer into an example row (status `new`)."""
    answers = load_answers(ctx)
    report = StepReport("assemble", jobs=len(answers))
    refined = ctx.runner.stored([stable_id("refined", a.id, "") for a in answers])
    with ctx.project.store.connect() as con:
        found = con.execute("SELECT id FROM sft_examples WHERE traits_version = ?", [ctx.version.id]).fetchall()
    existing = {r[0] for r in found}
    scenario_prompts = {s.id: s.user_prompt for s in load_scenarios(ctx)}
    states = _rejected_states(ctx, sorted({a.scenario_id for a in answers})) if ctx.config.preference else {}
    rejected = {sid: state for sid, state in states.items() if state.settled}
    rows, unpaired = [], []
    for a in answers:
        example_id = stable_id("example", a.id)
        final = refined.get(stable_id("refined", a.id, ""))
        if example_id in existing or final is None or not final.ok:
            continue
        if ctx.config.preference and a.scenario_id not in rejected:
            continue  # its rejected answer is still on its way
        pair = rejected.get(a.scenario_id) if scenario_prompts.get(a.scenario_id) == a.user_prompt else None
        if pair is not None and pair.reason:
            unpaired.append(pair.reason)
        rows.append([
            example_id, a.scenario_id, ctx.version.id, a.chunk_id, a.variant or None,
            "regenerated" if a.variant else "generated", a.user_prompt, final.text, final.id,
            pair.text if pair else None, pair.generation_id if pair else None, a.note, ctx.runner.run_id,
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
    if unpaired:  # kept for SFT, left out of preference data: said, never silent
        report.count("without_rejected", len(unpaired), reason=unpaired[0])
    return report
