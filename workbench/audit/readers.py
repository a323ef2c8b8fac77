"""Reading the rows of a dataset source, unchecked: files, saved `datasets` folders, Hugging Face names.

    entries, origin = read_source("chats.jsonl")          # [("line 1", record, None), ...], "/abs/chats.jsonl"
    entries, origin = read_source("org/chats", split="train_sft")   # via datasets.load_dataset

* `.jsonl` / `.json`: one JSON object per line (entries `line N`, physical lines, blank ones
  skipped), or one JSON array of objects (entries `row N`).
* `.csv`: a header row, then one row per record (`row N`, the header not counted); an empty cell
  is a field the row lacks.
* `.parquet`, a folder from `save_to_disk` (a `DatasetDict` by `split`), or a Hugging Face
  dataset name `org/name` that is no local path: `row N`; a null column is a field the row
  lacks, and values JSON cannot hold (timestamps, bytes) are kept as their text.

A row that cannot be read (a line that is not JSON) is an entry with a problem, not an exception;
a file that cannot be read at all raises a WorkbenchError.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

KINDS = (
    "a .jsonl file (one object per line), a .json array, a .csv file with a header row, a .parquet file, "
    "a folder from datasets' save_to_disk, or a Hugging Face dataset name (org/name)"
)
_LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
_HUB_NAME = re.compile(r"[\w.-]+/[\w.-]+")

# One row as read: where it came from ("line 3"), the record, and why it could not be read, if so.
Entry = tuple[str, Any, str | None]


def is_hub_name(source: str) -> bool:
    """Whether `source` names a Hugging Face dataset (`org/name`) rather than a local path."""
    return (
        _HUB_NAME.fullmatch(source) is not None
        and not source.startswith(".")
        and not source.lower().endswith(_LOCAL_SUFFIXES)
        and not Path(source).expanduser().exists()
    )


def read_source(source: str | Path, *, split: str = "train") -> tuple[list[Entry], str]:
    """Every row of a file, folder or Hugging Face dataset, and where they came from.

    Args:
        source: A local path, or a Hugging Face dataset name.
        split: The split of a Hugging Face name or of a saved `DatasetDict`.

    Returns:
        The entries, and the origin: the absolute path (with the split for a `DatasetDict`), or
        `huggingface:NAME (split S)`.

    Raises:
        WorkbenchError: no such path, an unsupported file type, a file that cannot be read, or a
            Hugging Face dataset that cannot be fetched.
    """
    if isinstance(source, str) and is_hub_name(source):
        return _read_hub(source, split), f"huggingface:{source} (split {split})"
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise WorkbenchError(f"No such file or folder: {path}.", hint=f"Import {KINDS}.")
    if path.is_dir():
        return _read_folder(path, split)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return _read_json(path), str(path)
    if suffix == ".csv":
        return _read_csv(path), str(path)
    if suffix == ".parquet":
        return _read_parquet(path), str(path)
    raise WorkbenchError(f"Cannot import {path}: unsupported file type {path.suffix!r}.", hint=f"Import {KINDS}.")


def _text(path: Path) -> str:
    try:
        # utf-8-sig drops a byte-order mark.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path} is not UTF-8 text: {e}.", hint="Save it as UTF-8 and import again.") from None


def _read_json(path: Path) -> list[Entry]:
    """A JSON array of rows, or JSON lines."""
    text = _text(path)
    if text.lstrip().startswith("["):
        return _json_array(path, text)
    entries = _json_lines(text)
    if any(error for _, _, error in entries):
        _refuse_one_object(path, text)
    return entries


def _refuse_one_object(path: Path, text: str) -> None:
    """Refuse a file that is one (pretty-printed) JSON object, which reads as broken lines."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))) or "none"
        raise WorkbenchError(
            f"Cannot import {path}: it holds one JSON object (keys: {keys}), not rows.",
            hint="Put the rows in a JSON array ([{...}, {...}]), or one object per line (JSONL).",
        )


def _json_array(path: Path, text: str) -> list[Entry]:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkbenchError(
            f"Cannot import {path}: not a valid JSON array: line {e.lineno}, column {e.colno}: {e.msg}; "
            "nothing was imported.",
            hint="The file may be cut short. A .json file holds one array of row objects, or one object per line.",
        ) from None
    return [(f"row {i}", row, None) for i, row in enumerate(rows, start=1)]


