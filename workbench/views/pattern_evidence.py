"""One pattern's rows a page at a time, each with the evidence of the pattern marked in its text.

    matching, absent = example_pages(project, pattern, "strict", (0, 2))   # rows 1-10 that match, 21-30 absent
    quoted = quoted_rows(project, pattern)                                  # the rows the LLM scans quoted
    st.markdown(highlighted_markdown(matching.rows[0].segments))            # workbench.views.evals: escaped

Rows come in dataset order, from the ratings under the pattern's *current* criteria (as
`views.patterns.pattern_examples`), and only the page shown is read: a dataset may hold 100,000 rows.

What is marked depends on how the pattern is rated:

* a lexical pattern (`audit.lexical_rules`): its phrase, found in the row's answer (its last
  assistant turn, or a document's whole text) the way the rule reads words, case and punctuation
  aside (`views.review_evidence.phrase_spans`, as the review card marks it): the first occurrence
  for an opener, the last for a closer, every one for an n-gram. A structure feature (a list, a
  heading, a length) is a property of the whole answer and marks nothing.
* an LLM pattern: the quotes the scans gave as evidence for that row (`audit_candidates`). The
  rater gives levels, not quotes, so a row the scans never saw has none. A quote found verbatim
  in the text (spacing aside; `views.evals.quote_spans`, as the eval transcripts mark a judge's
  quotes) is marked; one that is not is kept in `ShownRow.unplaced`, so the page shows it beside
  the row instead of dropping it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workbench.audit.filters import MATCHING, Level
from workbench.audit.formats import assistant_text_sql
from workbench.audit.lexical_rules import FeatureRule, PhraseRule
from workbench.audit.patterns import Pattern
from workbench.project import Project
from workbench.store.connection import Store
from workbench.views.evals import Segment, cut, quote_spans, unmatched_quotes
from workbench.views.review_evidence import phrase_spans

PAGE_SIZE = 10

# The dataset's rows rated for a pattern, matching at the chosen levels or absent, in dataset order.
# Joining the ratings to the dataset's rows reads every row's text hash (100,000 at scale), so the
# result is remembered: a dataset's rows never change (its id is their hash) and ratings are only
# ever added, so it holds until `_RATINGS_NOW` changes.
_RATED = (
    "SELECT r.position, a.level FROM audit_rows r JOIN ("
    "  SELECT text_hash, level FROM audit_ratings WHERE pattern_id = $pattern AND criteria_hash = $criteria"
    "  AND (level = 'absent' OR level IN (SELECT unnest($levels::VARCHAR[])))"
    ") a ON a.text_hash = r.text_hash"
    " WHERE r.dataset_id = (SELECT dataset_id FROM audits WHERE id = $audit) ORDER BY r.position"
)
_RATINGS_NOW = "SELECT count(*), max(created_at) FROM audit_ratings WHERE pattern_id = ? AND criteria_hash = ?"
_TEXTS = (
    "SELECT position, row_id, grp, text, " + assistant_text_sql("text") + " FROM audit_rows"
    " WHERE dataset_id = (SELECT dataset_id FROM audits WHERE id = $audit)"
    " AND position IN (SELECT unnest($positions::INTEGER[]))"
)
Rated = tuple[tuple[int, str], ...]  # (position, level) of rows, in dataset order


@dataclass(frozen=True)
class ShownRow:
    """A row as the page shows it.

    Attributes:
        row_id: The row's id in its dataset.
        group: Its group (trait or file group), if any.
        level: Its rating for the pattern: strict, broad or absent ("" where it was not rated).
        segments: Its text, cut into marked evidence and the rest (`views.evals.highlighted_markdown`).
        unplaced: Evidence quotes for this row not found in its text, shown beside it.
    """

    row_id: str
    group: str | None
    level: str
    segments: tuple[Segment, ...]
    unplaced: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The row's whole text."""
        return "".join(s.text for s in self.segments)


@dataclass(frozen=True)
class ExamplePage:
    """One page of a pattern's matching (or non-matching) rows.

    Attributes:
        rows: The rows of this page, in dataset order.
        total: Every such row of the dataset.
        page: This page's index, from 0 (moved back to the last page if the rows got fewer).
        pages: Pages in all (1 when there are no rows).
    """

    rows: list[ShownRow]
    total: int
    page: int
    pages: int


