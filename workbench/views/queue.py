"""The review queue: which rows of a stage a filter selects, a page of them, and a decision over all of them.

    f = QueueFilter(stage="examples", statuses=("needs_review",), score="embodiment", score_max=3)
    count_queue(store, f)                      # how many rows match
    queue_page(store, f, offset=0, limit=50)   # one page, oldest first
    review_queue(store, f, "reject", reviewer="ada", note="flat")   # the whole filter, one undoable batch

A filter is a frozen dataclass turned into one parameterised WHERE clause, so the count, the page,
the ids a bulk action takes and the focus view's position all agree. Rows replaced by a newer
version (superseded, revised, sent back) never appear: a person reviews the latest version.
The review page's reads (`queue_options`, `counted_page`) are kept until something writes to the
store (workbench.store.unchanged); the counts a decision or a bulk action checks are always read.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from workbench.audit.filters import MATCHING
from workbench.audit.patterns import get_pattern
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import REPLACED, ReviewBatch, review_many
from workbench.store.unchanged import unchanged_read

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
# The body a search reads after the preview; the texts the two are made of; the characters their joins add.
_TEXT = {"sft_scenarios": "t.scenario", "sft_examples": "t.response", "documents": "t.text"}
_SEARCHED = {
    "sft_scenarios": ("coalesce(t.user_prompt, t.scenario)", "t.scenario"),
    "sft_examples": ("t.user_prompt", "t.response"),
    "documents": ("t.doc_type", "t.text"),
}
_JOINS_AND_WILDCARDS = frozenset(" :%_")
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
        clause, like = _search_clause(f.table, f.search)
        clauses.append(clause)
        params += like
    return " AND ".join(clauses), params


def _search_clause(table: str, search: str) -> tuple[str, list[str]]:
    """Rows whose text (the preview, a space, the body) contains `search`, case-insensitively.

    Each text is searched on its own where that finds the same rows: ILIKE on a column is about six
    times faster than on a string built for every row. A search that could match across a join (it
    holds a character a join adds, or a LIKE wildcard) searches the joined text, as it always has.
    """
    like = f"%{search}%"
    if set(search) & _JOINS_AND_WILDCARDS:
        return f"{_PREVIEW[table]} || ' ' || coalesce({_TEXT[table]}, '') ILIKE ?", [like]
    texts = _SEARCHED[table]
    return "(" + " OR ".join(f"{text} ILIKE ?" for text in texts) + ")", [like] * len(texts)


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
    """The choices for each filter of `stage`, in one short read (none while nothing wrote to the store)."""
    return unchanged_read(project.store, ("queue_options", stage), lambda con: _options(con, stage))


def _options(con: duckdb.DuckDBPyConnection, stage: Stage) -> QueueOptions:
    table = STAGE_TABLES[stage]
    # One pass over the stage's rows gives both the statuses and the chunks the rows are about.
    counts = con.execute(f"SELECT status, chunk_id, count(*) FROM {table} GROUP BY ALL").fetchall()
    # Titles of the few chunks found: joining chunks to every row first costs three times the count.
    titles = con.execute(
        "SELECT id, title FROM chunks WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted({chunk for _, chunk, _ in counts if chunk is not None})],
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
    hidden = REPLACED | set(_IN_PROGRESS)
    statuses: Counter[str] = Counter()
    for status, _, rows in counts:
        if status not in hidden:
            statuses[status] += rows
    chunks = sorted(titles, key=lambda c: (c[1], c[0]))
    return QueueOptions(dict(sorted(statuses.items())), chunks, [r[0] for r in reviewers], patterns)


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
    with project.store.connect() as con:
        return _page(con, project, f, offset, limit)[1]


def counted_page(project: Project, f: QueueFilter, offset: int = 0, limit: int = 50) -> tuple[int, list[QueueRow]]:
    """How many rows the filter selects, and one page of them: the review page's two reads in one.

    The filter (a text search, a pattern's ratings) is evaluated once instead of once for the count
    and again for the page. A page past the end has no row to carry the count, so then it counts.
    Both are read again only after something wrote to the store (workbench.store.unchanged).
    """

    def read(con: duckdb.DuckDBPyConnection) -> tuple[int, list[QueueRow]]:
        total, rows = _page(con, project, f, offset, limit)
        return (count_queue(project, f) if total is None else total), rows

    return unchanged_read(project.store, ("counted_page", f, offset, limit), read)


def _page(
    con: duckdb.DuckDBPyConnection, project: Project, f: QueueFilter, offset: int, limit: int
) -> tuple[int | None, list[QueueRow]]:
    where, params = _where(project, f)
    scores = "t.scores" if f.stage != "scenarios" else "NULL"
    # The filter sorts only the keys of its rows (and counts them all on the way); the shown columns are
    # read for the page's rows alone.
    rows = con.execute(
        f"SELECT t.id, t.status, c.title, left({_PREVIEW[f.table]}, {PREVIEW_CHARS}), t.origin, {scores},"
        f" t.created_at, page.total FROM {f.table} t LEFT JOIN chunks c ON c.id = t.chunk_id JOIN"
        f" (SELECT t.rowid AS row, count(*) OVER () AS total FROM {f.table} t WHERE {where}"
        "  ORDER BY t.created_at, t.id LIMIT ? OFFSET ?) page ON t.rowid = page.row"
        " ORDER BY t.created_at, t.id",
        [*params, limit, offset],
    ).fetchall()
    total = int(rows[0][-1]) if rows else (None if offset else 0)
    shown = [QueueRow(i, s, tr, " ".join((p or "").split()), o, _json(sc), c) for i, s, tr, p, o, sc, c, _ in rows]
    return total, shown


def _json(value: Any) -> dict[str, Any] | None:
    return json.loads(value) if isinstance(value, str) else value


def review_queue(
    project: Project, f: QueueFilter, action: str, *, reviewer: str, note: str | None = None
) -> ReviewBatch:
    """Apply one decision to every row the filter selects, as one undoable batch (all or nothing)."""
    if action == "edit":
        raise WorkbenchError("Edits are made one row at a time, not over a whole filter.")
    return review_many(project.store, f.table, queue_ids(project, f), action, reviewer=reviewer, note=note)
