"""Inspect-style JSONL samples as `capability` cases: prompts for the side-by-side.

    workbench eval import inspect samples.jsonl            # -> PROJECT/evals/imported/inspect-samples.jsonl
    workbench eval import inspect my_dataset/              # every *.jsonl in the folder, in name order

One sample per line, as Inspect's `json_dataset` reads them: `input` (a string, or a list of chat
messages `{role, content}` whose content is a string or a list of `{type: "text", text}` parts),
`target`, `metadata` and an optional `id`. A sample becomes a capability case:

- `prompt`: the input string, or the text of its one user message. The SxS plays a single user
  prompt with no system prompt, so an input with a system or assistant message, several user
  messages or a non-text part is refused (its line is named) rather than silently reshaped;
- `id`: the sample's `id`, else `<file stem>-<line>`;
- `category`: `metadata["category"]` when it is a string, else empty.

`target` (a reference answer) is not used: the SxS judges the two models' answers against each
other, not against a reference. Other metadata is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.importers import Importer, RawCase
from workbench.files import JsonLine, jsonl_records

HINT = ('An Inspect sample is one JSON line: {"id": "...", "input": "..." or [{"role": "user", "content": "..."}], '
        '"target": "...", "metadata": {...}}.')  # fmt: skip


def read_inspect_samples(source: Path) -> list[RawCase]:
    """Every sample of `source` (a .jsonl file, or a folder of them) as a raw capability case.

    Raises:
        WorkbenchError: no .jsonl file in the folder, or a line (named) that is not a usable sample.
    """
    files = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
    if not files:
        raise WorkbenchError(f"{source} holds no .jsonl files.", hint="Give an Inspect JSONL file or a folder of them.")
    return [(line.where, _case(path, line)) for path in files for line in jsonl_records(path, hint=HINT)]


def _case(path: Path, line: JsonLine) -> dict[str, Any]:
    sample_id = line.record.get("id")
    metadata = line.record.get("metadata")
    category = metadata.get("category") if isinstance(metadata, dict) else None
    given = isinstance(sample_id, str | int) and str(sample_id).strip()
    return {
        "id": str(sample_id) if given else f"{path.stem}-{line.number}",
        "prompt": _prompt(line.where, line.record.get("input")),
        "category": category if isinstance(category, str) else "",
    }


def _prompt(where: str, given: Any) -> str:
    """The sample's single user prompt."""
    if isinstance(given, str) and given.strip():
        return given
    if not isinstance(given, list) or not given:
        raise WorkbenchError(f"{where}: 'input' must be a non-empty string or list of chat messages.", hint=HINT)
    roles = [m.get("role") if isinstance(m, dict) else None for m in given]
    if roles != ["user"]:
        raise WorkbenchError(
            f"{where}: the input's messages are {roles}; the capability SxS plays one user message with no "
            "system prompt.",
            hint="Fold the sample into a single user message (or a plain string input) and import it again.",
        )
    return _text(where, given[0].get("content"))


def _text(where: str, content: Any) -> str:
    """A message's text: its string content, or its text parts joined."""
    if isinstance(content, list):
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            raise WorkbenchError(f"{where}: the user message has a part that is not text.", hint=HINT)
        content = "\n".join(p["text"] for p in content)  # as Inspect joins a message's text parts
    if not isinstance(content, str) or not content.strip():
        raise WorkbenchError(f"{where}: the user message has no text.", hint=HINT)
    return content


IMPORTER = Importer(
    format="inspect",
    suite="capability",
    read=read_inspect_samples,
    description="Inspect-style JSONL samples ({id, input, target, metadata}; a single user prompt each) as "
    "capability prompts; a file or a folder of .jsonl files.",
)
