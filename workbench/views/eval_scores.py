"""What the eval scores table does not hold: sub-scores beside the headline, and how far a run's judges agree.

    rows = beside_rows(summaries)                      # one row per run and `Suite.beside` sub-score
    rows = agreement_rows(project, summaries)          # runs judged by two or more judges: α and exact agreement
    caption = interval_caption(comparison.difference)  # "95% interval [-0.2, +0.4] over 12 cases"

The scores table itself is `workbench.views.evals.score_rows`. Agreement comes from
`workbench.evals.agreement.run_agreement` (Krippendorff's α over the judges' per-sample scores);
a run whose samples name fewer than two judges has nothing to agree on and gets no row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workbench.evals.agreement import run_agreement
from workbench.evals.report import RunSummary
from workbench.evals.stats import Estimate
from workbench.project import Project


@dataclass(frozen=True)
class BesideRow:
    """One sub-score of one run: a mean over ok samples with its interval."""

    run_id: str
    suite: str
    model: str
    score: str
    mean: float | None
    low: float | None
    high: float | None
    width: float | None
    cases: int


@dataclass(frozen=True)
class AgreementRow:
    """How far one run's judges agree.

    Attributes:
        run_id: The run.
        suite: Its suite.
        model: Its target.
        judges: The judges' labels, comma-separated.
        units: Ok samples (case, epoch) two or more judges scored.
        level: The level of measurement α is computed at.
        alpha: Krippendorff's α, or None (see `reason`).
        reason: Why there is no α, else None.
        exact: Per pair of judges, how often they gave the very same score.
    """

    run_id: str
    suite: str
    model: str
    judges: str
    units: int
    level: str
    alpha: float | None
    reason: str | None
    exact: str


def beside_rows(summaries: Iterable[RunSummary]) -> list[BesideRow]:
    """The sub-scores each run's suite shows beside its headline (`RunSummary.beside`), run by run."""
    return [
        BesideRow(s.run_id, s.suite, s.model, key, e.mean, e.low, e.high, e.width, e.clusters or 0)
        for s in summaries
        for key, e in s.beside.items()
    ]


def agreement_rows(project: Project, summaries: Iterable[RunSummary]) -> list[AgreementRow]:
    """Inter-judge agreement of the runs whose ok samples two or more judges scored.

    Raises:
        WorkbenchError: a sample's judge scores are not numbers.
    """
    rows = []
    for s in summaries:
        found = run_agreement(project, s.run_id)
        if len(found.judges) < 2:
            continue
        exact = "; ".join(
            f"{p.judges[0]} = {p.judges[1]}: "
            + ("no shared sample" if p.rate is None else f"{p.rate:.0%} of {p.units}")
            for p in found.pairwise
        )
        rows.append(AgreementRow(s.run_id, s.suite, s.model, ", ".join(found.judges), found.units, found.level,
                                 found.alpha, found.reason, exact))  # fmt: skip
    return rows


def interval_caption(difference: Estimate) -> str:
    """A paired difference's interval and how many cases it is over, for the caption under its value."""
    if difference.low is None or difference.high is None:
        return f"no interval (fewer than two cases) over {difference.n} cases"
    return f"95% interval [{difference.low:+.3g}, {difference.high:+.3g}] over {difference.n} cases"
