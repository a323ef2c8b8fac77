"""Import a dataset file to audit: JSONL, Parquet, or a Hugging Face dataset saved to disk.

    dataset = import_file(project, Path("chats.jsonl"))                  # format from the first row
    dataset = import_file(project, Path("prefs.parquet"), name="prefs", format="preference")
    dataset = import_file(project, Path("hf_dir"))                       # from `Dataset.save_to_disk`
    rows, fmt, origin = read_rows(Path("chats.jsonl"), max_row_chars=200_000)  # the same checks, nothing stored
    rows, fmt = read_records(hf_dataset.to_list(), "org/name")           # rows already loaded

Rows may be in any format of `formats.py`, all in one. Every row is parsed and rendered before
anything is written, so a file with a bad row imports nothing; the error lists the bad rows by
line (JSONL, 1-based physical lines; blank lines are skipped) or `row N` (Parquet, HF, 1-based).
A row whose text is longer than `[limits] max_row_chars` is a bad row too (`import_file` applies
the project's cap), so one giant row never reaches a prompt.

* Row ids: the rows' own `id` fields (strings or ints) if every row has one and they are unique,
  else where each row came from (`line 3`, `row 3`).
* Groups (what prevalence is broken down by): a row's `group` field, else its `trait`, else none.
* A Parquet or HF dataset gives every row every column, so a null column counts as absent, and
  values JSON cannot hold (timestamps, bytes) are kept as their text.
* A `DatasetDict` is imported by its `train` split; import another split by its own folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.audit.datasets import AuditDataset, DatasetRow, save_dataset
from workbench.audit.formats import FORMATS, Format, detect_format, render_record
from workbench.errors import WorkbenchError
from workbench.project import Project

_MAX_PROBLEMS = 20
_KINDS = "a .jsonl or .json file (one object per line), a .parquet file, or a folder from datasets' save_to_disk"

# One row as read: where it came from ("line 3"), the record, and why it could not be read, if so.
Entry = tuple[str, Any, str | None]


def import_file(project: Project, path: Path, *, name: str | None = None, format: Format | None = None) -> AuditDataset:
    """Check every row of a file, then store it as a dataset to audit (source `file`).

    Args:
        project: The project whose store receives the dataset.
        path: A JSONL/JSON-lines file, a Parquet file, or a Hugging Face dataset folder.
        name: The dataset's name; defaults to the file's stem.
        format: The rows' format; detected from the first row if not given.

    Returns:
        The stored dataset, or the identical one already stored if these rows were imported before.

    Raises:
        WorkbenchError: the file is missing, unsupported, empty, has a bad row (all are listed), or
            has a row longer than `[limits] max_row_chars` (nothing is stored then either).
    """
    rows, fmt, origin = read_rows(path, format=format, max_row_chars=project.config.limits.max_row_chars)
    name = name or Path(path).expanduser().resolve().stem
    return save_dataset(project, name=name, source="file", format=fmt, rows=rows, origin=origin)


def read_rows(
    path: Path, *, format: Format | None = None, max_row_chars: int | None = None
) -> tuple[list[DatasetRow], Format, str]:
    """Read and check every row of a file, storing nothing (what `import_file` saves).

    Args:
        path: A JSONL/JSON-lines file, a Parquet file, or a Hugging Face dataset folder.
        format: The rows' format; detected from the first row if not given.
        max_row_chars: Refuse rows whose text is longer (None: no cap).

    Returns:
        The rows (with ids and groups), their format, and where they came from (the path, and
        the split for a `DatasetDict`).

    Raises:
        WorkbenchError: the file is missing, unsupported, empty, or has a bad row (all are listed),
            or rows longer than `max_row_chars` (listed by where they are).
    """
    _check_format(format)
    path = Path(path).expanduser().resolve()
    entries, split = _read(path)
    rows, fmt = _checked(entries, str(path), format, json_file=path.suffix.lower() == ".json")
    _check_sizes(entries, rows, str(path), max_row_chars)
    return rows, fmt, f"{path} (split {split})" if split else str(path)


def read_records(
    records: list[dict[str, Any]], source: str, *, format: Format | None = None, max_row_chars: int | None = None
) -> tuple[list[DatasetRow], Format]:
    """Check rows already loaded in columnar form (a Hugging Face dataset's `to_list()`), numbered `row N`.

    Args:
        records: One dict per row; a null column counts as absent.
        source: What the rows are called in errors (a dataset name).
        format: The rows' format; detected from the first row if not given.
        max_row_chars: Refuse rows whose text is longer (None: no cap).

    Raises:
        WorkbenchError: no rows, or a bad row (all are listed).
    """
    _check_format(format)
    entries = _columnar(records)
    rows, fmt = _checked(entries, source, format, json_file=False)
    _check_sizes(entries, rows, source, max_row_chars)
    return rows, fmt


def size_problems(texts: Iterable[tuple[str, str]], max_chars: int) -> list[str]:
    """`WHERE: N characters, over the cap` for each (where, text) longer than `max_chars`."""
    return [
        f"{where}: {len(text):,} characters, over the {max_chars:,}-character cap"
        for where, text in texts
        if len(text) > max_chars
    ]


CAP_HINT = (
    "Cut or drop those rows, or raise the cap: `[limits] max_row_chars` in workbench.toml, "
    "or the environment variable WORKBENCH_LIMITS__MAX_ROW_CHARS."
)
"""How to get past `size_problems` (the cap is a guard against sending a giant row in a paid call)."""


def _check_sizes(entries: list[Entry], rows: list[DatasetRow], source: str, max_chars: int | None) -> None:
    """Refuse the file if a row's text is over the cap, naming each such row by where it is."""
    if max_chars is None:
        return
    problems = size_problems(((where, row.text) for (where, _, _), row in zip(entries, rows, strict=True)), max_chars)
    if problems:
        raise WorkbenchError(_report(source, problems), hint=CAP_HINT)


def _check_format(format: Format | None) -> None:
    if format is not None and format not in FORMATS:
        raise WorkbenchError(f"Unknown format {format!r}.", hint=f"Use one of {', '.join(FORMATS)}.")


def _checked(
    entries: list[Entry], source: str, format: Format | None, *, json_file: bool
) -> tuple[list[DatasetRow], Format]:
    """Every entry rendered in one format, or a WorkbenchError listing the bad ones."""
    if not entries:
        raise WorkbenchError(f"{source} has no rows; nothing was imported.", hint=f"Import {_KINDS}.")
    fmt = format or _first_format(entries)
    rows, problems = _check(entries, fmt, explicit=format is not None)
    if problems or fmt is None:
        hint = f"Fix these rows (formats: {', '.join(FORMATS)})."
        if json_file:  # a JSON array is the likeliest mistake
            hint += " A .json file must hold one JSON object per line, not an array."
        raise WorkbenchError(_report(source, problems), hint=hint)
    return rows, fmt


def _read(path: Path) -> tuple[list[Entry], str | None]:
    """The file's rows, and the split they came from (for a `DatasetDict`)."""
    if not path.exists():
        raise WorkbenchError(f"No such file or folder: {path}.", hint=f"Import {_KINDS}.")
    if path.is_dir():
        return _read_hf(path)
    if path.suffix.lower() in (".jsonl", ".json"):
        return _read_jsonl(path), None
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path), None
    raise WorkbenchError(f"Cannot import {path}: unsupported file type {path.suffix!r}.", hint=f"Import {_KINDS}.")


