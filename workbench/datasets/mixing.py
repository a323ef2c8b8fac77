"""Mixing at a synthetic fraction, and sweeps: one dataset per fraction, arms that differ only in it.

    arms = sweep_recipes(recipe, [0, 0.5, 1.0])       # mix-f0, mix-f50, mix-f100, each with `sweep=(0, 0.5, 1)`
    size = baseline_sample_size(n_synthetic, recipe.fractions())
    synthetic, baseline = arm_rows(arm, pool, sample)

A dataset on its own takes every synthetic row that passed the filters and round(n × (1 − f) / f)
baseline rows. A sweep shares one baseline sample between its arms, so that what changes from arm
to arm is the synthetic share and nothing else:

* the sample is the one the highest fraction below 1 takes next to every synthetic row, as if
  that fraction were built alone (so that arm *is* the dataset built alone);
* every arm below 1 trains on that same sample, with round(B × f / (1 − f)) synthetic rows, a
  seeded subset of the pool (nested: a lower fraction's rows are among a higher one's);
* fraction 0, the seed's control arm, is the sample alone; fraction 1 is every synthetic row and
  no baseline. A sweep of only 0 and 1 sizes the sample as the pool: the control arm is as large
  as the all-synthetic one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable

from workbench.datasets.recipe import DatasetRecipe
from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError


def baseline_count(n_synthetic: int, fraction: float) -> int:
    """How many baseline rows make `n_synthetic` rows a `fraction` of the mix: round(n × (1 − f) / f)."""
    return round(n_synthetic * (1 - fraction) / fraction)


def sizing_fraction(fractions: Iterable[float]) -> float | None:
    """The fraction that sizes the shared baseline sample: the highest below 1 and above 0, if any."""
    return max((f for f in fractions if 0 < f < 1), default=None)


def baseline_sample_size(n_synthetic: int, fractions: tuple[float, ...]) -> int:
    """Rows in the (shared) baseline sample of a dataset or sweep with `n_synthetic` rows in its pool."""
    if min(fractions) == 1:
        return 0
    anchor = sizing_fraction(fractions)
    return n_synthetic if anchor is None else baseline_count(n_synthetic, anchor)


def arm_name(name: str, fraction: float) -> str:
    """`NAME-fPCT`: `mix-f25` for 0.25, `mix-f0`, `mix-f100`, `mix-f12.5`."""
    return f"{name}-f{fraction * 100:g}"


def sweep_recipes(recipe: DatasetRecipe, fractions: Iterable[float]) -> list[DatasetRecipe]:
    """One recipe per distinct fraction (ascending), named `arm_name`, each knowing the whole sweep.

    Raises:
        WorkbenchError: no fraction, one out of [0, 1], or a baseline missing (or given for 1 alone).
    """
    sweep = tuple(sorted({float(f) for f in fractions}))  # floats: 0 and 0.0 make the same recipe key
    if not sweep:
        raise WorkbenchError("A sweep needs at least one synthetic fraction.", hint="e.g. --fraction 0,0.5,1")
    return [
        dataclasses.replace(recipe, name=arm_name(recipe.name, f), synthetic_fraction=f, sweep=sweep) for f in sweep
    ]


def _synthetic_count(recipe: DatasetRecipe, n_pool: int, n_baseline: int) -> int:
    """How many of the pool's rows an arm takes next to the shared baseline sample."""
    f = recipe.synthetic_fraction
    if f in (0, 1) or f == sizing_fraction(recipe.fractions()):
        return n_pool if f else 0
    return min(n_pool, round(n_baseline * f / (1 - f)))


def arm_rows(recipe: DatasetRecipe, pool: list[MixRow], sample: list[MixRow]) -> tuple[list[MixRow], list[MixRow]]:
    """The synthetic rows (in pool order) and baseline rows of one arm, from the pool and the shared sample.

    Raises:
        WorkbenchError: the arm would take no synthetic row at a fraction above 0, or have no row at all.
    """
    f = recipe.synthetic_fraction
    baseline = [] if f == 1 else sample
    count = _synthetic_count(recipe, len(pool), len(sample))
    if f > 0 and count == 0:
        raise WorkbenchError(
            f"At a synthetic fraction of {f}, the shared baseline sample of {len(sample)} rows takes no synthetic "
            "row; no dataset was built.",
            hint="Choose larger fractions, or select more synthetic rows (the sample is sized for the highest "
            "fraction below 1).",
        )
    if not count and not baseline:
        raise WorkbenchError(
            f"The baseline-only arm {recipe.name!r} would have no rows: the shared baseline sample is empty; "
            "no dataset was built.",
            hint="Add a fraction nearer 0 (e.g. 0.5) so that the sample has rows, or select more synthetic rows.",
        )
    order = random.Random(f"{recipe.seed}/synthetic").sample(range(len(pool)), len(pool))
    return [pool[i] for i in sorted(order[:count])], baseline
