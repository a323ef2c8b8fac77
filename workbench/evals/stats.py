"""Statistics over eval cases: bootstrap intervals, paired differences, win rates.

    estimate = bootstrap_mean([0.2, 0.5, 0.9])                    # mean with a 95% interval over cases
    estimate = case_sums_mean([2, 0], [3, 2], n=5)                # plays [1, 0, 1] and [0, 0]: cases resampled
    diff = paired_difference({"c1": 7, "c2": 3}, {"c1": 5, "c2": 3})   # A - B on the cases both scored

Cases are the unit of resampling: what generalises is the case distribution. A case played for
several epochs is one cluster: its epochs are resampled together (a cluster bootstrap), because
they share the case's difficulty; treating them as independent would shrink the interval by
about sqrt(epochs) for what is one case. Comparisons between models are paired (the same cases,
difference per case of the case means), which removes the variance that comes from how hard each case is. The percentile
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
    clusters: int | None = Field(None, description="Cases the values came from, when resampled by case.")

    @property
    def width(self) -> float | None:
        """The interval's width (None without an interval)."""
        return None if self.low is None or self.high is None else self.high - self.low


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


def case_sums_mean(
    weighted: Sequence[float], totals: Sequence[float], n: int, *, confidence: float = CONFIDENCE, seed: int = 0
) -> Estimate:
    """The (weighted) mean over every play of every case, with a percentile-bootstrap interval that
    resamples cases, from each case's sums: of weight x value (`weighted`) and of weights (`totals`).

    A cluster bootstrap needs no more than these sums per case, so a report accumulates them in one
    pass over its samples.

    Args:
        weighted: Per case, the sum of weight x value over its plays (weights: 1, or knowledge's points).
        totals: Per case, the sum of its plays' weights.
        n: The plays (values) behind the sums.
        confidence: The interval's confidence level.
        seed: The resampling seed (the same inputs give the same interval).
    """
    return _case_sums_mean(tuple(weighted), tuple(totals), n, confidence, seed)


# Cached like `_bootstrap_mean`: the Evals page summarises every run on each rerun.
@functools.lru_cache(maxsize=4096)
def _case_sums_mean(
    weighted_sums: tuple[float, ...], total_sums: tuple[float, ...], n: int, confidence: float, seed: int
) -> Estimate:
    weighted, total = np.asarray(weighted_sums, float), np.asarray(total_sums, float)
    if not weighted.size or total.sum() == 0:
        return Estimate(mean=None, low=None, high=None, n=n, clusters=int(weighted.size))
    mean = float(weighted.sum() / total.sum())
    per_case = np.divide(weighted, total, out=np.full_like(weighted, mean), where=total > 0)
    if weighted.size < 2 or np.all(per_case == per_case[0]):  # one case, or no spread between cases to resample
        low = high = mean if weighted.size >= 2 else None
        return Estimate(mean=mean, low=low, high=high, n=n, clusters=int(weighted.size))

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        chosen = index.astype(int)
        return np.asarray(weighted[chosen].sum(axis=axis) / np.maximum(total[chosen].sum(axis=axis), 1e-12))

    result = bootstrap((np.arange(weighted.size),), statistic, vectorized=True, confidence_level=confidence,
                       n_resamples=RESAMPLES, method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    interval = result.confidence_interval
    return Estimate(mean=mean, low=float(interval.low), high=float(interval.high), n=n, clusters=int(weighted.size))