def _read_jsonl(path: Path) -> list[Entry]:
    """One entry per non-blank line; a line that is not JSON becomes a problem, not an exception."""
    entries: list[Entry] = []
    try:
        # utf-8-sig drops a byte-order mark; text-mode iteration splits on \n only, never on a
        # U+2028 that ensure_ascii=False leaves inside a JSON string.
        with path.open(encoding="utf-8-sig") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entries.append((f"line {number}", json.loads(line), None))
                except json.JSONDecodeError as e:
                    entries.append((f"line {number}", None, f"invalid JSON: {e.msg} (column {e.colno})"))
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path} is not UTF-8 text: {e}.", hint="Save it as UTF-8 and import again.") from None
    return entries


def _read_parquet(path: Path) -> list[Entry]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise WorkbenchError(f"Cannot read {path} as Parquet: {e}.", hint=f"Import {_KINDS}.") from None
    return _columnar(table.to_pylist())


def _read_hf(path: Path) -> tuple[list[Entry], str | None]:
    import datasets  # slow to import: only when a folder is imported

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as e:
        raise WorkbenchError(f"Cannot import {path}: {e}", hint=f"Import {_KINDS}.") from None
    if not isinstance(loaded, datasets.DatasetDict):
        return _columnar(loaded.to_list()), None
    if "train" not in loaded:
        raise WorkbenchError(
            f"{path} is a DatasetDict with no train split (splits: {', '.join(loaded)}).",
            hint=f"Import one split by its folder, e.g. {path / next(iter(loaded), 'SPLIT')}.",
        )
    return _columnar(loaded["train"].to_list()), "train"


