"""Patterns: how often the patterns a pattern audit found in training data show up in the model's own answers.

    workbench eval run --suite patterns --model hf:/ckpt --set audit=AUDIT_ID
    workbench eval run --suite patterns --model hf:BASE --set audit=AUDIT_ID          # before training

Each case is a prompt of the kind the training data answers (advice, support, explanation). The
target answers it; then the audit's `rater` checks the answer against every *active* pattern of
the audit (the `audit` setting: an audit id, id prefix, or its dataset's name; required), with the
audit's own prompt (`audit_rate`), criteria and parsing, so the data and the model are measured
alike. The answer is shown as the audit shows a chat row (`USER: ...` / `ASSISTANT: ...`), and
the patterns go `patterns_per_call` ([audit]) to a call. A sample's score is the fraction of the
patterns present at the *strict* level in its answer (lower is better); `scores` maps each
pattern's name to its level (strict, broad or absent), and the broad fraction is in `details`.

Design: the answers are rated one per case, here, through the eval's own gateway, rather than
collected and passed to `workbench.audit.filters.rate_outputs`. That function rates a whole set
in a recorded audit run with its own gateway and budget, saves a dataset per call, and leaves a
failed rating as "unrated" to be retried by a later audit run; a per-case eval needs a verdict per
answer now, the eval's cache, budget and ledger, and a judge failure it can count. The rater
gives matches without reasons, so the rationale lists each pattern's level with the criterion it
met; the rater's raw answers are kept in `details`.

Outcomes: no reply from the target is *invalid*; a rating call that is refused, unparsable, or
leaves a pattern out is *judge_failed* (the levels it did give are kept in `scores`).

Settings (`--set`): `audit` (required), `max_tokens` (the target's answer length limit).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from workbench.audit.audits import get_audit
from workbench.audit.formats import transcript as render_chat
from workbench.audit.patterns import Pattern, list_patterns
from workbench.audit.rate import levels_from_answer
from workbench.audit.schemas import BatchRatings
from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Sample, Suite
from workbench.evals.context import EvalContext
from workbench.evals.suites.knowledge import target_reply

TEMPLATE = "audit_rate"
ROW = "R1"  # the one row of each rating call


class PatternsCase(Case):
    """One prompt whose answer is checked for the audit's patterns."""

    prompt: str = Field(min_length=1, description="The user's prompt, answered by the target as it stands.")


def audit_patterns(ctx: EvalContext) -> tuple[str, list[Pattern]]:
    """The audit named by the `audit` setting and its active patterns.

    Raises:
        WorkbenchError: no `audit` setting, no such audit, or an audit with no active pattern.
    """
    ref = ctx.setting("audit", None)
    if ref is None or not str(ref).strip():
        raise WorkbenchError(
            "The patterns suite measures the patterns of a pattern audit: name the audit.",
            hint="Pass --set audit=AUDIT (an audit id or its dataset's name; see `workbench audit list`).",
        )
    audit = get_audit(ctx.project, str(ref).strip())
    patterns = list_patterns(ctx.project, audit.id)
    if not patterns:
        raise WorkbenchError(f"Audit {audit.id} has no active patterns to measure.",
                             hint="Run the audit, or add a pattern with `workbench audit pattern add`.")  # fmt: skip
    return audit.id, patterns


def _names(patterns: list[Pattern]) -> dict[str, str]:
    """Pattern id -> the key its level is stored under: its name (with its id if two share it)."""
    counts: dict[str, int] = {}
    for p in patterns:
        counts[p.name] = counts.get(p.name, 0) + 1
    return {p.id: p.name if counts[p.name] == 1 else f"{p.name} ({p.id[:8]})" for p in patterns}


async def rate_answer(
    ctx: EvalContext, patterns: list[Pattern], text: str
) -> tuple[dict[str, str], list[str], list[Any]]:
    """Rate one rendered answer against `patterns`: (pattern id -> level, failures, the rater's raw answers)."""
    size = ctx.project.config.audit.patterns_per_call
    blocks = [patterns[i : i + size] for i in range(0, len(patterns), size)]
    shown = [[{"label": f"P{i + 1}", "name": p.name, "description": p.description, "broad": p.broad,
               "strict": p.strict} for i, p in enumerate(block)] for block in blocks]  # fmt: skip
    results = await asyncio.gather(*(
        ctx.ask("rater", TEMPLATE, schema=BatchRatings, patterns=s, rows=[{"label": ROW, "text": text}]) for s in shown
    ))  # fmt: skip
    levels: dict[str, str] = {}
    failures: list[str] = []
    raw: list[Any] = []
    for block, result in zip(blocks, results, strict=True):
        raw.append(result.parsed if result.ok else result.text)
        if not result.ok or result.parsed is None:
            failures.append(f"{result.status}: {result.error}")
            continue
        labels = {f"P{i + 1}": p for i, p in enumerate(block)}
        found = levels_from_answer(BatchRatings.model_validate(result.parsed), dict(labels), {ROW: ROW})
        levels.update({labels[label].id: by_row[ROW] for label, by_row in found.items()})
        left_out = [p.name for p in block if p.id not in levels]
        if left_out:
            failures.append(f"the rater left out {', '.join(left_out)}")
    return levels, failures, raw


def _rationale(patterns: list[Pattern], names: dict[str, str], levels: dict[str, str]) -> str:
    lines = []
    for p in patterns:
        level = levels.get(p.id)
        meaning = {"strict": f"strict: {p.strict}", "broad": f"broad only: {p.broad}", "absent": "absent"}
        lines.append(f"- {names[p.id]}: {meaning.get(level or '', 'not rated')}")
    return "\n".join(lines)


async def run_case(ctx: EvalContext, case: PatternsCase) -> Sample:
    """The target answers; the audit's rater checks the answer for each active pattern."""
    audit_id, patterns = audit_patterns(ctx)
    chat: list[dict[str, Any]] = [{"role": "user", "content": case.prompt}]
    reply = await target_reply(ctx, case.prompt)
    if reply.text is None:
        return Sample("invalid", transcript=chat, reason=reply.reason)
    chat.append({"role": "assistant", "content": reply.text})
    levels, failures, raw = await rate_answer(
        ctx, patterns, render_chat([("user", case.prompt), ("assistant", reply.text)])
    )
    names = _names(patterns)
    scores = {names[p.id]: levels[p.id] for p in patterns if p.id in levels}
    details: dict[str, Any] = {
        "audit_id": audit_id, "truncated": reply.truncated, "rater_answers": raw,
        "patterns": [{"id": p.id, "name": p.name, "criteria_hash": p.criteria_hash} for p in patterns],
    }  # fmt: skip
    rationale = _rationale(patterns, names, levels)
    if failures:
        return Sample("judge_failed", scores=scores, transcript=chat, rationale=rationale, details=details,
                      reason=f"the rating failed ({'; '.join(failures)})")  # fmt: skip
    details["broad_fraction"] = sum(v in ("broad", "strict") for v in levels.values()) / len(patterns)
    score = sum(v == "strict" for v in levels.values()) / len(patterns)
    return Sample("ok", score=score, scores=scores, transcript=chat, rationale=rationale, details=details)


SUITE = Suite(
    name="patterns",
    case_model=PatternsCase,
    run_case=run_case,
    description="Share of a pattern audit's patterns present (strict) in the model's answers; lower is better.",
    score_range=(0.0, 1.0),
    higher_is_better=False,
)
