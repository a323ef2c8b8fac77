"""Power: the smallest difference an eval comparison can detect with its cases and epochs.

    workbench eval power RUN [RUN_B] -p DIR
    power = run_power({"c1": [1, 0, 1], "c2": [0, 0, 0]})    # one run: its cases' scores per epoch
    power.detectable                                           # at the run's own n cases x K epochs
    power.table                                                # at more cases and more epochs

A case's mean over K epochs varies for two reasons: cases differ (the between-case variance,
which more epochs cannot shrink) and each play differs (the within-case variance, divided by
K). Both are estimated from the epochs (a one-way analysis of variance; with one epoch per case
they cannot be separated, and all the variance is counted as between-case). The minimum
detectable difference of two arms on the same n cases, at a two-sided level alpha and the
given power, is (z(1 - alpha/2) + z(power)) x the standard error of the difference.

With one run the two arms are assumed to vary alike and independently (an unpaired bound: a
paired comparison on the same cases usually does better). With two runs the paired case
differences are used: their variance, less the part each run's epochs contribute, is the
between-case variance of the difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import norm

ALPHA = 0.05
POWER = 0.8
SCALES = (1, 2, 4)  # the table's case counts, as multiples of the run's own
EPOCH_CHOICES = (1, 3, 5, 10)


class Components(BaseModel):
    """One run's variance, split by where it comes from."""

    between: float = Field(description="Variance of the cases' true means (more epochs cannot shrink it).")
    within: float = Field(description="Variance of one play around its case's mean (shrinks as 1/epochs).")
    cases: int = Field(description="Cases with at least one scored play.")
    epochs: int = Field(description="Plays per case (the most any case has).")


class PowerRow(BaseModel):
    """The detectable difference at one design."""

    cases: int = Field(description="Cases per arm.")
    epochs: int = Field(description="Plays per case.")
    detectable: float = Field(description="The minimum detectable difference, in the suite's score units.")


class Power(BaseModel):
    """What a comparison can and cannot resolve."""

    paired: bool = Field(description="Whether the figures come from two runs' paired differences.")
    alpha: float = Field(description="Two-sided significance level.")
    power: float = Field(description="Probability of detecting a true difference of the detectable size.")
    cases: int = Field(description="The run's cases (shared cases when paired).")
    epochs: int = Field(description="The run's epochs per case.")
    detectable: float | None = Field(description="The minimum detectable difference now; None below two cases.")
    table: list[PowerRow] = Field(description="The same at more cases and more epochs.")


def components(case_values: Mapping[str, Sequence[float]]) -> Components:
    """Between- and within-case variance of one run (method of moments, floored at zero)."""
    groups = [np.asarray(v, float) for v in case_values.values() if len(v)]
    epochs = max((len(g) for g in groups), default=0)
    if len(groups) < 2:
        return Components(between=0.0, within=0.0, cases=len(groups), epochs=epochs)
    repeated = [g for g in groups if len(g) >= 2]
    within = float(np.mean([g.var(ddof=1) for g in repeated])) if repeated else 0.0
    means = np.array([g.mean() for g in groups])
    sizes = np.array([len(g) for g in groups])
    between = max(0.0, float(means.var(ddof=1)) - within * float(np.mean(1.0 / sizes)))
    return Components(between=between, within=within, cases=len(groups), epochs=epochs)


def _detectable(variance_of_difference: float, cases: int, alpha: float, power: float) -> float:
    z = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    return z * float(np.sqrt(max(variance_of_difference, 0.0) / cases))


def run_power(
    a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]] | None = None, *,
    alpha: float = ALPHA, power: float = POWER,
) -> Power:  # fmt: skip
    """The minimum detectable difference for comparing arms like `a` (and `b`, paired, when given).

    Args:
        a: A run's scored plays per case (ok samples only).
        b: A second run of the same suite: the figures then come from the paired differences.
        alpha: Two-sided significance level.
        power: The wanted probability of detecting the difference.
    """
    ca = components(a)
    if b is None:
        between, within, cases = 2 * ca.between, 2 * ca.within, ca.cases  # two independent arms alike
    else:
        cb = components(b)
        shared = sorted(c for c in set(a) & set(b) if len(a[c]) and len(b[c]))
        differences = np.array([np.mean(a[c]) - np.mean(b[c]) for c in shared])
        within = ca.within + cb.within
        noise = within / max(min(ca.epochs, cb.epochs), 1)
        between = max(0.0, float(differences.var(ddof=1)) - noise) if len(shared) >= 2 else 0.0
        cases = len(shared)
    epochs = max(ca.epochs, 1)
    now = _detectable(between + within / epochs, cases, alpha, power) if cases >= 2 else None
    table = [
        PowerRow(cases=n, epochs=k, detectable=_detectable(between + within / k, n, alpha, power))
        for n in (cases * scale for scale in SCALES)
        for k in EPOCH_CHOICES
        if cases >= 2
    ]
    return Power(paired=b is not None, alpha=alpha, power=power, cases=cases, epochs=epochs, detectable=now,
                 table=table)  # fmt: skip