def _columnar(records: list[dict[str, Any]]) -> list[Entry]:
    # Every row has every column: a null one is a field the row lacks (else a text row in a file
    # that also holds chats would be a chat with `messages: null`). Records are stored and exported
    # as JSON, so values JSON cannot hold (timestamps, bytes) are kept as their text.
    return [
        (f"row {i}", json.loads(json.dumps({k: v for k, v in r.items() if v is not None}, default=str)), None)
        for i, r in enumerate(records, start=1)
    ]


def _first_format(entries: list[Entry]) -> Format | None:
    """The format of the first row whose format can be told, if any."""
    for _, record, error in entries:
        if error is None:
            try:
                return detect_format(record)
            except ValueError:
                continue
    return None


def _check(entries: list[Entry], fmt: Format | None, *, explicit: bool) -> tuple[list[DatasetRow], list[str]]:
    """Render every row; the rows (with ids and groups) and a problem per bad row."""
    problems: list[str] = []
    texts: list[str] = []
    for where, record, error in entries:
        try:
            if error is not None:
                raise ValueError(error)
            texts.append(_render(record, fmt, explicit=explicit))
        except ValueError as e:
            problems.append(f"{where}: {e}")
    if problems:
        return [], problems
    records = [record for _, record, _ in entries]
    ids = _own_ids(records) or [where for where, _, _ in entries]
    return [DatasetRow(i, r, t, _group(r)) for i, r, t in zip(ids, records, texts, strict=True)], []


def _render(record: Any, fmt: Format | None, *, explicit: bool) -> str:
    """What the auditor reads of one row, or a ValueError saying what is wrong with it."""
    try:
        detected: Format | None = detect_format(record)
    except ValueError:
        # With a format given, a row with unexpected keys still gets render_record's field errors.
        if not explicit or not isinstance(record, dict):
            raise
        detected = None
    assert fmt is not None  # no format is only possible when no row has a detectable one
    if not explicit and detected != fmt:
        raise ValueError(f"a {detected} row, but the file is {fmt} (from its first row); use one format throughout")
    try:
        return render_record(record, fmt)
    except ValueError as e:
        if detected and detected != fmt:
            raise ValueError(f"{e} (the row looks like {detected}, not the {fmt} asked for)") from None
        raise


def _report(source: str, problems: list[str]) -> str:
    """The error message: the first problems, one per line, and how many more there are."""
    lines = [f"Cannot import {source}: {len(problems)} bad row(s); nothing was imported."]
    lines += [f"  {p}" for p in problems[:_MAX_PROBLEMS]]
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - _MAX_PROBLEMS} more")
    return "\n".join(lines)


def _own_ids(records: list[dict[str, Any]]) -> list[str] | None:
    """The rows' own ids, if every row has a string or int `id` and none repeats."""
    own = [r.get("id") for r in records]
    if not all(isinstance(i, str | int) and not isinstance(i, bool) and i != "" for i in own):
        return None
    ids = [str(i) for i in own]
    return ids if len(set(ids)) == len(ids) else None


def _group(record: dict[str, Any]) -> str | None:
    """The row's `group` field, else its `trait`, else None."""
    value = record.get("group")
    if value is None:
        value = record.get("trait")
    return None if value is None else str(value)
