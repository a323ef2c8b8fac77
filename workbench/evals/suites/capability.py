"""Capability: did trait training cost general ability? A side-by-side win rate against the baseline model.

    workbench eval run --suite capability --model hf:/ckpt                          # vs the `baseline` role
    workbench eval run --suite capability --model hf:/ckpt --set baseline_model=hf:BASE
    workbench eval run --suite capability --model hf:BASE --set baseline_model=hf:BASE   # A-vs-A: about 0.5

Each case is an ordinary prompt (coding, arithmetic, writing, explanation ...). The target and the
baseline answer it as it stands (the baseline with no system prompt; the target with whatever its
arm adds), with the same `max_tokens`. The baseline is the model spec in the `baseline_model`
setting, or else the project's `baseline` role. The traits document is not used (`--traits` is
optional and changes nothing but the run's identity).

A pairwise `judge` compares the two answers twice, with the positions swapped (the target as A,
then as B), to cancel its position bias. The case's outcome for the target: 1 if both orders
prefer it, 0 if both prefer the baseline, and 0.5 otherwise: a tie, or orders that disagree (a
win in one order and a tie in the other also counts as a tie). The run's mean is the win rate;
0.5 means no regression. A judge that always picks the same position therefore gives exactly
0.5, which is the A-vs-A sanity check. Both verdicts and both rationales are stored.

Outcomes: no reply from the target or from the baseline is *invalid*; a judge that refuses or
answers unparsably in either order is *judge_failed*.

Settings (`--set`): `baseline_model` (a model spec), `max_tokens` (both answers' length limit).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field

from workbench.evals.base import Case, Sample, Suite
from workbench.evals.context import EvalContext
from workbench.evals.suites.knowledge import TargetReply, as_reply, target_reply
from workbench.llm.types import LLMRequest, SamplingParams

TEMPLATE = "eval_pairwise"
Winner = Literal["target", "baseline", "tie"]


class CapabilityCase(Case):
    """One general-purpose prompt."""

    prompt: str = Field(min_length=1, description="The user's prompt, answered by both models as it stands.")


class PairwiseVerdict(BaseModel):
    """Which of two answers to one prompt is better."""

    rationale: str = Field(description="The concrete differences that decided it, quoting the answers where useful.")
    winner: Literal["A", "B", "tie"] = Field(
        description="The better answer: A, B, or tie if neither is clearly better."
    )


async def baseline_reply(ctx: EvalContext, prompt: str) -> tuple[TargetReply, str]:
    """The baseline's answer (no system prompt) and the model spec that gave it."""
    spec = ctx.setting("baseline_model", None)
    request = LLMRequest.from_prompt(prompt, params=SamplingParams(max_output_tokens=ctx.setting("max_tokens", None)))
    result = await ctx.gateway.call(request, role=None if spec else "baseline", model=str(spec) if spec else None)
    return as_reply(result, "the baseline"), result.model


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


async def run_case(ctx: EvalContext, case: CapabilityCase) -> Sample:
    """Both models answer; the judge compares them in both orders."""
    (target, (baseline, baseline_model)) = await asyncio.gather(
        target_reply(ctx, case.prompt), baseline_reply(ctx, case.prompt)
    )
    transcript: list[dict[str, Any]] = [{"role": "user", "content": case.prompt}]
    details: dict[str, Any] = {"baseline_model": baseline_model}
    for name, reply in (("target", target), ("baseline", baseline)):
        if reply.text is not None:
            transcript.append({"role": "assistant", "source": name, "content": reply.text})
            details[f"{name}_truncated"] = reply.truncated
    if target.text is None or baseline.text is None:
        reason = target.reason if target.text is None else baseline.reason
        return Sample("invalid", transcript=transcript, reason=reason, details=details)
    orders = (("target_as_a", target.text, baseline.text, True), ("target_as_b", baseline.text, target.text, False))
    results = await asyncio.gather(*(
        ctx.ask("judge", TEMPLATE, schema=PairwiseVerdict, prompt=case.prompt, answer_a=a, answer_b=b)
        for _, a, b, _ in orders
    ))  # fmt: skip
    verdicts: dict[str, Winner] = {}
    rationales: list[str] = []
    failures: list[str] = []
    for (order, _, _, target_is_a), result in zip(orders, results, strict=True):
        if not result.ok or result.parsed is None:
            details[f"{order}_judge_text"] = result.text
            failures.append(f"target as {order[-1].upper()}: {result.status}: {result.error}")
            continue
        verdict = PairwiseVerdict.model_validate(result.parsed)
        verdicts[order] = winner(verdict.winner, target_is_a=target_is_a)
        details[f"{order}_raw"] = verdict.winner
        rationales.append(f"Target as {order[-1].upper()}, verdict {verdicts[order]}: {verdict.rationale.strip()}")
    if failures:
        reason = f"the judge gave no verdict ({'; '.join(failures)})"
        return Sample("judge_failed", scores=dict(verdicts), transcript=transcript,
                      rationale="\n\n".join(rationales) or None, reason=reason, details=details)  # fmt: skip
    score = outcome(verdicts["target_as_a"], verdicts["target_as_b"])
    return Sample("ok", score=score, scores={**verdicts, "outcome": score}, transcript=transcript,
                  rationale="\n\n".join(rationales), details=details)  # fmt: skip


SUITE = Suite(
    name="capability",
    case_model=CapabilityCase,
    run_case=run_case,
    description="General prompts; win rate against the baseline model, judged in both orders (0.5: no regression).",
    score_range=(0.0, 1.0),
    higher_is_better=True,
)
