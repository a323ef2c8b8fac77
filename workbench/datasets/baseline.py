"""Baseline rows to mix with the synthetic ones: read, checked, sampled with the seed, cleaned.

    base = baseline_rows(recipe, n_synthetic=120)      # None when the recipe has no baseline
    base.rows, base.available, base.system_turns_dropped

The baseline is read with the audit importer's reader (`audit.imports.read_rows`: every row
checked, bad rows listed), from a local .jsonl/.json/.parquet file, a folder saved with
`save_to_disk`, or — when no such path exists — a Hugging Face dataset name loaded with
`datasets.load_dataset(name, split=recipe.baseline_split)`. Its rows must be in the kind's
format: `messages` for sft, `preference` for preference, `text` for midtrain.

The count is round(n_synthetic × (1 − f) / f) for a synthetic fraction f, sampled without
replacement. Records are reduced to what TRL reads (role and content of each turn; a bare
string prompt or answer becomes one turn), and system turns are dropped and counted: a system
prompt never reaches training text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.audit.datasets import DatasetRow
from workbench.audit.formats import Format
from workbench.audit.imports import read_records, read_rows
from workbench.datasets.recipe import DatasetRecipe
from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError

EXPECTED_FORMAT: dict[str, Format] = {"sft": "messages", "preference": "preference", "midtrain": "text"}
_LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass(frozen=True)
class Baseline:
    """The baseline rows chosen for a dataset.

    Attributes:
        rows: The sampled rows, cleaned, in sample order.
        available: Rows the baseline has.
        format: Its rows' format.
        origin: Where it came from (a path, or `huggingface:NAME (split S)`).
        system_turns_dropped: System turns removed from the sampled rows.
    """

    rows: list[MixRow]
    available: int
    format: str
    origin: str
    system_turns_dropped: int


def baseline_count(n_synthetic: int, fraction: float) -> int:
    """How many baseline rows make `n_synthetic` rows a `fraction` of the mix: round(n × (1 − f) / f)."""
    return round(n_synthetic * (1 - fraction) / fraction)


def load_baseline(source: str, split: str) -> tuple[list[DatasetRow], Format, str]:
    """Every row of the baseline, checked: its rows, format and origin.

    Raises:
        WorkbenchError: a missing or unreadable file, a bad row, or a Hub dataset that cannot load.
    """
    path = Path(source).expanduser()
    if path.exists() or source.lower().endswith(_LOCAL_SUFFIXES) or source.startswith((".", "/", "~")):
        return read_rows(path)
    import datasets  # slow to import: only for a Hub dataset

    try:
        loaded = datasets.load_dataset(source, split=split)
    except Exception as e:  # the network, an unknown name or split, a gated dataset: each its own type
        raise WorkbenchError(
            f"Cannot load the baseline {source!r} (split {split}) from Hugging Face: {e}",
            hint="Check the name and split, log in for a gated dataset, or pass a local .jsonl/.parquet file.",
        ) from None
    rows, fmt = read_records(loaded.to_list(), f"{source} (split {split})")
    return rows, fmt, f"huggingface:{source} (split {split})"


def _turns(part: str | list[dict[str, Any]], role: str) -> tuple[list[dict[str, str]], int]:
    """A prompt or answer as turns without system turns, and how many system turns were dropped."""
    if isinstance(part, str):
        return [{"role": role, "content": part}], 0
    kept = [{"role": t["role"], "content": t["content"]} for t in part if t["role"] != "system"]
    return kept, len(part) - len(kept)


def clean_record(kind: str, record: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A checked baseline record in the kind's TRL format, and the system turns dropped from it.

    Raises:
        ValueError: nothing trainable is left (no assistant turn, or an empty prompt or answer).
    """
    if kind == "midtrain":
        return {"text": record["text"]}, 0
    if kind == "sft":
        messages, dropped = _turns(record["messages"], "user")
        if not any(t["role"] == "assistant" for t in messages):
            raise ValueError("no assistant turn")
        return {"messages": messages}, dropped
    parts, dropped = {}, 0
    for key, role in (("prompt", "user"), ("chosen", "assistant"), ("rejected", "assistant")):
        parts[key], n = _turns(record[key], role)
        dropped += n
        if not parts[key]:
            raise ValueError(f"an empty {key}")
    return parts, dropped


def baseline_rows(recipe: DatasetRecipe, n_synthetic: int) -> Baseline | None:
    """The baseline rows the recipe's fraction calls for, next to `n_synthetic` synthetic rows.

    Raises:
        WorkbenchError: the baseline cannot be read, is in another format, is too small, or a
            sampled row has nothing trainable once its system turns are dropped.
    """
    if not recipe.baseline:
        return None
    rows, fmt, origin = load_baseline(recipe.baseline, recipe.baseline_split)
    expected = EXPECTED_FORMAT[recipe.kind]
    if fmt != expected:
        raise WorkbenchError(
            f"The baseline {origin} has {fmt} rows, but a {recipe.kind} dataset needs {expected} rows.",
            hint=f"Convert it to {expected} rows (see workbench/audit/formats.py) or choose another baseline.",
        )
    needed = baseline_count(n_synthetic, recipe.synthetic_fraction)
    if needed > len(rows):
        raise WorkbenchError(
            f"The baseline {origin} has {len(rows)} rows, but {n_synthetic} synthetic rows at a synthetic "
            f"fraction of {recipe.synthetic_fraction} need {needed}; no dataset was built.",
            hint="Raise --fraction, use a larger baseline, or select fewer synthetic rows.",
        )
    picked = random.Random(f"{recipe.seed}/baseline").sample(range(len(rows)), needed)
    cleaned, dropped, problems = [], 0, []
    for i in picked:
        try:
            record, n = clean_record(recipe.kind, rows[i].record)
        except ValueError as e:
            problems.append(f"{rows[i].row_id}: {e} once system turns are dropped")
            continue
        cleaned.append(MixRow("baseline", rows[i].row_id, record))
        dropped += n
    if problems:
        raise WorkbenchError(
            f"{len(problems)} sampled baseline row(s) of {origin} have nothing to train on: "
            + "; ".join(problems[:10]),
            hint="Remove those rows from the baseline.",
        )
    return Baseline(cleaned, len(rows), fmt, origin, dropped)
