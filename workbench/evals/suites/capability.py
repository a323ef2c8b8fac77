"""Capability: did trait training cost general ability? A side-by-side win rate against the 0%-synthetic arm.

    workbench eval run --suite capability --model hf:/ckpt-f50 --set baseline_model=hf:/ckpt-f0   # the SxS
    workbench eval run --suite capability --model hf:/ckpt-f50   # vs the stored 0% arm trained the same way
    workbench eval run --suite capability --model hf:BASE --set baseline_model=hf:BASE   # A-vs-A: about 0.5
    workbench eval rejudge RUN --judge gemini:gemini-3-pro --judge openai:...  # judge the pairs again

Each case is an ordinary prompt (coding, arithmetic, writing, explanation ...). The target and the
opponent answer it as it stands (the opponent with no system prompt; the target with whatever its
arm adds), with the same `max_tokens`, epoch (sample index) and temperature. The opponent is the
model spec in the `baseline_model` setting; else, when the target is a stored checkpoint, the
newest stored 0%-synthetic checkpoint trained the same way; else the project's `baseline` role. It should be
the arm trained the same way on 0% synthetic data, so that the win rate measures what the
synthetic data cost; `capability_opponent.py` recognises it from the store, and a sample keeps
what it found in details["opponent"] with a warning in details["opponent_warning"] when the
opponent is the untrained start (or another arm, or trained another way). The traits document
is not used (`--traits` is optional and changes nothing but the run's identity).

Every judge of the run's panel (`--judge`, else the `judge` role) compares the two answers twice,
with the positions swapped (the target as A, then as B), to cancel its position bias. A judge's
outcome for the target: 1 if both its orders prefer the target, 0 if both prefer the opponent,
0.5 otherwise (a tie, or orders that disagree; a win in one order and a tie in the other also
counts as a tie). The sample's score is the median of the judges' outcomes (with two judges it
can be 0.25 or 0.75); `scores["judges"]` holds each judge's outcome, and the rationales shown are
those of the judge nearest the median. The run's mean is the win rate; 0.5 means no regression.
A judge that always picks the same position gives exactly 0.5: the A-vs-A sanity check.

Outcomes: no reply from the target or from the opponent is *invalid*; when no judge gives a
verdict in both orders the sample is *judge_failed* (a judge that fails in one order is left out
of the median and named in `scores["judge_failures"]`).

Settings (`--set`): `baseline_model` (a model spec), `max_tokens` (both answers' length limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from workbench.evals.base import Case, Sample, Suite
from workbench.evals.context import EvalContext
from workbench.evals.judging import Panel, add_verdict
from workbench.evals.suites.capability_opponent import opponent_spec, recognise
from workbench.evals.suites.knowledge import TargetReply, as_reply, target_reply
from workbench.llm.types import LLMRequest, SamplingParams

TEMPLATE = "eval_pairwise"
Winner = Literal["target", "baseline", "tie"]
PLAYED = ("baseline_model", "target_truncated", "baseline_truncated", "opponent", "opponent_warning")


class CapabilityCase(Case):
    """One general-purpose prompt."""

    prompt: str = Field(min_length=1, description="The user's prompt, answered by both models as it stands.")
    category: str = Field("", description="What kind of prompt: writing, reasoning, coding, advice ... (for grouping).")


class PairwiseVerdict(BaseModel):
    """Which of two answers to one prompt is better."""

    rationale: str = Field(description="The concrete differences that decided it, quoting the answers where useful.")
    winner: Literal["A", "B", "tie"] = Field(
        description="The better answer: A, B, or tie if neither is clearly better."
    )


def winner(label: str, *, target_is_a: bool) -> Winner:
    """Which model a verdict of "A", "B" or "tie" prefers, given the position the target was shown in."""
    if label == "tie":
        return "tie"
    return "target" if (label == "A") == target_is_a else "baseline"


def outcome(first: Winner, second: Winner) -> float:
    """The target's outcome from the two orders' verdicts: a win or a loss only when both agree."""
    if first == second == "target":
        return 1.0
    if first == second == "baseline":
        return 0.0
    return 0.5


class BothOrders(BaseModel):
    """One judge's verdicts on a pair of answers, in both orders."""

    target_as_a: PairwiseVerdict = Field(description="The verdict with the target's answer shown as A.")
    target_as_b: PairwiseVerdict = Field(description="The verdict with the target's answer shown as B.")

    def winners(self) -> tuple[Winner, Winner]:
        """Whom each order prefers."""
        return winner(self.target_as_a.winner, target_is_a=True), winner(self.target_as_b.winner, target_is_a=False)

    def outcome(self) -> float:
        """This judge's outcome for the target (1, 0.5 or 0)."""
        return outcome(*self.winners())


