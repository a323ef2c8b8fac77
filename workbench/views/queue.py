"""The review queue: which rows of a stage a filter selects, a page of them, and a decision over all of them.

    f = QueueFilter(stage="examples", statuses=("needs_review",), score="embodiment", score_max=3)
    count_queue(store, f)                      # how many rows match
    queue_page(store, f, offset=0, limit=50)   # one page, oldest first
    review_queue(store, f, "reject", reviewer="ada", note="flat")   # the whole filter, one undoable batch

A filter is a frozen dataclass turned into one parameterised WHERE clause, so the count, the page,
the ids a bulk action takes and the focus view's position all agree. Rows replaced by a newer
version (superseded, revised, sent back) never appear: a person reviews the latest version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from workbench.audit.filters import MATCHING
from workbench.audit.patterns import get_pattern
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import REPLACED, ReviewBatch, review_many

Stage = Literal["scenarios", "examples", "documents"]
STAGE_TABLES: dict[str, str] = {"scenarios": "sft_scenarios", "examples": "sft_examples", "documents": "documents"}
SCORES = ("realism", "quality", "embodiment", "leakage")  # the autorater's scores (ExampleRating)
Level = Literal["strict", "broad", "absent"]
# Which stored rating levels each level filter takes: the filters' own, and "absent" for rows without the pattern.
_LEVELS: dict[str, tuple[str, ...]] = {**MATCHING, "absent": ("absent",)}
# Documents still being written have no text to review yet.
_IN_PROGRESS = ("brainstormed", "drafted", "critiqued")
# What the queue shows of a row in one line.
_PREVIEW = {
    "sft_scenarios": "coalesce(t.user_prompt, t.scenario)",
    "sft_examples": "t.user_prompt",
    "documents": "t.doc_type || ': ' || coalesce(t.text, '')",
}
PREVIEW_CHARS = 160
# Review events of a table (the parameter) that still stand: decisions, not undos, and not undone.
_STANDING = (
    "e.item_table = ? AND e.action <> 'undo' AND NOT EXISTS (SELECT 1 FROM review_events u WHERE u.action = 'undo'"
    " AND u.item_id = e.item_id AND json_extract_string(u.payload, '$.undoes') = e.batch_id)"
)


@dataclass(frozen=True)
class QueueFilter:
    """Which rows of one stage to review.

    Attributes:
        stage: scenarios, examples or documents.
        statuses: Only rows with one of these statuses; empty means every status still reviewable.
        chunk_id: Only rows about this trait chunk.
        score: An autorater score (realism, quality, embodiment, leakage) to filter on.
        score_min: Lowest score kept (inclusive).
        score_max: Highest score kept (inclusive).
        pattern_id: Only rows an audit rated for this pattern, at `pattern_level`, under its current criteria.
        pattern_level: strict (unambiguously present), broad (at least loosely present) or absent.
        reviewer: Only rows this person has recorded a decision on.
        unreviewed: Only rows nobody has recorded a decision on.
        search: Only rows whose text contains this (case-insensitive).
    """

    stage: Stage = "examples"
    statuses: tuple[str, ...] = ("needs_review",)
    chunk_id: str | None = None
    score: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    pattern_id: str | None = None
    pattern_level: Level = "broad"
    reviewer: str | None = None
    unreviewed: bool = False
    search: str | None = None

    @property
    def table(self) -> str:
        """The table this filter's stage lives in."""
        return STAGE_TABLES[self.stage]


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue, as the table shows it."""

    id: str
    status: str
    trait: str | None
    preview: str
    origin: str
    scores: dict[str, Any] | None
    created_at: datetime


def _where(project: Project, f: QueueFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (over alias `t`) and its parameters; every value is a parameter."""
    if f.stage not in STAGE_TABLES:
        raise WorkbenchError(f"Unknown review stage {f.stage!r}; stages: {', '.join(STAGE_TABLES)}.")
    clauses = ["t.status NOT IN (SELECT unnest(?))"]
    params: list[Any] = [sorted(REPLACED | set(_IN_PROGRESS))]
    if f.statuses:
        clauses.append("t.status IN (SELECT unnest(?))")
        params.append(list(f.statuses))
    if f.chunk_id:
        clauses.append("t.chunk_id = ?")
        params.append(f.chunk_id)
    _score_clause(f, clauses, params)
    if f.pattern_id:
        pattern = get_pattern(project, f.pattern_id)
        clauses.append(
            "t.id IN (SELECT ar.row_id FROM audit_rows ar JOIN audit_ratings r ON r.text_hash = ar.text_hash"
            " JOIN audits a ON a.dataset_id = ar.dataset_id WHERE a.id = ? AND r.pattern_id = ?"
            " AND r.criteria_hash = ? AND r.level IN (SELECT unnest(?)))"
        )
        params += [pattern.audit_id, pattern.id, pattern.criteria_hash, list(_LEVELS[f.pattern_level])]
    if f.reviewer:
        clauses.append(f"t.id IN (SELECT item_id FROM review_events e WHERE {_STANDING} AND e.reviewer = ?)")
        params += [f.table, f.reviewer]
    if f.unreviewed:
        clauses.append(f"t.id NOT IN (SELECT item_id FROM review_events e WHERE {_STANDING})")
        params.append(f.table)
    if f.search:
        clauses.append(f"{_PREVIEW[f.table]} || ' ' || coalesce({_text_column(f.table)}, '') ILIKE ?")
        params.append(f"%{f.search}%")
    return " AND ".join(clauses), params


