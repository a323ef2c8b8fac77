"""Files written whole or not at all, and JSON Lines read with the place of each line.

    write_jsonl(path, records)                  # a temporary file beside `path`, renamed over it
    with atomic_path(path) as tmp: save(tmp)    # any writer, same guarantee
    for line in jsonl_records(path, hint=HINT): # line.where: "file.jsonl, line 3"; line.record: the object
        ...

A crash never leaves half a file. A line that is not a JSON object raises a `WorkbenchError`
naming the file and line, so a malformed file is fixed at its place rather than half read.
Every layer uses these (exports, datasets, the batch files, training run folders, importers).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from workbench.errors import WorkbenchError


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block succeeds."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


class JsonLine(NamedTuple):
    """One line of a JSON Lines file."""

    where: str  # the file and line, for messages
    number: int  # the line's number, from 1
    record: dict[str, Any]  # the object it holds


def jsonl_records(path: Path, *, hint: str) -> Iterator[JsonLine]:
    """Each non-blank line of `path` with the object it holds.

    Args:
        path: A JSON Lines file.
        hint: What a record of the format looks like, for the error of a malformed line.

    Raises:
        WorkbenchError: the file is not UTF-8 text, or a line is not a JSON object.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path}: not UTF-8 text (byte {e.start}).", hint=hint) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise WorkbenchError(f"{where}: not valid JSON (column {e.colno}: {e.msg}).", hint=hint) from None
        if not isinstance(record, dict):
            raise WorkbenchError(f"{where}: must be a JSON object, not {type(record).__name__}.", hint=hint)
        yield JsonLine(where, number, record)