async def baseline_reply(ctx: EvalContext, prompt: str, spec: str) -> TargetReply:
    """The opponent's answer (no system prompt), sampled as the target's is in this epoch."""
    params = SamplingParams(temperature=ctx.temperature, max_output_tokens=ctx.setting("max_tokens", None))
    request = LLMRequest.from_prompt(prompt, params=params, sample_index=ctx.epoch)
    return as_reply(await ctx.gateway.call(request, model=spec), "the baseline")


def _both_orders(as_a: Panel[PairwiseVerdict], as_b: Panel[PairwiseVerdict]) -> Panel[BothOrders]:
    """Per judge, its verdicts in both orders; a judge that failed either order is a failure."""
    panel: Panel[BothOrders] = Panel()
    judges = dict.fromkeys([*as_a.verdicts, *as_a.failures, *as_b.verdicts, *as_b.failures])  # in the run's order
    for judge in judges:
        if judge in as_a.verdicts and judge in as_b.verdicts:
            both = BothOrders(target_as_a=as_a.verdicts[judge], target_as_b=as_b.verdicts[judge])
            add_verdict(panel, judge, both, BothOrders.outcome)
            continue
        failed = [f"target as {order}: {p.failures[judge]}" for order, p in (("A", as_a), ("B", as_b))
                  if judge in p.failures]  # fmt: skip
        panel.failures[judge] = "; ".join(failed)
    return panel


def _preference(target_is_a: bool) -> Callable[[PairwiseVerdict], float]:
    """A one-order verdict's score for the target: 1 preferred, 0.5 tie, 0 not."""
    return lambda v: {"target": 1.0, "tie": 0.5, "baseline": 0.0}[winner(v.winner, target_is_a=target_is_a)]


async def judge(ctx: EvalContext, case: CapabilityCase, played: Sample) -> Sample:
    """Have the run's judges compare the played pair of answers in both orders."""
    prompt = played.transcript[0]["content"]
    answers = {turn["source"]: turn["content"] for turn in played.transcript[1:]}
    target, opponent = answers["target"], answers["baseline"]
    details = {k: played.details[k] for k in PLAYED if k in played.details}
    as_a, as_b = await asyncio.gather(
        ctx.judge(TEMPLATE, schema=PairwiseVerdict, score=_preference(True), prompt=prompt, answer_a=target,
                  answer_b=opponent),
        ctx.judge(TEMPLATE, schema=PairwiseVerdict, score=_preference(False), prompt=prompt, answer_a=opponent,
                  answer_b=target),
    )  # fmt: skip
    panel = _both_orders(as_a, as_b)
    if not panel.ok:
        return panel.failed_sample(played.transcript, details)
    shown = panel.verdict
    first, second = shown.winners()
    details |= {"target_as_a_raw": shown.target_as_a.winner, "target_as_b_raw": shown.target_as_b.winner}
    rationale = "\n\n".join(f"Target as {order}, verdict {won}: {verdict.rationale.strip()}" for order, won, verdict
                            in (("A", first, shown.target_as_a), ("B", second, shown.target_as_b)))  # fmt: skip
    scores = {"target_as_a": first, "target_as_b": second, "outcome": panel.score, **panel.record()}
    return Sample("ok", score=panel.score, scores=scores, transcript=played.transcript, rationale=rationale,
                  details=details)  # fmt: skip


async def run_case(ctx: EvalContext, case: CapabilityCase) -> Sample:
    """Both models answer; the judges compare them in both orders."""
    spec = opponent_spec(ctx.project, ctx.settings, target=ctx.model)
    opponent = await asyncio.to_thread(recognise, ctx.project, spec, target=ctx.model)
    target, baseline = await asyncio.gather(target_reply(ctx, case.prompt), baseline_reply(ctx, case.prompt, spec))
    transcript: list[dict[str, Any]] = [{"role": "user", "content": case.prompt}]
    details: dict[str, Any] = {"baseline_model": spec, "opponent": opponent.as_details()}
    if opponent.warning:
        details["opponent_warning"] = opponent.warning
    for name, reply in (("target", target), ("baseline", baseline)):
        if reply.text is not None:
            transcript.append({"role": "assistant", "source": name, "content": reply.text})
            details[f"{name}_truncated"] = reply.truncated
    if target.text is None or baseline.text is None:
        reason = target.reason if target.text is None else baseline.reason
        return Sample("invalid", transcript=transcript, reason=reason, details=details)
    return await judge(ctx, case, Sample("ok", transcript=transcript, details=details))


SUITE = Suite(
    name="capability",
    case_model=CapabilityCase,
    run_case=run_case,
    description="General prompts; win rate against the 0%-synthetic arm (or the baseline role), judged in both "
    "orders by each judge, the median outcome per prompt (0.5: no regression).",
    score_range=(0.0, 1.0),
    higher_is_better=True,
    judge=judge,
)
