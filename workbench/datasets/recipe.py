"""What a training dataset is made of: `DatasetRecipe`.

    recipe = DatasetRecipe(name="sft-mix", kind="sft", min_scores={"quality": 4, "max_leakage": 1},
                           keep_audit_dataset="sft without validation openers (strict)",
                           baseline="HuggingFaceH4/ultrachat_200k", baseline_split="train_sft",
                           synthetic_fraction=0.5, validation_fraction=0.05, seed=0)
    arm = DatasetRecipe(name="mix-f0", baseline="chats.jsonl", synthetic_fraction=0, sweep=(0, 0.5, 1))

A recipe is checked when it is made, so a bad one fails before anything is read. Its JSON form
(`as_json`) goes into the dataset's id and manifest. A recipe with `sweep` is one arm of a sweep
(`mixing.py`): the arms share one baseline sample and differ only in the synthetic fraction.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from workbench.audit.mapping import parse_map
from workbench.errors import WorkbenchError

Kind = Literal["sft", "preference", "midtrain"]
KINDS: tuple[str, ...] = get_args(Kind)

# Score names a recipe may set: the autorater's minimums, and the most leakage allowed.
MIN_SCORES = ("realism", "quality", "embodiment")
MAX_SCORES = {"max_leakage": "leakage"}
SCORE_NAMES: tuple[str, ...] = (*MIN_SCORES, *MAX_SCORES)


@dataclass(frozen=True)
class DatasetRecipe:
    """How to build a training dataset.

    Attributes:
        name: A name for people; several datasets may share one (the newest wins in look-ups).
        kind: `sft` (chats `{"messages"}`), `preference` (`{"prompt", "chosen", "rejected"}`, the
            accepted examples that have a checked rejected answer) or `midtrain` (the accepted
            documents as `{"text"}`).
        traits_ref: Only rows of this traits version (name, `name@N` or id prefix); all if None.
        min_scores: Autorater thresholds on the rows' `scores`: `realism`, `quality`,
            `embodiment` are minimums (1-5), `max_leakage` a maximum. A row without scores fails
            any threshold. None keeps every accepted row.
        keep_audit_dataset: An audit dataset (name, id or id prefix) drawn from the same store
            rows, e.g. one made by `audit filter`; only rows whose ids are in it are kept. This is
            how pattern exclusions apply (the builder itself makes no model calls).
        audit_dataset: Take the rows from this audit dataset (name, id or id prefix) instead of
            the store's accepted rows: a file brought in with `audit import`, or one `audit filter`
            made from it. Its rows must be in the kind's format (sft: messages or
            prompt/completion turns; preference: prompt/chosen/rejected; midtrain: text). It
            selects the rows itself, so `traits_ref`, `min_scores` and `keep_audit_dataset` must
            be left unset.
        baseline: Baseline SFT data to mix in, in the kind's format (sft: messages; preference:
            prompt/chosen/rejected; midtrain: text): a local .jsonl/.parquet file, a folder saved
            with `datasets`' `save_to_disk` (its `train` split, for a DatasetDict), or a Hugging
            Face dataset name. None for synthetic rows only.
        baseline_split: The split of a Hugging Face dataset name (or saved DatasetDict) to load.
        baseline_map: Where each part of a baseline row is, as `ROLE=PATH` strings (see
            `workbench.audit.mapping`), for a baseline in no known format; None reads it as it is.
        synthetic_fraction: synthetic / (synthetic + baseline), in [0, 1]; below 1 needs a baseline;
            0 (baseline rows only) only as an arm of a sweep, whose shared baseline sample sets its size.
        validation_fraction: The share of the mixed rows held out for validation, in [0, 1).
        seed: Seeds the baseline sample, the shuffle and the split.
        sweep: The fractions of the sweep this recipe is an arm of (its own among them), sorted;
            None for a dataset on its own. They size the shared baseline sample (`mixing.py`).
    """

    name: str
    kind: Kind = "sft"
    traits_ref: str | None = None
    min_scores: dict[str, int] | None = None
    keep_audit_dataset: str | None = None
    audit_dataset: str | None = None
    baseline: str | None = None
    baseline_split: str = "train"
    baseline_map: tuple[str, ...] | None = None
    synthetic_fraction: float = 1.0
    validation_fraction: float = 0.05
    seed: int = 0
    sweep: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        """Check every field.

        Raises:
            WorkbenchError: an empty name, unknown kind or score, or a fraction out of range.
        """
        if not self.name.strip():
            raise WorkbenchError("A training dataset needs a name.")
        if self.kind not in KINDS:
            raise WorkbenchError(f"Unknown dataset kind {self.kind!r}.", hint=f"Use one of {', '.join(KINDS)}.")
        _check_scores(self.min_scores or {})
        store_filters = [n for n in ("traits_ref", "min_scores", "keep_audit_dataset") if getattr(self, n)]
        if self.audit_dataset and store_filters:
            raise WorkbenchError(
                f"An audit dataset supplies the rows itself; {', '.join(store_filters)} select store rows.",
                hint="Leave those out, or build from the store's accepted rows without an audit dataset.",
            )
        self._check_fractions()
        if not 0 <= self.validation_fraction < 1:
            raise WorkbenchError(f"The validation fraction must be in [0, 1), not {self.validation_fraction}.")
        if self.baseline_map and not self.baseline:
            raise WorkbenchError("A baseline map was given, but no baseline.", hint="Pass the baseline it maps.")
        if self.baseline_map:
            parse_map(self.baseline_map, option="--baseline-map")

    def _check_fractions(self) -> None:
        """The fraction (and the sweep's) in range, with a baseline exactly when some fraction is below 1."""
        fractions = self.fractions()
        outside = [f for f in fractions if not 0 <= f <= 1]
        if outside:
            raise WorkbenchError(
                f"A synthetic fraction must be in [0, 1], not {', '.join(map(str, outside))}.",
                hint="e.g. 0.5 for half synthetic rows, 1 for synthetic rows only, 0 for the baseline-only arm.",
            )
        if self.sweep is not None and self.synthetic_fraction not in self.sweep:
            raise WorkbenchError(
                f"The fraction {self.synthetic_fraction} is not one of its sweep's {list(self.sweep)}.",
                hint="Make a sweep's recipes with `mixing.sweep_recipes` (or `build_sweep`).",
            )
        if self.sweep is None and self.synthetic_fraction == 0:
            raise WorkbenchError(
                "A synthetic fraction of 0 (baseline rows only) is the control arm of a sweep: alone it has no size.",
                hint="Build it with the arms it controls, e.g. `--fraction 0,0.5,1`: it gets their baseline sample.",
            )
        below = min(fractions)
        if below < 1 and not self.baseline:
            raise WorkbenchError(
                f"A synthetic fraction of {below} needs baseline rows to make up the rest.",
                hint="Pass a baseline (a .jsonl/.parquet file, a saved dataset folder or a Hugging Face name).",
            )
        if self.baseline and below == 1:
            raise WorkbenchError(
                "A synthetic fraction of 1 takes no baseline rows, but a baseline was given.",
                hint="Choose a fraction below 1 (e.g. 0.5), or leave the baseline out.",
            )

    def fractions(self) -> tuple[float, ...]:
        """The fractions that size the baseline sample: the sweep's, or this recipe's own."""
        return self.sweep if self.sweep is not None else (self.synthetic_fraction,)

    def as_json(self) -> dict[str, Any]:
        """The recipe as a JSON-ready dict (score names sorted), for ids and manifests."""
        values = dataclasses.asdict(self)
        for field in ("audit_dataset", "baseline_map", "sweep"):
            if values[field] is None:
                # Left out when unset so that recipes written before the field existed keep their ids.
                del values[field]
        values["min_scores"] = dict(sorted(self.min_scores.items())) if self.min_scores else None
        return values

    def key(self) -> str:
        """The recipe as canonical JSON: equal recipes, equal keys."""
        return json.dumps(self.as_json(), sort_keys=True)


def _check_scores(scores: dict[str, int]) -> None:
    unknown = sorted(set(scores) - set(SCORE_NAMES))
    if unknown:
        raise WorkbenchError(f"Unknown score {', '.join(unknown)}.", hint=f"Use {', '.join(SCORE_NAMES)}.")
    for name, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise WorkbenchError(f"Score threshold {name}={value!r} must be a whole number from 1 to 5.")


def passes_scores(scores: dict[str, Any] | None, thresholds: dict[str, int]) -> bool:
    """Whether a row's autorater `scores` meet every threshold (a row without scores meets none)."""
    if not thresholds:
        return True
    if not scores:
        return False
    for name, limit in thresholds.items():
        value = scores.get(MAX_SCORES.get(name, name))
        if not isinstance(value, int | float):
            return False
        if (value > limit) if name in MAX_SCORES else (value < limit):
            return False
    return True
