"""Prevalence: how often each pattern is present, broad and strict, with Wilson intervals.

    report = audit_report(project, "sft")                  # the audit's sample
    for p in report.patterns:
        print(p.pattern.name, p.strict.rate, p.strict.low, p.strict.high, p.by_group)

The interval is Wilson's score interval (scipy), which stays inside [0, 1] and behaves at rates
near 0 and 1 and at small n, where the normal approximation does not. Only rated rows count:
a row whose rating failed is reported as unrated, never as absent.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from scipy.stats import binomtest

from workbench.audit.audits import AuditContext, get_audit, open_audit
from workbench.audit.datasets import AuditDataset, StoredRow, get_dataset
from workbench.audit.patterns import Pattern, list_patterns
from workbench.audit.rate import audit_sample, stored_levels
from workbench.project import Project

CONFIDENCE = 0.95


class Proportion(BaseModel):
    """k of n rows, with a Wilson confidence interval."""

    k: int = Field(description="Rows where the pattern is present at this level.")
    n: int = Field(description="Rows rated.")
    rate: float | None = Field(description="k / n (None when nothing was rated).")
    low: float = Field(description="Lower end of the 95% Wilson interval.")
    high: float = Field(description="Upper end of the 95% Wilson interval.")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """k of n as a proportion with its Wilson score interval ([0, 1] when n is 0)."""
    if n == 0:
        return Proportion(k=0, n=0, rate=None, low=0.0, high=1.0)
    interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(k=k, n=n, rate=k / n, low=float(interval.low), high=float(interval.high))


class GroupPrevalence(BaseModel):
    """A pattern's prevalence within one group (a trait, a chunk)."""

    broad: Proportion = Field(description="Rows meeting the broad criterion.")
    strict: Proportion = Field(description="Rows meeting the strict criterion.")


class PatternPrevalence(BaseModel):
    """One pattern's prevalence over a set of rows."""

    pattern: Pattern = Field(description="The pattern, with the criteria these ratings used.")
    broad: Proportion = Field(description="Rows meeting the broad criterion (strict ones included).")
    strict: Proportion = Field(description="Rows meeting the strict criterion.")
    unrated: int = Field(description="Rows with no rating under the current criteria (failed or not yet run).")
    by_group: dict[str, GroupPrevalence] = Field(description="The same, per group of rows (ungrouped rows as '-').")


class AuditReport(BaseModel):
    """Every active pattern of an audit, measured on its sample."""

    audit_id: str = Field(description="The audit.")
    dataset: AuditDataset = Field(description="The dataset audited.")
    sample_size: int = Field(description="Rows in the sample.")
    patterns: list[PatternPrevalence] = Field(description="Found patterns by scan support, then manual ones.")


def _levels_to_prevalence(levels: list[str | None]) -> tuple[GroupPrevalence, int]:
    rated = [level for level in levels if level is not None]
    broad = sum(level in ("broad", "strict") for level in rated)
    strict = sum(level == "strict" for level in rated)
    return GroupPrevalence(broad=wilson(broad, len(rated)), strict=wilson(strict, len(rated))), len(levels) - len(rated)


def prevalence(project: Project, patterns: Sequence[Pattern], rows: Sequence[StoredRow]) -> list[PatternPrevalence]:
    """Each pattern's prevalence over `rows`, overall and per group, from the stored ratings."""
    with project.store.connect() as con:
        levels = stored_levels(con, patterns, [r.text_hash for r in rows])
    results = []
    for pattern in patterns:
        per_row = [levels.get((pattern.id, r.text_hash)) for r in rows]
        overall, unrated = _levels_to_prevalence(per_row)
        groups: dict[str, list[str | None]] = {}
        for row, level in zip(rows, per_row, strict=True):
            groups.setdefault(row.group or "-", []).append(level)
        by_group = {name: _levels_to_prevalence(group)[0] for name, group in sorted(groups.items())}
        results.append(PatternPrevalence(pattern=pattern, broad=overall.broad, strict=overall.strict,
                                         unrated=unrated, by_group=by_group))  # fmt: skip
    return results


def sample_report(ctx: AuditContext) -> AuditReport:
    """The report of an open audit context (its sample, its active patterns)."""
    sample = audit_sample(ctx)
    patterns = list_patterns(ctx.project, ctx.audit.id)
    return AuditReport(audit_id=ctx.audit.id, dataset=ctx.dataset, sample_size=len(sample),
                       patterns=prevalence(ctx.project, patterns, sample))  # fmt: skip


def audit_report(project: Project, audit_ref: str) -> AuditReport:
    """The prevalence of every active pattern of an audit, on its sample under the current settings."""
    audit = get_audit(project, audit_ref)
    get_dataset(project, audit.dataset_id)  # a clear error if the dataset is gone
    return sample_report(open_audit(project, audit, run_id="report"))
