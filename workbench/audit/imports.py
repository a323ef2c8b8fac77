"""Import a dataset to audit: JSONL, a JSON array, CSV, Parquet, a saved `datasets` folder, or a Hub name.

    dataset = import_file(project, Path("chats.jsonl"))                  # format from the first row
    dataset = import_file(project, Path("prefs.parquet"), name="prefs", format="preference")
    dataset = import_file(project, Path("hf_dir"))                       # from `Dataset.save_to_disk`
    dataset = import_file(project, "org/chats", split="train_sft")       # datasets.load_dataset
    dataset = import_file(project, Path("qa.json"), column_map=parse_map(["user=question", "assistant=answer.text"]))
    rows, fmt, origin = read_rows(Path("chats.jsonl"), max_row_chars=200_000)  # the same checks, nothing stored

`readers.py` reads the rows; rows may be in any format of `formats.py`, all in one, or in any
shape a column map (`mapping.py`) turns into one. Every row is parsed and rendered before
anything is written, so a file with a bad row imports nothing; the error lists the bad rows by
line (JSONL, 1-based physical lines; blank lines are skipped) or `row N` (a JSON array, CSV,
Parquet, HF, 1-based). A row whose text is longer than `[limits] max_row_chars` is a bad row too
(`import_file` applies the project's cap), so one giant row never reaches a prompt. When no row
is in a known format, the error names the keys the rows have and the formats there are.

* Row ids: the rows' own `id` fields (strings or ints) if every row has one and they are unique,
  else where each row came from (`line 3`, `row 3`).
* Groups (what prevalence is broken down by): a row's `group` field, else its `trait`, else none.
* A `DatasetDict` folder or a Hub name is read by its `split` (default `train`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.audit.datasets import AuditDataset, DatasetRow, save_dataset
from workbench.audit.formats import FORMATS, Format, detect_format, known_formats, render_record
from workbench.audit.mapping import ColumnMap
from workbench.audit.readers import KINDS, Entry, read_source
from workbench.errors import WorkbenchError
from workbench.project import Project

_MAX_PROBLEMS = 20


def import_file(
    project: Project,
    path: Path | str,
    *,
    name: str | None = None,
    format: Format | None = None,
    column_map: ColumnMap | None = None,
    split: str = "train",
) -> AuditDataset:
    """Check every row of a file, then store it as a dataset to audit (source `file`).

    Args:
        project: The project whose store receives the dataset.
        path: A file or folder `readers.read_source` reads, or a Hugging Face dataset name (a str).
        name: The dataset's name; defaults to the file's stem (or the Hub name's last part).
        format: The rows' format; detected from the first row if not given.
        column_map: Where each part of a row is, for rows in no known format (sets the format).
        split: The split of a Hugging Face name or of a saved `DatasetDict`.

    Returns:
        The stored dataset, or the identical one already stored if these rows were imported before.

    Raises:
        WorkbenchError: the file is missing, unsupported, empty, has a bad row (all are listed), or
            has a row longer than `[limits] max_row_chars` (nothing is stored then either).
    """
    rows, fmt, origin = read_rows(
        path, format=format, column_map=column_map, split=split, max_row_chars=project.config.limits.max_row_chars
    )
    name = name or Path(path).expanduser().resolve().stem
    return save_dataset(project, name=name, source="file", format=fmt, rows=rows, origin=origin)


def read_rows(
    path: Path | str,
    *,
    format: Format | None = None,
    column_map: ColumnMap | None = None,
    split: str = "train",
    max_row_chars: int | None = None,
    map_option: str = "--map",
) -> tuple[list[DatasetRow], Format, str]:
    """Read and check every row of a file, storing nothing (what `import_file` saves).

    Args:
        path: A file or folder `readers.read_source` reads, or a Hugging Face dataset name (a str).
        format: The rows' format; detected from the first row if not given.
        column_map: Where each part of a row is (sets the format; `format`, if given, must agree).
        split: The split of a Hugging Face name or of a saved `DatasetDict`.
        max_row_chars: Refuse rows whose text is longer (None: no cap).
        map_option: How the caller's users map columns, for the error about rows in no known format.

    Returns:
        The rows (with ids and groups), their format, and where they came from (the path, with
        the split for a `DatasetDict`, or `huggingface:NAME (split S)`).

    Raises:
        WorkbenchError: the file is missing, unsupported, empty, or has a bad row (all are listed),
            or rows longer than `max_row_chars` (listed by where they are).
    """
    _check_format(format, column_map)
    entries, origin = read_source(path, split=split)
    source = origin.removeprefix("huggingface:")
    if column_map is not None:
        entries = [_mapped(entry, column_map) for entry in entries]
        format = column_map.format
    rows, fmt = _checked(entries, source, format, column_map, map_option)
    _check_sizes(entries, rows, source, max_row_chars)
    return rows, fmt, origin


def _mapped(entry: Entry, column_map: ColumnMap) -> Entry:
    """An entry with its record mapped, or with the reason it cannot be."""
    where, record, error = entry
    if error is not None:
        return entry
    try:
        return where, column_map.apply(record), None
    except ValueError as e:
        return where, None, str(e)


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


def _check_format(format: Format | None, column_map: ColumnMap | None) -> None:
    if format is not None and format not in FORMATS:
        raise WorkbenchError(f"Unknown format {format!r}.", hint=f"Use one of {', '.join(FORMATS)}.")
    if format is not None and column_map is not None and column_map.format != format:
        raise WorkbenchError(
            f"{column_map.options()} makes {column_map.format} rows, not {format}.",
            hint="Leave the format out: the mapped roles decide it.",
        )


def _checked(
    entries: list[Entry], source: str, format: Format | None, column_map: ColumnMap | None, map_option: str
) -> tuple[list[DatasetRow], Format]:
    """Every entry rendered in one format, or a WorkbenchError listing the bad ones."""
    if not entries:
        raise WorkbenchError(f"{source} has no rows; nothing was imported.", hint=f"Import {KINDS}.")
    fmt = format or _first_format(entries)
    rows, problems = _check(entries, fmt, explicit=format is not None)
    if fmt is None:
        raise _unknown_shape(entries, source, problems, map_option)
    if problems:
        hint = f"Fix these rows (formats and their keys: {known_formats()})."
        if column_map is not None:
            hint += f" Or change the mapping: {column_map.options()}."
        raise WorkbenchError(_report(source, problems), hint=hint)
    return rows, fmt


def _unknown_shape(entries: list[Entry], source: str, problems: list[str], map_option: str) -> WorkbenchError:
    """The error for rows in no known format: the commonest key set, the formats there are, a mapping to try."""
    shapes = Counter(tuple(sorted(map(str, r))) for _, r, _ in entries if isinstance(r, dict))
    if not shapes:
        return WorkbenchError(_report(source, problems), hint=f"Each row must be a JSON object; import {KINDS}.")
    keys = shapes.most_common(1)[0][0]
    where, record = next((w, r) for w, r, _ in entries if isinstance(r, dict) and tuple(sorted(map(str, r))) == keys)
    seen = "{" + ", ".join(repr(k) for k in keys) + "}"
    lines = [f"{source}: {where} has keys {seen}; known formats: {known_formats()}.", _report(source, problems)]
    return WorkbenchError(
        "\n".join(lines), hint=f"Convert the rows, or map columns with {_suggested_map(record, map_option)}."
    )


def _suggested_map(record: dict[str, Any], option: str) -> str:
    """`--map user=q --map assistant=a` from a row's first two fields (`text=k` for a one-field row)."""
    paths = [_text_path(str(key), value) for key, value in record.items()]
    roles = ("text",) if len(paths) == 1 else ("user", "assistant")
    return " ".join(f"{option} {role}={path}" for role, path in zip(roles, paths, strict=False))


def _text_path(key: str, value: Any) -> str:
    """A dotted path from `key` to the first text inside `value` (the key itself if none)."""
    if isinstance(value, dict):
        for inner, item in value.items():
            if isinstance(item, str | dict):
                return _text_path(f"{key}.{inner}", item)
    return key


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