def _text_column(table: str) -> str:
    return {"sft_scenarios": "t.scenario", "sft_examples": "t.response", "documents": "t.text"}[table]


def _score_clause(f: QueueFilter, clauses: list[str], params: list[Any]) -> None:
    if f.score is None or (f.score_min is None and f.score_max is None):
        return
    if f.score not in SCORES or f.stage == "scenarios":
        raise WorkbenchError(f"Cannot filter {f.stage} on score {f.score!r}; scores: {', '.join(SCORES)}.")
    # The score name is checked against SCORES above; the JSON path is still passed as a parameter.
    value = "TRY_CAST(json_extract(t.scores, ?) AS DOUBLE)"
    if f.score_min is not None:
        clauses.append(f"{value} >= ?")
        params += [f"$.{f.score}", f.score_min]
    if f.score_max is not None:
        clauses.append(f"{value} <= ?")
        params += [f"$.{f.score}", f.score_max]


# Audit dataset sources whose row ids are rows of each stage's table (snapshots of the store).
_AUDITED_SOURCES = {"scenarios": [], "examples": ["sft", "preference"], "documents": ["documents"]}


@dataclass(frozen=True)
class QueueOptions:
    """What the filters of one stage can be set to, from what the store holds.

    Attributes:
        statuses: Each reviewable status with its row count.
        chunks: (id, title) of every chunk with rows in this stage.
        reviewers: Everyone who has recorded a decision on this stage.
        patterns: (id, "name (audit …)") of active patterns of audits over this stage's rows.
    """

    statuses: dict[str, int]
    chunks: list[tuple[str, str]]
    reviewers: list[str]
    patterns: list[tuple[str, str]]


def queue_options(project: Project, stage: Stage) -> QueueOptions:
    """The choices for each filter of `stage`, in one short read."""
    table = STAGE_TABLES[stage]
    hidden = sorted(REPLACED | set(_IN_PROGRESS))
    with project.store.connect() as con:
        statuses = con.execute(
            f"SELECT status, count(*) FROM {table} WHERE status NOT IN (SELECT unnest(?)) GROUP BY status"
            " ORDER BY status",
            [hidden],
        ).fetchall()
        chunks = con.execute(
            f"SELECT c.id, c.title FROM chunks c WHERE c.id IN (SELECT DISTINCT chunk_id FROM {table}) ORDER BY c.title"
        ).fetchall()
        reviewers = con.execute(
            "SELECT DISTINCT reviewer FROM review_events WHERE item_table = ? ORDER BY reviewer", [table]
        ).fetchall()
        patterns = con.execute(
            "SELECT p.id, p.name || ' (audit ' || left(a.id, 8) || ')' FROM audit_patterns p"
            " JOIN audits a ON a.id = p.audit_id JOIN audit_datasets d ON d.id = a.dataset_id"
            " WHERE p.status = 'active' AND d.source IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.created_at, p.name",
            [_AUDITED_SOURCES[stage]],
        ).fetchall()
    return QueueOptions(dict(statuses), chunks, [r[0] for r in reviewers], patterns)


def count_queue(project: Project, f: QueueFilter) -> int:
    """How many rows the filter selects."""
    where, params = _where(project, f)
    with project.store.connect() as con:
        return int(con.execute(f"SELECT count(*) FROM {f.table} t WHERE {where}", params).fetchone()[0])  # type: ignore[index]


def queue_ids(project: Project, f: QueueFilter, offset: int = 0, limit: int | None = None) -> list[str]:
    """The ids the filter selects, oldest first (all of them unless `limit`)."""
    where, params = _where(project, f)
    page = " LIMIT ? OFFSET ?" if limit is not None else ""
    page_params = [limit, offset] if limit is not None else []
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT t.id FROM {f.table} t WHERE {where} ORDER BY t.created_at, t.id{page}", params + page_params
        ).fetchall()
    return [r[0] for r in rows]


def queue_page(project: Project, f: QueueFilter, offset: int = 0, limit: int = 50) -> list[QueueRow]:
    """One page of the queue, oldest first."""
    where, params = _where(project, f)
    scores = "t.scores" if f.stage != "scenarios" else "NULL"
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT t.id, t.status, c.title, left({_PREVIEW[f.table]}, {PREVIEW_CHARS}), t.origin, {scores},"
            f" t.created_at FROM {f.table} t LEFT JOIN chunks c ON c.id = t.chunk_id WHERE {where}"
            " ORDER BY t.created_at, t.id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return [QueueRow(i, s, tr, " ".join((p or "").split()), o, _json(sc), c) for i, s, tr, p, o, sc, c in rows]


def _json(value: Any) -> dict[str, Any] | None:
    return json.loads(value) if isinstance(value, str) else value


def review_queue(
    project: Project, f: QueueFilter, action: str, *, reviewer: str, note: str | None = None
) -> ReviewBatch:
    """Apply one decision to every row the filter selects, as one undoable batch (all or nothing)."""
    if action == "edit":
        raise WorkbenchError("Edits are made one row at a time, not over a whole filter.")
    return review_many(project.store, f.table, queue_ids(project, f), action, reviewer=reviewer, note=note)
