"""Fields of the importers' JSON Lines records (the lines themselves: `workbench.files.jsonl_records`).

for line in jsonl_records(Path("question.jsonl"), hint=HINT):
    question = text_field(line.where, line.record, "question", hint=HINT)
"""

from __future__ import annotations

from typing import Any

from workbench.errors import WorkbenchError


def text_field(where: str, record: dict[str, Any], key: str, *, hint: str) -> str:
    """A required, non-empty string field of a record.

    Raises:
        WorkbenchError: the field is missing, not a string, or blank.
    """
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchError(f"{where}: {key!r} must be a non-empty string.", hint=hint)
    return value
