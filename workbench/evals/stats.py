"""Statistics over eval cases: bootstrap intervals, paired differences, win rates.

    estimate = bootstrap_mean([0.2, 0.5, 0.9])                    # mean with a 95% interval over cases
    diff = paired_difference({"c1": 7, "c2": 3}, {"c1": 5, "c2": 3})   # A - B on the cases both scored

Cases are the unit of resampling: a suite's samples are one per case, and what generalises is
the case distribution. Comparisons between models are paired (the same cases, difference per
case), which removes the variance that comes from how hard each case is. The percentile
bootstrap (scipy) is used: it needs no normality and stays inside the range of the data.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import bootstrap

CONFIDENCE = 0.95
RESAMPLES = 4000


class Estimate(BaseModel):
    """A mean over cases with a bootstrap confidence interval (frozen: estimates are cached and shared)."""

    model_config = ConfigDict(frozen=True)

    mean: float | None = Field(description="The mean (None when there is nothing to average).")
    low: float | None = Field(description="Lower end of the interval (None below two values).")
    high: float | None = Field(description="Upper end of the interval (None below two values).")
    n: int = Field(description="Values averaged.")


def bootstrap_mean(values: Sequence[float], *, confidence: float = CONFIDENCE, seed: int = 0) -> Estimate:
    """The mean of `values` with a percentile-bootstrap interval."""
    return _bootstrap_mean(tuple(values), confidence, seed)


# The same values, confidence and seed give the same interval, so pages that redraw a run's scores on
# every rerun reuse it instead of resampling again.
@functools.lru_cache(maxsize=4096)
def _bootstrap_mean(values: tuple[float, ...], confidence: float, seed: int) -> Estimate:
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Estimate(mean=None, low=None, high=None, n=0)
    mean = float(data.mean())
    if data.size < 2:
        return Estimate(mean=mean, low=None, high=None, n=1)
    if np.all(data == data[0]):  # no spread to resample: the interval is the point
        return Estimate(mean=mean, low=mean, high=mean, n=int(data.size))
    result = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=RESAMPLES, method="percentile",
                       rng=np.random.default_rng(seed))  # fmt: skip
    interval = result.confidence_interval
    return Estimate(mean=mean, low=float(interval.low), high=float(interval.high), n=int(data.size))


def paired_difference(a: Mapping[str, float], b: Mapping[str, float], *, seed: int = 0) -> Estimate:
    """Mean of a[case] - b[case] over the cases both have, with a bootstrap interval over those cases."""
    shared = sorted(set(a) & set(b))
    return bootstrap_mean([a[c] - b[c] for c in shared], seed=seed)


def win_rate(outcomes: Sequence[float], *, seed: int = 0) -> Estimate:
    """Share of wins (1 a win, 0.5 a tie, 0 a loss) with a bootstrap interval; 0.5 means no difference."""
    return bootstrap_mean(outcomes, seed=seed)
