"""One row under review, with everything a reviewer weighs: the trait, the scenario and its critique,
the answers side by side, the autorater's verdict, pattern hits and the review history.

    item = focus_item(project, "examples", example_id)
    item.answers      # baseline (no system prompt), conditioned (trait in the system prompt), refined
    item.hits         # audit patterns rated for this row, under their current criteria, with their evidence
    item.replaced     # the version this row replaces (an edit's original), for the edit's diff

Examples show baseline vs conditioned vs refined; scenarios show the baseline answer their critique
read; documents show brainstorm, draft and critique beside the rewrite. All are point lookups, and
the item is read again only after something wrote to the store (workbench.store.unchanged).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from workbench.audit.lexical_rules import FeatureRule, PhraseRule
from workbench.audit.patterns import Pattern, list_patterns
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import REVIEWABLE
from workbench.store.unchanged import unchanged_read
from workbench.views.queue import STAGE_TABLES, Stage


@dataclass(frozen=True)
class Output:
    """A stored model output (a generation) shown beside the row."""

    step: str
    model: str
    status: str
    reason: str | None
    text: str | None
    parsed: dict[str, Any] | None
    system_prompt: str | None
    note: str | None
    id: str


@dataclass(frozen=True)
class PatternHit:
    """How an audit rated this row for one of its active patterns (under the pattern's current criteria).

    `rule` is a lexical pattern's rule and `quotes` an LLM pattern's verified evidence on this row:
    what workbench.views.review_evidence finds the matching span by.
    """

    pattern_id: str
    name: str
    level: str
    audit_id: str
    rule: PhraseRule | FeatureRule | None = None
    quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """One review event of the row."""

    created_at: datetime
    reviewer: str
    action: str
    note: str | None
    batch_id: str | None


@dataclass(frozen=True)
class Replaced:
    """The version a row replaces: an edit's original, a regeneration's sent-back row."""

    id: str
    status: str
    fields: dict[str, str | None]


@dataclass(frozen=True)
class FocusItem:
    """Everything the focus view shows of one row.

    Attributes:
        stage: scenarios, examples or documents.
        table: Its table.
        id: The row's id.
        status: Its current status.
        reason: Why it has that status (a filter's failing scores, a reviewer's note), if recorded.
        origin: generated, revised, edited or regenerated.
        parent_id: The version it replaces, if any.
        fields: The fields an edit may change, with their current text.
        trait: The trait chunk's title.
        trait_text: The chunk's text, as the generator saw it.
        scenario: The situation (scenarios and examples).
        critique: The critique that judged the scenario, or the document's critique.
        answers: The outputs to compare side by side, in pipeline order.
        rejected: A preference example's rejected answer and its check.
        scores: The autorater's scores and reasons.
        hits: Audit patterns rated for this row.
        events: The review history, oldest first.
        newer: (id, origin, status) of rows that replace this one.
        replaced: The version this row replaces (its status and its editable fields), if any.
    """

    stage: str
    table: str
    id: str
    status: str
    reason: str | None
    origin: str
    parent_id: str | None
    fields: dict[str, str | None]
    trait: str | None
    trait_text: str | None
    scenario: str | None
    critique: Output | None
    answers: list[Output]
    rejected: list[Output]
    scores: dict[str, Any] | None
    hits: list[PatternHit]
    events: list[Event]
    newer: list[tuple[str, str, str]]
    replaced: Replaced | None = None


_OUTPUT = "SELECT id, step, model, status, reason, text, parsed, system_prompt, note FROM {table}"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _outputs(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list[Any]) -> list[Output]:
    rows = con.execute(f"{_OUTPUT.format(table=table)} WHERE {where} ORDER BY created_at", params).fetchall()
    return [Output(step, model, st, reason, text, _json(parsed), system, note, gid)
            for gid, step, model, st, reason, text, parsed, system, note in rows]  # fmt: skip


def _one(outputs: list[Output]) -> Output | None:
    """The latest of these outputs (a step re-run after a send-back writes a newer one)."""
    return outputs[-1] if outputs else None


def _row(con: duckdb.DuckDBPyConnection, table: str, item_id: str) -> dict[str, Any]:
    cursor = con.execute(
        f"SELECT t.*, c.title AS trait, c.text AS trait_text FROM {table} t LEFT JOIN chunks c ON c.id = t.chunk_id"
        " WHERE t.id = ?",
        [item_id],
    )
    row = cursor.fetchone()
    if row is None:
        raise WorkbenchError(f"No row {item_id!r} in {table}.")
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def _scenario(con: duckdb.DuckDBPyConnection, scenario_id: str | None) -> dict[str, Any] | None:
    """An example's scenario: its id and situation, all the card shows of it (a narrow read is a cheaper cold one)."""
    if not scenario_id:
        return None
    found = con.execute("SELECT id, scenario FROM sft_scenarios WHERE id = ?", [scenario_id]).fetchone()
    return {"id": found[0], "scenario": found[1]} if found else None


def _scenario_context(con: duckdb.DuckDBPyConnection, scenario_id: str) -> tuple[Output | None, Output | None]:
    """The baseline answer to a scenario's prompt and the critique that read it (the latest of each)."""
    gens = _outputs(con, "sft_generations", "subject_id = ? AND step IN ('baseline', 'critique')", [scenario_id])
    return _one([g for g in gens if g.step == "baseline"]), _one([g for g in gens if g.step == "critique"])


def _example_answers(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> tuple[list[Output], list[Output]]:
    """(answers side by side, rejected answer and its check) of an example."""
    answers: list[Output] = []
    refined = _one(_outputs(con, "sft_generations", "id = ?", [row["response_generation_id"]]))
    if refined is not None:
        subject = con.execute("SELECT subject_id FROM sft_generations WHERE id = ?", [refined.id]).fetchone()
        conditioned = _one(_outputs(con, "sft_generations", "id = ?", [subject[0] if subject else None]))
        answers += [g for g in (conditioned, refined) if g is not None]
    # Most examples have no rejected answer: no read for it then.
    rejected_id = row["rejected_generation_id"]
    rejected = _outputs(con, "sft_generations", "id = ?", [rejected_id]) if rejected_id else []
    if rejected:
        rejected += _outputs(con, "sft_generations", "subject_id = ? AND step = 'rejected_check'", [rejected[0].id])
    return answers, rejected


def _hits(project: Project, con: duckdb.DuckDBPyConnection, item_id: str) -> list[PatternHit]:
    rated = con.execute(
        "SELECT DISTINCT a.id, r.pattern_id, r.criteria_hash, r.level FROM audit_rows ar"
        " JOIN audits a ON a.dataset_id = ar.dataset_id JOIN audit_ratings r ON r.text_hash = ar.text_hash"
        " JOIN audit_patterns p ON p.id = r.pattern_id AND p.audit_id = a.id WHERE ar.row_id = ?",
        [item_id],
    ).fetchall()
    rated_patterns: list[tuple[Pattern, str]] = []
    for audit_id in sorted({r[0] for r in rated}):
        current = {(p.id, p.criteria_hash): p for p in list_patterns(project, audit_id)}
        rated_patterns += [(current[(pid, h)], level) for a, pid, h, level in rated
                           if a == audit_id and (pid, h) in current]  # fmt: skip
    quotes = _quotes(con, [p for p, level in rated_patterns if level != "absent"], item_id)
    hits = [PatternHit(p.id, p.name, level, p.audit_id, p.rule, quotes.get(p.id, ()) if level != "absent" else ())
            for p, level in rated_patterns]  # fmt: skip
    order = {"strict": 0, "broad": 1, "absent": 2}
    return sorted(hits, key=lambda h: (order.get(h.level, 3), h.name))


def _quotes(con: duckdb.DuckDBPyConnection, patterns: list[Pattern], item_id: str) -> dict[str, tuple[str, ...]]:
    """pattern id -> the verified quotes its scans gave as evidence on this row, in one query for all of them."""
    owner = {c: p.id for p in patterns for c in p.candidate_ids}
    if not owner:
        return {}
    evidence = con.execute(
        "SELECT id, evidence FROM audit_candidates WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(owner)]
    ).fetchall()
    found: dict[str, list[str]] = {}
    for candidate, items in evidence:
        found.setdefault(owner[candidate], []).extend(
            e["quote"] for e in _json(items) if e.get("row_id") == item_id and e.get("verified") and e.get("quote")
        )
    return {pattern: tuple(dict.fromkeys(q)) for pattern, q in found.items()}


def _replaced(con: duckdb.DuckDBPyConnection, table: str, parent_id: str | None) -> Replaced | None:
    if parent_id is None:
        return None
    editable = REVIEWABLE[table].editable
    # Column names come from REVIEWABLE (our own constant), never from input.
    row = con.execute(f"SELECT status, {', '.join(editable)} FROM {table} WHERE id = ?", [parent_id]).fetchone()
    return None if row is None else Replaced(parent_id, row[0], dict(zip(editable, row[1:], strict=True)))


def focus_item(project: Project, stage: Stage, item_id: str) -> FocusItem:
    """Everything the focus view shows of one row of `stage`, read again only after something wrote to the store.

    A dozen cold point reads cost ~30 ms on a 100,000-example store; a rerun that changed only the
    page's widgets (workbench.store.unchanged) reuses the item.

    Raises:
        WorkbenchError: no such row.
    """
    key = ("focus_item", stage, item_id)
    return unchanged_read(project.store, key, lambda con: _read(project, con, stage, item_id))


def _read(project: Project, con: duckdb.DuckDBPyConnection, stage: Stage, item_id: str) -> FocusItem:
    """The focus item, read over `con` (about a dozen point reads)."""
    table = STAGE_TABLES[stage]
    row = _row(con, table, item_id)
    critique: Output | None = None
    answers: list[Output] = []
    rejected: list[Output] = []
    scenario = row if table == "sft_scenarios" else None
    if table == "sft_examples":
        scenario = _scenario(con, row["scenario_id"])
        answers, rejected = _example_answers(con, row)
    if scenario is not None:
        baseline, critique = _scenario_context(con, scenario["id"])
        answers = ([baseline] if baseline else []) + answers
    if table == "documents":
        lineage = [row[c] for c in ("brainstorm_id", "draft_id", "critique_id") if row[c]]
        steps = _outputs(con, "doc_generations", "id IN (SELECT unnest(?::VARCHAR[]))", [lineage])
        critique = _one([g for g in steps if g.step == "critique"])
        answers = [g for g in steps if g.step != "critique"]
    events = con.execute(
        "SELECT created_at, reviewer, action, note, batch_id FROM review_events WHERE item_table = ?"
        " AND item_id = ? ORDER BY created_at",
        [table, item_id],
    ).fetchall()
    newer = con.execute(
        f"SELECT id, origin, status FROM {table} WHERE parent_id = ? ORDER BY created_at", [item_id]
    ).fetchall()
    hits = _hits(project, con, item_id)
    replaced = _replaced(con, table, row["parent_id"])
    return FocusItem(
        stage=stage, table=table, id=item_id, status=row["status"], reason=row["reason"], origin=row["origin"],
        parent_id=row["parent_id"], fields={f: row[f] for f in REVIEWABLE[table].editable},
        trait=row["trait"], trait_text=row["trait_text"],
        scenario=scenario["scenario"] if scenario else None,
        critique=critique, answers=answers, rejected=rejected,
        scores=_json(row.get("scores")), hits=hits, events=[Event(*e) for e in events],
        newer=[(i, o, s) for i, o, s in newer], replaced=replaced,
    )  # fmt: skip