def _json_lines(text: str) -> list[Entry]:
    """One entry per non-blank line; a line that is not JSON becomes a problem, not an exception."""
    entries: list[Entry] = []
    # split("\n"), not splitlines(): a U+2028 that ensure_ascii=False leaves inside a JSON string
    # is no line break.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append((f"line {number}", json.loads(line), None))
        except json.JSONDecodeError as e:
            entries.append((f"line {number}", None, _json_problem(e)))
    return entries


def _json_problem(e: json.JSONDecodeError) -> str:
    problem = f"invalid JSON: {e.msg} (column {e.colno})"
    if e.msg == "Extra data":
        problem += ": a second JSON value follows the first; put each row on its own line"
    return problem


def _read_csv(path: Path) -> list[Entry]:
    # A chat in one cell easily passes csv's default cap of 131,072 characters; the row cap applies later.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    entries: list[Entry] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        try:
            for number, row in enumerate(reader, start=1):
                entries.append(_csv_entry(f"row {number}", row, len(reader.fieldnames or ())))
        except csv.Error as e:
            raise WorkbenchError(
                f"Cannot read {path} as CSV: line {reader.line_num}: {e}.", hint=f"Import {KINDS}."
            ) from None
        except UnicodeDecodeError as e:
            raise WorkbenchError(f"{path} is not UTF-8 text: {e}.", hint="Save it as UTF-8 and import again.") from None
    return entries


def _csv_entry(where: str, row: dict[str | None, Any], columns: int) -> Entry:
    if None in row:  # DictReader files cells past the header under None
        return where, None, f"{columns + len(row[None])} cells, but the header has {columns} columns"
    return where, {k: v for k, v in row.items() if k is not None and v not in (None, "")}, None


def _read_parquet(path: Path) -> list[Entry]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise WorkbenchError(f"Cannot read {path} as Parquet: {e}.", hint=f"Import {KINDS}.") from None
    return columnar(table.to_pylist())


def _read_folder(path: Path, split: str) -> tuple[list[Entry], str]:
    import datasets  # slow to import: only when a folder is read

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as e:
        raise WorkbenchError(f"Cannot import {path}: {e}", hint=f"Import {KINDS}.") from None
    if not isinstance(loaded, datasets.DatasetDict):
        return columnar(loaded.to_list()), str(path)
    if split not in loaded:
        raise WorkbenchError(
            f"{path} is a DatasetDict with no {split} split (splits: {', '.join(loaded)}).",
            hint=f"Import one split by its folder, e.g. {path / next(iter(loaded), 'SPLIT')}, or name the split.",
        )
    return columnar(loaded[split].to_list()), f"{path} (split {split})"


def _read_hub(name: str, split: str) -> list[Entry]:
    import datasets  # slow to import: only for a Hub dataset

    try:
        loaded = datasets.load_dataset(name, split=split)
    except Exception as e:  # the network, an unknown name or split, a gated dataset: each its own type
        raise WorkbenchError(
            f"Cannot load the Hugging Face dataset {name!r} (split {split}): it could not be fetched "
            f"({type(e).__name__}: {e}).",
            hint=f"Check the name and split, and log in for a gated dataset. Offline, save it where there is a "
            f"network with datasets.load_dataset({name!r}, split={split!r}).save_to_disk(FOLDER) and pass the "
            "folder instead; if you meant a local folder, it does not exist.",
        ) from None
    return columnar(loaded.to_list())


def columnar(records: list[dict[str, Any]]) -> list[Entry]:
    """Rows of a columnar source, numbered `row N`, without their null columns."""
    # Every row has every column: a null one is a field the row lacks (else a text row in a file
    # that also holds chats would be a chat with `messages: null`). Records are stored and exported
    # as JSON, so values JSON cannot hold (timestamps, bytes) are kept as their text.
    return [
        (f"row {i}", json.loads(json.dumps({k: v for k, v in r.items() if v is not None}, default=str)), None)
        for i, r in enumerate(records, start=1)
    ]
