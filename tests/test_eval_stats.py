"""Eval statistics on known distributions: intervals cover the truth, paired differences are right."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.evals.stats import bootstrap_mean, paired_difference, win_rate


def test_the_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    true_mean, trials = 3.0, 200
    covered = 0
    for seed in range(trials):
        sample = rng.normal(true_mean, 2.0, size=60)
        estimate = bootstrap_mean(sample.tolist(), seed=seed)
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= true_mean <= estimate.high
    assert 0.88 <= covered / trials <= 0.99  # percentile bootstrap at n=60: close to nominal


def test_the_interval_narrows_with_more_cases_and_the_mean_is_exact() -> None:
    rng = np.random.default_rng(2)
    small, large = rng.uniform(0, 10, 20), rng.uniform(0, 10, 2000)
    a, b = bootstrap_mean(small.tolist()), bootstrap_mean(large.tolist())
    assert a.mean == pytest.approx(small.mean()) and b.mean == pytest.approx(large.mean())
    assert (b.high - b.low) < (a.high - a.low) / 5  # type: ignore[operator]
    assert b.low < 5.0 < b.high  # type: ignore[operator]


def test_degenerate_inputs() -> None:
    assert bootstrap_mean([]).mean is None and bootstrap_mean([]).n == 0
    one = bootstrap_mean([4.0])
    assert (one.mean, one.low, one.high, one.n) == (4.0, None, None, 1)
    same = bootstrap_mean([2.0, 2.0, 2.0])
    assert (same.mean, same.low, same.high) == (2.0, 2.0, 2.0)


def test_the_paired_difference_uses_only_shared_cases_and_removes_case_difficulty() -> None:
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0, 5, 100)  # large per-case variation shared by both models
    a = {f"c{i}": float(d + 1.0 + rng.normal(0, 0.3)) for i, d in enumerate(difficulty)}
    b = {f"c{i}": float(d + rng.normal(0, 0.3)) for i, d in enumerate(difficulty)}
    b["only-b"] = 100.0  # not shared: ignored
    diff = paired_difference(a, b)
    assert diff.n == 100
    assert diff.mean == pytest.approx(np.mean([a[k] - b[k] for k in a]))
    assert diff.low is not None and diff.high is not None and 0.8 < diff.low < 1.0 < diff.high < 1.2
    unpaired = bootstrap_mean(list(a.values()))
    assert (diff.high - diff.low) < (unpaired.high - unpaired.low) / 5  # type: ignore[operator]


def test_win_rate_half_means_no_difference() -> None:
    ties = win_rate([0.5] * 30)
    assert (ties.mean, ties.low, ties.high) == (0.5, 0.5, 0.5)
    mixed = win_rate([1.0, 0.0] * 25)
    assert mixed.mean == 0.5 and mixed.low < 0.5 < mixed.high  # type: ignore[operator]
    better = win_rate([1.0] * 40 + [0.0] * 10)
    assert better.low > 0.5  # type: ignore[operator]
