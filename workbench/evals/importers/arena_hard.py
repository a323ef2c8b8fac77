"""arena-hard style `question.jsonl` as `capability` cases, for the side-by-side against the 0%-synthetic arm.

    workbench eval import arena-hard question.jsonl       # -> PROJECT/evals/imported/arena-hard-question.jsonl
    workbench eval run --suite capability --cases PROJECT/evals/imported/arena-hard-question.jsonl ...

The source is a `question.jsonl` file (or the folder holding one), one question per line, in
either shape Arena-Hard-Auto has used:

- `{"uid", "category", "subcategory", "prompt"}` (v2);
- `{"question_id", "category", "cluster", "turns": [{"content"}]}` (v0.1; one turn only, as the
  capability SxS plays a single prompt).

A question becomes `{id: uid (or question_id), prompt, category}`; other fields are ignored. The
questions are answered and judged by this workbench (both models, both orders, the run's judges),
not compared with the benchmark's stored answers or its reference model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.importers import Importer, RawCase
from workbench.evals.importers.jsonl import text_field
from workbench.files import jsonl_records

HINT = ('An arena-hard question is one JSON line: {"uid": "...", "category": "...", "prompt": "..."} '
        '(or v0.1\'s {"question_id": "...", "category": "...", "turns": [{"content": "..."}]}).')  # fmt: skip


def read_arena_hard(source: Path) -> list[RawCase]:
    """Every question of `source` (a question.jsonl file, or a folder holding one) as a raw capability case.

    Raises:
        WorkbenchError: no question.jsonl in the folder, or a line (named) that is not a question.
    """
    path = source / "question.jsonl" if source.is_dir() else source
    if not path.is_file():
        raise WorkbenchError(f"{source} holds no question.jsonl.", hint="Give the question.jsonl file itself.")
    return [(line.where, _case(line.where, line.record)) for line in jsonl_records(path, hint=HINT)]


def _case(where: str, record: dict[str, Any]) -> dict[str, Any]:
    case_id = record.get("uid", record.get("question_id"))
    if not isinstance(case_id, str | int) or not str(case_id).strip():
        raise WorkbenchError(f"{where}: has no uid (or question_id).", hint=HINT)
    category = record.get("category") or ""
    return {"id": str(case_id), "prompt": _prompt(where, record), "category": str(category)}


def _prompt(where: str, record: dict[str, Any]) -> str:
    """The question's prompt: `prompt`, else the content of its single turn."""
    if "prompt" in record or "turns" not in record:
        return text_field(where, record, "prompt", hint=HINT)
    turns = record["turns"]
    if not isinstance(turns, list) or len(turns) != 1 or not isinstance(turns[0], dict):
        count = len(turns) if isinstance(turns, list) else "no"
        raise WorkbenchError(f"{where}: 'turns' must hold exactly one turn ({count} found): the capability SxS "
                             "plays a single prompt.", hint=HINT)  # fmt: skip
    return text_field(where, turns[0], "content", hint=HINT)


IMPORTER = Importer(
    format="arena-hard",
    suite="capability",
    read=read_arena_hard,
    description="arena-hard question.jsonl ({uid, category, prompt} per line, or v0.1's turns); "
    "a file or the folder holding it.",
)
