"""JSON Lines sources for the importers: one JSON object per line, each with where it came from.

    for line in jsonl_records(Path("question.jsonl"), hint=HINT):   # line.where: "question.jsonl, line 3"
        case = {"id": line.record.get("id") or f"question-{line.number}", ...}

Blank lines are skipped; anything else that is not a JSON object raises a `WorkbenchError` naming
the file and line, so a malformed source is fixed at its place rather than half imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from workbench.errors import WorkbenchError


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


def text_field(where: str, record: dict[str, Any], key: str, *, hint: str) -> str:
    """A required, non-empty string field of a record.

    Raises:
        WorkbenchError: the field is missing, not a string, or blank.
    """
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchError(f"{where}: {key!r} must be a non-empty string.", hint=hint)
    return value
