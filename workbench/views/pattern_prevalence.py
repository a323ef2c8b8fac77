"""The Patterns page's prevalence, counted in one query: each active pattern, LLM and lexical, on the sample.

    found = sample_prevalence(project, audit)        # the numbers `audit_report` gives, without its groups
    fig = prevalence_figure(found.rows)              # workbench.views.patterns: one chart, marked by source

`workbench.audit.prevalence.audit_report` reads the sample's texts and works out every pattern's
prevalence per group too, with a Wilson interval for each (pattern, group, level): thousands of
interval computations a rerun on a large project, for a page that charts only the overall rates.
Here the sample's text hashes (remembered per dataset and sample: a dataset's rows never change)
are counted against the stored ratings in SQL and only the overall intervals are computed (also
remembered: a (k, n) pair always has the same interval), so the page stays fast at 100,000 rows.
The rows are the ones `prevalence_rows(audit_report(...))` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workbench.audit.audits import Audit, open_audit
from workbench.audit.patterns import Pattern, list_patterns
from workbench.audit.prevalence import Proportion, wilson
from workbench.audit.rate import sample_positions
from workbench.project import Project
from workbench.store.connection import Store
from workbench.views.patterns import PrevalenceRow, source_of

# Per pattern: rated sample rows, those rated broad or strict, those rated strict. A sample row
# counts once per occurrence (two rows with one text are two rows), as `prevalence` counts them.
_COUNTS = (
    "WITH sample AS (SELECT unnest($hashes::VARCHAR[]) AS text_hash),"
    " chosen AS (SELECT unnest($ids::VARCHAR[]) AS pattern_id, unnest($criteria::VARCHAR[]) AS criteria_hash)"
    " SELECT c.pattern_id, count(*), count(*) FILTER (WHERE a.level IN ('broad', 'strict')),"
    "  count(*) FILTER (WHERE a.level = 'strict')"
    " FROM sample s JOIN audit_ratings a ON a.text_hash = s.text_hash"
    " JOIN chosen c ON c.pattern_id = a.pattern_id AND c.criteria_hash = a.criteria_hash"
    " GROUP BY c.pattern_id"
)


@dataclass(frozen=True)
class SamplePrevalence:
    """An audit's active patterns measured on its sample.

    Attributes:
        sample_size: Rows in the sample (under the current `[audit] sample_size`).
        patterns: The active patterns, in `list_patterns` order.
        rows: For each pattern, its broad and then its strict prevalence.
    """

    sample_size: int
    patterns: list[Pattern]
    rows: list[PrevalenceRow]


@lru_cache(maxsize=4096)
def _interval(k: int, n: int) -> Proportion:
    return wilson(k, n)


@lru_cache(maxsize=32)
def _sample_hashes(store: Path, dataset_id: str, positions: tuple[int, ...]) -> tuple[str, ...]:
    """The text hashes of the sample's rows, in sample order. Remembered: a dataset's rows never change
    (its id is their hash), and reading them means reading every row's position (100,000 at scale)."""
    with Store(store).connect() as con:  # the session's connection, when a page opened one
        found = dict(con.execute(
            "SELECT position, text_hash FROM audit_rows WHERE dataset_id = ?"
            " AND position IN (SELECT unnest(?::INTEGER[]))", [dataset_id, list(positions)]
        ).fetchall())  # fmt: skip
    return tuple(found[p] for p in positions if p in found)


def sample_prevalence(project: Project, audit: Audit) -> SamplePrevalence:
    """Every active pattern's broad and strict prevalence on the audit's sample, with 95% Wilson intervals.

    Raises:
        WorkbenchError: the audit's dataset is gone.
    """
    ctx = open_audit(project, audit, run_id="report")  # as audit_report: the audit's seed, today's sample size
    positions = sample_positions(ctx.dataset.row_count, ctx.settings.sample_size, ctx.settings.seed)
    hashes = _sample_hashes(project.store.path, ctx.dataset.id, tuple(positions))
    patterns = list_patterns(project, audit.id)
    with project.store.connect() as con:
        counted = con.execute(_COUNTS, {"hashes": list(hashes), "ids": [p.id for p in patterns],
                                        "criteria": [p.criteria_hash for p in patterns]}).fetchall()  # fmt: skip
    counts = {pattern_id: (rated, broad, strict) for pattern_id, rated, broad, strict in counted}
    rows = []
    for p in patterns:
        rated, broad, strict = counts.get(p.id, (0, 0, 0))
        for level, k in (("broad", broad), ("strict", strict)):
            share = _interval(k, rated)
            rows.append(PrevalenceRow(p.id, p.name, p.kind, p.found_by, level, share.k, share.n, share.rate,
                                      share.low, share.high, len(positions) - rated, source_of(p)))  # fmt: skip
    return SamplePrevalence(len(positions), patterns, rows)
