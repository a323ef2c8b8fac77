"""The SFT walk's tables (notebooks/02_sft_data.py): a traits version's scenarios with their critique and
baseline, and its examples with their autorater scores and dedup status.

    scenario_rows(project, version.id, chunk_ids)                       # awaiting review, oldest first
    example_rows(project, version.id, chunk_ids)                        # every example still current

Unlike the review queue (`views/queue.py`, every version at once), these read one traits version and
a chosen set of its traits, as a pilot runs them. Rows replaced by a newer version never appear.
Each is one query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.project import Project
from workbench.review import REPLACED


@dataclass(frozen=True)
class ScenarioRow:
    """One scenario as the pilot's review table shows it.

    Attributes:
        id: The scenario's id (what a review decision takes).
        trait: The trait chunk's title.
        slot: Its slot within the trait.
        status: Its current status.
        origin: generated, revised, edited or regenerated.
        scenario: The situation, in a few sentences.
        user_prompt: What the user writes (an edit changes this).
        verdict: The critic's verdict (keep, revise, drop), from the latest critique of this row.
        critique: The critic's reasons.
        baseline: The baseline model's answer, which the critique read.
        reason: Why the row has its status, if recorded.
    """

    id: str
    trait: str | None
    slot: int
    status: str
    origin: str
    scenario: str | None
    user_prompt: str | None
    verdict: str | None
    critique: str | None
    baseline: str | None
    reason: str | None


@dataclass(frozen=True)
class ExampleRow:
    """One finished example with the autorater's scores and what dedup decided.

    Attributes:
        id: The example's id.
        trait: The trait chunk's title.
        status: needs_review, ok, filtered (under a threshold), duplicate, rejected …
        origin: generated, edited or regenerated.
        user_prompt: The user's message.
        response: The refined answer.
        realism: Autorater score, 1-5 (None: not rated yet).
        quality: Autorater score, 1-5.
        embodiment: Autorater score, 1-5.
        leakage: Autorater score, 1-5 (1 = no reference to traits or guidelines).
        duplicate_of: The earlier example this one nearly repeats, when dedup marked it.
        similarity: Cosine similarity to that example.
        reason: Why the row has its status (failing scores, the duplicate it repeats).
    """

    id: str
    trait: str | None
    status: str
    origin: str
    user_prompt: str
    response: str
    realism: int | None
    quality: int | None
    embodiment: int | None
    leakage: int | None
    duplicate_of: str | None
    similarity: float | None
    reason: str | None


def _statuses(statuses: Sequence[str]) -> tuple[str, list[Any]]:
    """A WHERE fragment over alias `t`: never a replaced row; only `statuses` when given."""
    clause, params = "t.status NOT IN (SELECT unnest(?))", [sorted(REPLACED)]
    if statuses:
        clause += " AND t.status IN (SELECT unnest(?))"
        params.append(list(statuses))
    return clause, params


def _parsed(value: Any) -> dict[str, Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, dict) else {}


def scenario_rows(
    project: Project, traits_version: str, chunk_ids: Sequence[str], statuses: Sequence[str] = ("needs_review",)
) -> list[ScenarioRow]:
    """Scenarios of one traits version's chosen traits, in (trait, slot) order, with critique and baseline.

    Args:
        project: Whose store.
        traits_version: The version's id.
        chunk_ids: The traits (chunk ids) to show.
        statuses: Only rows with these statuses; empty: every status not replaced by a newer version.
    """
    where, params = _statuses(statuses)
    with project.store.connect() as con:
        rows = con.execute(
            "WITH chosen AS (SELECT * FROM sft_scenarios WHERE traits_version = ?"
            " AND chunk_id IN (SELECT unnest(?::VARCHAR[]))),"
            " latest AS (SELECT subject_id, step, arg_max(coalesce(CAST(parsed AS VARCHAR), text), created_at)"
            " AS output FROM sft_generations WHERE step IN ('baseline', 'critique')"
            " AND subject_id IN (SELECT id FROM chosen) GROUP BY subject_id, step)"
            " SELECT t.id, c.title, t.slot, t.status, t.origin, t.scenario, t.user_prompt, k.output, b.output,"
            " t.reason FROM chosen t LEFT JOIN chunks c ON c.id = t.chunk_id"
            " LEFT JOIN latest k ON k.subject_id = t.id AND k.step = 'critique'"
            " LEFT JOIN latest b ON b.subject_id = t.id AND b.step = 'baseline'"
            f" WHERE {where}"
            " ORDER BY list_position(?::VARCHAR[], t.chunk_id), t.slot, t.attempt, t.round, t.created_at, t.id",
            [traits_version, list(chunk_ids), *params, list(chunk_ids)],
        ).fetchall()
    out = []
    for sid, trait, slot, status, origin, scenario, prompt, critique, baseline, reason in rows:
        verdict = _parsed(critique)
        out.append(
            ScenarioRow(
                sid, trait, slot, status, origin, scenario, prompt,
                verdict.get("verdict"), verdict.get("reasons"), baseline, reason,
            )
        )  # fmt: skip
    return out


def example_rows(
    project: Project, traits_version: str, chunk_ids: Sequence[str], statuses: Sequence[str] = ()
) -> list[ExampleRow]:
    """Examples of one traits version's chosen traits, oldest first, with scores and dedup status.

    Args:
        project: Whose store.
        traits_version: The version's id.
        chunk_ids: The traits (chunk ids) to show.
        statuses: Only rows with these statuses; empty: every status not replaced by a newer version.
    """
    where, params = _statuses(statuses)
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT t.id, c.title, t.status, t.origin, t.user_prompt, t.response, t.scores, t.duplicate_of,"
            " t.similarity, t.reason FROM sft_examples t LEFT JOIN chunks c ON c.id = t.chunk_id"
            f" WHERE t.traits_version = ? AND t.chunk_id IN (SELECT unnest(?::VARCHAR[])) AND {where}"
            " ORDER BY t.created_at, t.id",
            [traits_version, list(chunk_ids), *params],
        ).fetchall()
    out = []
    for eid, trait, status, origin, prompt, response, scores, duplicate_of, similarity, reason in rows:
        s = _parsed(scores)
        out.append(
            ExampleRow(
                eid, trait, status, origin, prompt, response, s.get("realism"), s.get("quality"),
                s.get("embodiment"), s.get("leakage"), duplicate_of, similarity, reason,
            )
        )  # fmt: skip
    return out