def example_pages(
    project: Project, pattern: Pattern, level: Level, pages: tuple[int, int], size: int = PAGE_SIZE
) -> tuple[ExamplePage, ExamplePage]:
    """Rows rated as matching `pattern` at `level`, and rows rated absent: page `pages[0]` of the first, `pages[1]`
    of the second (from 0; a page past the last, say after the rows got fewer, shows the last)."""
    with project.store.connect() as con:
        now = con.execute(_RATINGS_NOW, [pattern.id, pattern.criteria_hash]).fetchone()
    matching, absent = _rated(project.store.path, pattern.audit_id, pattern.id, pattern.criteria_hash,
                              MATCHING[level], now)  # fmt: skip
    chosen = [_page(matching, pages[0], size), _page(absent, pages[1], size)]
    with project.store.connect() as con:
        found = con.execute(_TEXTS, {"audit": pattern.audit_id,
                                     "positions": [p for _, rows in chosen for p, _ in rows]}).fetchall()  # fmt: skip
    texts = {position: (row_id, group, text, answer) for position, row_id, group, text, answer in found}
    quotes = evidence_quotes(project, pattern)
    result = []
    for rated, (index, rows) in zip((matching, absent), chosen, strict=True):
        shown = []
        for position, row_level in rows:
            row_id, group, text, answer = texts[position]
            shown.append(_shown(pattern, row_id, group, row_level, text, answer, quotes.get(row_id, ())))
        result.append(ExamplePage(shown, len(rated), index, max(1, -(-len(rated) // size))))
    return result[0], result[1]


@lru_cache(maxsize=64)
def _rated(
    store: Path, audit_id: str, pattern_id: str, criteria_hash: str, levels: tuple[str, ...], now: object
) -> tuple[Rated, Rated]:
    """The rows rated matching at `levels`, and those rated absent (`now` keys the cache: see `_RATED`)."""
    with Store(store).connect() as con:  # the session's connection, when a page opened one
        found = con.execute(_RATED, {"audit": audit_id, "pattern": pattern_id, "criteria": criteria_hash,
                                     "levels": list(levels)}).fetchall()  # fmt: skip
    return tuple((p, lv) for p, lv in found if lv != "absent"), tuple((p, lv) for p, lv in found if lv == "absent")


def _page(rated: Rated, page: int, size: int) -> tuple[int, Rated]:
    """The index of the page shown (`page`, within the pages there are) and its rows."""
    page = min(max(page, 0), max(0, (len(rated) - 1) // size))
    return page, rated[page * size : (page + 1) * size]


def evidence_quotes(project: Project, pattern: Pattern) -> dict[str, list[str]]:
    """Row id -> the quotes the LLM scans gave for this pattern on that row (none for lexical or manual ones)."""
    if not pattern.candidate_ids:
        return {}
    with project.store.connect() as con:
        found = con.execute(
            "SELECT evidence FROM audit_candidates WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY id",
            [pattern.candidate_ids],
        ).fetchall()
    quotes: dict[str, list[str]] = {}
    for (evidence,) in found:
        for item in json.loads(evidence):
            if item.get("quote") and item["quote"] not in quotes.get(item["row_id"], []):
                quotes.setdefault(item["row_id"], []).append(item["quote"])
    return quotes


def quoted_rows(project: Project, pattern: Pattern) -> list[ShownRow]:
    """The rows of the audited dataset the scans quoted for this pattern, in dataset order, quotes marked."""
    quotes = evidence_quotes(project, pattern)
    if not quotes:
        return []
    with project.store.connect() as con:
        found = con.execute(
            "SELECT r.row_id, r.grp, coalesce(a.level, ''), r.text, " + assistant_text_sql("r.text")
            + " FROM audit_rows r LEFT JOIN audit_ratings a ON a.text_hash = r.text_hash AND a.pattern_id = $pattern"
            "  AND a.criteria_hash = $criteria"
            " WHERE r.dataset_id = (SELECT dataset_id FROM audits WHERE id = $audit)"
            "  AND r.row_id IN (SELECT unnest($rows::VARCHAR[])) ORDER BY r.position",
            {"pattern": pattern.id, "criteria": pattern.criteria_hash, "audit": pattern.audit_id, "rows": list(quotes)},
        ).fetchall()  # fmt: skip
    return [_shown(pattern, row_id, group, level, text, answer, quotes[row_id])
            for row_id, group, level, text, answer in found]  # fmt: skip


def _shown(
    pattern: Pattern, row_id: str, group: str | None, level: str, text: str, answer: str, quotes: Iterable[str]
) -> ShownRow:  # fmt: skip
    if isinstance(pattern.rule, PhraseRule):
        return ShownRow(row_id, group, level, cut(text, answer_spans(pattern.rule, text, answer)))
    if isinstance(pattern.rule, FeatureRule):
        return ShownRow(row_id, group, level, cut(text, []))
    spans, unplaced = evidence_spans(text, list(quotes))
    return ShownRow(row_id, group, level, cut(text, spans), unplaced)


def answer_spans(rule: PhraseRule, text: str, answer: str) -> list[tuple[int, int]]:
    """Where a lexical rule's phrase is in `text`, looked for in its answer only (as the rule reads it)."""
    start = text.rfind(answer) if answer else -1  # the answer is the text's last block (or the whole document)
    return [] if start < 0 else [(a + start, b + start) for a, b in phrase_spans(answer, rule)]


def evidence_spans(text: str, quotes: Sequence[str]) -> tuple[list[tuple[int, int]], tuple[str, ...]]:
    """Where the quotes occur in `text` (`views.evals.quote_spans`), and the quotes it does not wholly
    contain: those are shown beside the row, never dropped (a quote too short to look for among them)."""
    found: set[tuple[str, int]] = set()
    spans = quote_spans(text, quotes, found)
    unplaced = set(unmatched_quotes(quotes, found)) | {q for q in quotes if not quote_spans(text, [q])}
    return spans, tuple(q for q in quotes if q in unplaced)
