"""Inter-judge agreement of an eval run: Krippendorff's α over its judges' scores.

    agreement = run_agreement(project, run_id)            # level chosen by the run's suite
    agreement = run_agreement(project, run_id, level="ordinal")
    agreement.alpha, agreement.reason                     # α, or None and why there is none
    value, reason = alpha([{"judge-a": 3, "judge-b": 4}, ...], "interval")   # any units x coders table

A panel's samples record every judge's score in `scores["judges"]` (`workbench/evals/judging.py`).
Each ok sample is a *unit*, one (case, epoch); each judge is a *coder*; a judge that failed on a
sample is simply missing there, which α allows. α comes from the maintained `krippendorff`
package; the level of measurement says which disagreements are small: `interval` for the 0–5 and
0–2 rating scales (a 4 against a 5 is a near miss), `nominal` for win/tie/loss (a tie is no nearer
a win than a loss is). Beside α, the exact-agreement rate of every pair of judges says how often
they gave the very same score. `workbench/evals/calibration.py` uses `alpha` for judge against
reference scores.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import krippendorff
from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError
from workbench.evals.report import get_run
from workbench.project import Project

Level = Literal["nominal", "ordinal", "interval", "ratio"]
NOMINAL_SUITES = frozenset({"capability"})  # scores are outcomes (0 loss, 0.5 tie, 1 win), not distances
MIN_UNITS = 5  # below this α swings on a single unit and says little; the reason says so instead
Unit = Mapping[str, float]  # one unit's scores, by coder (judge label, or "reference")


class PairAgreement(BaseModel):
    """How often two judges gave the very same score."""

    judges: tuple[str, str] = Field(description="The two judges' labels.")
    units: int = Field(description="Units (case, epoch) both judges scored.")
    rate: float | None = Field(description="Share of those units where their scores are equal; None when none.")


class Agreement(BaseModel):
    """Inter-judge agreement of one eval run."""

    run_id: str = Field(description="The eval run.")
    suite: str = Field(description="The run's suite.")
    level: Level = Field(description="Level of measurement α was computed at.")
    judges: list[str] = Field(description="Every judge label found in the run's ok samples, sorted.")
    units: int = Field(description="Ok samples (case, epoch) that two or more judges scored: what α is computed on.")
    alpha: float | None = Field(description="Krippendorff's α (1: perfect, 0: chance level); None: see `reason`.")
    reason: str | None = Field(description="Why there is no α (one judge, too few units, no variation); else None.")
    pairwise: list[PairAgreement] = Field(description="Exact-agreement rate of every pair of judges.")


class ScoredSample(BaseModel):
    """One stored sample's scores, as agreement and calibration read them."""

    case_id: str = Field(description="The case.")
    epoch: int = Field(description="Which play of the case (0-based).")
    status: str = Field(description="ok, invalid or judge_failed.")
    headline: float | None = Field(description="The sample's headline score (the panel's median); None unless ok.")
    judges: dict[str, float] = Field(description="Judge label -> that judge's score (empty when none recorded).")


def default_level(suite: str) -> Level:
    """The level of measurement that fits a suite's scores: nominal for outcomes, else interval."""
    return "nominal" if suite in NOMINAL_SUITES else "interval"


def _judge_scores(raw: object, where: str) -> dict[str, float]:
    """`scores["judges"]` as label -> number, or an error naming the sample."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise WorkbenchError(f"{where}: scores.judges is {type(raw).__name__}, not an object of judge -> score.")
    found: dict[str, float] = {}
    for judge, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WorkbenchError(f"{where}: judge {judge!r} has the score {value!r}, not a number.")
        found[str(judge)] = float(value)
    return found


def scored_samples(project: Project, run_id: str) -> list[ScoredSample]:
    """Every sample of a run (by exact id) with its headline and per-judge scores.

    Raises:
        WorkbenchError: a sample's `scores.judges` is not judge label -> number.
    """
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT case_id, coalesce(epoch, 0), status, score, scores FROM eval_samples WHERE run_id = ?"
            " ORDER BY case_id, epoch",
            [run_id],
        ).fetchall()
    found = []
    for case, epoch, status, score, scores in rows:
        judges = _judge_scores(json.loads(scores).get("judges"), f"Run {run_id}, case {case!r}, epoch {epoch}")
        found.append(ScoredSample(case_id=case, epoch=epoch, status=status, headline=score, judges=judges))
    return found


def alpha(units: Sequence[Unit], level: Level, min_units: int = MIN_UNITS) -> tuple[float | None, str | None]:
    """Krippendorff's α of a units x coders table with missing scores allowed.

    Args:
        units: Per unit, each coder's score; coders are the union of the keys.
        level: Level of measurement (nominal, ordinal, interval, ratio).
        min_units: The fewest units scored by two or more coders worth computing α on.

    Returns:
        (α, None), or (None, why there is none).
    """
    coders = sorted({coder for unit in units for coder in unit})
    if len(coders) < 2:
        return None, f"α needs two or more judges; found {len(coders)} ({', '.join(coders) or 'none'})."
    paired = [unit for unit in units if len(unit) >= 2]  # α ignores units only one coder scored
    if len(paired) < min_units:
        return None, f"only {len(paired)} unit(s) have two or more scores; α needs at least {min_units}."
    if len({value for unit in paired for value in unit.values()}) < 2:
        return None, "every unit got the same score from everyone: α is undefined without variation."
    table = [[unit.get(coder, math.nan) for unit in paired] for coder in coders]
    return float(krippendorff.alpha(reliability_data=table, level_of_measurement=level)), None


def exact_agreement(units: Sequence[Unit], first: str, second: str) -> PairAgreement:
    """How many units both coders scored, and the share of those where their scores are equal."""
    both = [unit for unit in units if first in unit and second in unit]
    rate = sum(unit[first] == unit[second] for unit in both) / len(both) if both else None
    return PairAgreement(judges=(first, second), units=len(both), rate=rate)


def run_agreement(project: Project, ref: str, level: Level | None = None, min_units: int = MIN_UNITS) -> Agreement:
    """Inter-judge agreement over a run's ok samples.

    Args:
        project: The project whose store holds the run.
        ref: The eval run's id or id prefix.
        level: Level of measurement; None: the suite's default (`default_level`).
        min_units: The fewest units two judges must share for α to be reported.

    Raises:
        WorkbenchError: no such run, or a sample's judge scores are not numbers.
    """
    run_id, suite = get_run(project, ref)[:2]
    chosen = level or default_level(suite)
    units = [sample.judges for sample in scored_samples(project, run_id) if sample.status == "ok"]
    judges = sorted({judge for unit in units for judge in unit})
    value, reason = alpha(units, chosen, min_units)
    if not judges:
        reason = "the run's ok samples record no per-judge scores (scores.judges); it was not judged by a panel."
    return Agreement(run_id=run_id, suite=suite, level=chosen, judges=judges,
                     units=sum(len(unit) >= 2 for unit in units), alpha=value, reason=reason,
                     pairwise=[exact_agreement(units, a, b) for a, b in itertools.combinations(judges, 2)])  # fmt: skip
