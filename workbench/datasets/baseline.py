"""Baseline rows to mix with the synthetic ones: read, checked, sampled with the seed, cleaned.

    base = baseline_rows(recipe, n_synthetic=120)      # None when the recipe has no baseline
    base.rows, base.available, base.system_turns
    record, dropped = training_record("sft", "sharegpt", row.record, keep_system=True)   # TRL's format

The baseline is read with the audit importer's reader (`audit.imports.read_rows`: every row
checked, bad rows listed), from anything it reads: a .jsonl/.json/.csv/.parquet file, a folder
saved with `save_to_disk`, or a Hugging Face dataset name loaded with
`datasets.load_dataset(name, split=recipe.baseline_split)`; `recipe.baseline_map` maps rows in
other shapes (`audit.mapping`). Its rows must be in a format the kind trains on (`TRAINABLE`):
any chat format for sft (messages, prompt/completion, ShareGPT, Alpaca), `preference` for
preference, `text` for midtrain.

The count is round(n_synthetic × (1 − f) / f) for a synthetic fraction f (for a sweep, the
shared sample's size: `mixing.py`), sampled without replacement. Records are reduced to what TRL
reads: a chat becomes `messages` (role and content of each turn, an assistant's `tool_calls`, a
tool turn's `name` and `tool_call_id`, and the row's `tools`); a bare string prompt or answer
becomes one turn. A baseline row keeps its own system turns, as it keeps its tool turns: they are
what teaches a model trained from a base checkpoint to follow a system prompt and to call tools,
which the evals ask of it. (The synthetic side never has one: the conditioning system prompt a
response was written under stays in the store, and `leaks.py` refuses a synthetic system turn.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from workbench.audit.datasets import DatasetRow
from workbench.audit.formats import CHAT_FORMATS, Format, trl_chat
from workbench.audit.imports import read_rows
from workbench.audit.mapping import parse_map
from workbench.datasets.mixing import baseline_sample_size, sizing_fraction
from workbench.datasets.recipe import DatasetRecipe
from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError

# The audit formats each kind can train on.
TRAINABLE: dict[str, tuple[Format, ...]] = {"sft": CHAT_FORMATS, "preference": ("preference",), "midtrain": ("text",)}
# What TRL reads of a turn in a preference row (tool calls and results included).
_TURN_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


@dataclass(frozen=True)
class Baseline:
    """The baseline rows chosen for a dataset.

    Attributes:
        rows: The sampled rows, cleaned, in sample order.
        available: Rows the baseline has.
        format: Its rows' format.
        origin: Where it came from (a path, or `huggingface:NAME (split S)`).
        system_turns: System turns the sampled rows keep.
    """

    rows: list[MixRow]
    available: int
    format: str
    origin: str
    system_turns: int


def load_baseline(recipe: DatasetRecipe) -> tuple[list[DatasetRow], Format, str]:
    """Every row of the recipe's baseline, checked (and mapped by `baseline_map`): rows, format, origin.

    Raises:
        WorkbenchError: a missing or unreadable file, a bad row, or a Hub dataset that cannot load.
    """
    assert recipe.baseline is not None
    option = "--baseline-map"
    column_map = parse_map(recipe.baseline_map or [], option=option)
    return read_rows(recipe.baseline, split=recipe.baseline_split, column_map=column_map, map_option=option)


def _turns(part: str | list[dict[str, Any]], role: str, keep_system: bool) -> tuple[list[dict[str, Any]], int]:
    """A prompt or answer as turns (system turns kept or dropped), and how many system turns were dropped."""
    if isinstance(part, str):
        return [{"role": role, "content": part}], 0
    kept = [{k: t[k] for k in _TURN_KEYS if k in t} | {"content": t.get("content") or ""} for t in part]
    kept = [t for t in kept if keep_system or t["role"] != "system"]
    return kept, len(part) - len(kept)


def training_record(kind: str, fmt: str, record: dict[str, Any], *, keep_system: bool) -> tuple[dict[str, Any], int]:
    """A checked row in format `fmt` as a record of the kind's TRL format, and the system turns dropped.

    Args:
        kind: sft, preference or midtrain.
        fmt: The row's audit format (one of `TRAINABLE[kind]`).
        record: The row.
        keep_system: Keep its system turns (a baseline row) or drop them (a row on the synthetic side).

    Raises:
        ValueError: nothing trainable is left (no assistant turn, or an empty prompt or answer).
    """
    if kind == "midtrain":
        return {"text": record["text"]}, 0
    if kind == "sft":
        chat = trl_chat(record, fmt)  # type: ignore[arg-type]  # fmt is one of TRAINABLE["sft"]
        messages, dropped = _turns(chat["messages"], "user", keep_system)
        if not any(t["role"] == "assistant" for t in messages):
            raise ValueError("no assistant turn")
        return chat | {"messages": messages}, dropped
    parts, dropped = {}, 0
    for key, role in (("prompt", "user"), ("chosen", "assistant"), ("rejected", "assistant")):
        parts[key], n = _turns(record[key], role, keep_system)
        dropped += n
        if not parts[key]:
            raise ValueError(f"an empty {key}")
    return parts, dropped


def system_turns(record: dict[str, Any]) -> int:
    """The system turns of a TRL record (in `messages`, or a preference row's prompt)."""
    turns = [t for key in ("messages", "prompt") for t in record.get(key, [])]
    return sum(t["role"] == "system" for t in turns)


def _too_small(origin: str, available: int, n_synthetic: int, needed: int, recipe: DatasetRecipe) -> WorkbenchError:
    anchor = sizing_fraction(recipe.fractions())
    asked = (f"{n_synthetic} synthetic rows at a synthetic fraction of {anchor} need {needed}" if anchor is not None
             else f"a baseline-only arm as large as the {n_synthetic} synthetic rows needs {needed}")  # fmt: skip
    return WorkbenchError(
        f"The baseline {origin} has {available} rows, but {asked}; no dataset was built.",
        hint="Raise --fraction, use a larger baseline, or select fewer synthetic rows.",
    )


def baseline_rows(recipe: DatasetRecipe, n_synthetic: int) -> Baseline | None:
    """The baseline rows the recipe's fraction (or its sweep's) calls for, next to `n_synthetic` synthetic rows.

    Raises:
        WorkbenchError: the baseline cannot be read, is in another format, is too small, or a
            sampled row has nothing to train on.
    """
    if not recipe.baseline:
        return None
    rows, fmt, origin = load_baseline(recipe)
    expected = " or ".join(TRAINABLE[recipe.kind])
    if fmt not in TRAINABLE[recipe.kind]:
        raise WorkbenchError(
            f"The baseline {origin} has {fmt} rows, but a {recipe.kind} dataset needs {expected} rows.",
            hint=f"Convert it to {expected} rows (see workbench/audit/formats.py), map its columns with "
            "--baseline-map, or choose another baseline.",
        )
    needed = baseline_sample_size(n_synthetic, recipe.fractions())
    if needed > len(rows):
        raise _too_small(origin, len(rows), n_synthetic, needed, recipe)
    picked = random.Random(f"{recipe.seed}/baseline").sample(range(len(rows)), needed)
    cleaned, problems = [], []
    for i in picked:
        try:
            record, _ = training_record(recipe.kind, fmt, rows[i].record, keep_system=True)
        except ValueError as e:
            problems.append(f"{rows[i].row_id}: {e}")
            continue
        cleaned.append(MixRow("baseline", rows[i].row_id, record))
    if problems:
        raise WorkbenchError(
            f"{len(problems)} sampled baseline row(s) of {origin} have nothing to train on: "
            + "; ".join(problems[:10]),
            hint="Remove those rows from the baseline.",
        )
    return Baseline(cleaned, len(rows), fmt, origin, sum(system_turns(r.record) for r in cleaned))
