"""psychosis-bench style JSON as scripted `delusion` cases.

    workbench eval import psychosis-bench my_cases.json    # -> PROJECT/evals/imported/psychosis-bench-my_cases.jsonl
    workbench eval run --suite delusion --cases PROJECT/evals/imported/psychosis-bench-my_cases.jsonl ...

The source is a JSON file (or a folder of them) holding a list of cases, or an object whose
`cases` is that list (other keys, such as the benchmark's `version` and `metadata`, are ignored).
Each case is `{id, name, theme, condition, harm_type, prompts: [...]}`; only `prompts` is
required. A case becomes a `delusion` case with:

- `script`: the prompts, played in order as the client's turns (no red-teamer);
- `id`: the case's id, else a slug of its name, else `<file stem>-<position>`;
- `kind`: the theme without its trailing "Delusions", lower-cased, with the condition in brackets
  ("Grandiose Delusions", "Explicit" -> "grandiose (explicit)");
- `stages`: the script itself, split into up to `STAGES` consecutive near-equal parts (the
  benchmark's four phases of three prompts), each stage the last prompt of its part: the client's
  most escalated words at that point, which is what the judge reads as the escalation path;
- `client` and `background`: what the benchmark says and no more: the case's name, theme,
  condition (whether the messages state the belief openly) and the harm the script builds to.

What differs from the benchmark: its prompts are written to a general AI assistant, while this
suite's target is told it is a therapist; the messages are fixed and do not react to the replies;
and the judge grades delusion confirmation per reply on this workbench's 0-2 rubric, not the
benchmark's DCS/HES/SIS scores.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.importers import Importer, RawCase
from workbench.evals.suites.delusion import script_stage

STAGES = 4  # the benchmark's phases: engagement, pattern seeking, solidification, enactment
HINT = 'A psychosis-bench case is {"id", "name", "theme", "condition", "harm_type", "prompts": ["...", ...]}.'


def read_psychosis_bench(source: Path) -> list[RawCase]:
    """Every case in `source` (a JSON file, or a folder of them), as raw `delusion` cases.

    Raises:
        WorkbenchError: malformed JSON (file, line and column), no case list, or a case without prompts.
    """
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    if not files:
        raise WorkbenchError(
            f"{source} holds no .json files.", hint="Give a psychosis-bench JSON file or a folder of them."
        )
    return [raw for path in files for raw in _file_cases(path)]


def _file_cases(path: Path) -> list[RawCase]:
    """One file's cases, each with where it came from."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WorkbenchError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}.",
                             hint="Fix the file (or export it again) and import it once more.") from None  # fmt: skip
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path}: not UTF-8 text (byte {e.start}).") from None
    cases = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(cases, list):
        raise WorkbenchError(f'{path}: expected a list of cases, or an object with a "cases" list.', hint=HINT)
    return [_case(path, index, case) for index, case in enumerate(cases, start=1)]


def _case(path: Path, index: int, case: Any) -> RawCase:
    """One benchmark case as a raw `delusion` case."""
    where = f"{path.name}, case {index}"
    if not isinstance(case, dict):
        raise WorkbenchError(f"{where}: must be a JSON object.", hint=HINT)
    case_id = str(case.get("id") or _slug(str(case.get("name") or "")) or f"{path.stem}-{index}")
    where = f"{where} ({case_id})"
    prompts = case.get("prompts")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise WorkbenchError(f"{where}: has no prompts (a non-empty list of non-empty strings is needed).", hint=HINT)
    theme, condition = _field(case, "theme"), _field(case, "condition")
    kind = re.sub(r"\s*delusions?\s*$", "", theme, flags=re.IGNORECASE).lower() or "unspecified"
    return where, {
        "id": case_id, "kind": f"{kind} ({condition.lower()})" if condition else kind, "script": prompts,
        "stages": _stages(prompts), "client": f"An anonymous person; the benchmark gives no more (psychosis-bench "
        f"case {case.get('name') or case_id!r}).", "background": _background(case, len(prompts)),
    }  # fmt: skip


def _field(case: dict[str, Any], key: str) -> str:
    value = case.get(key)
    return str(value).strip() if value is not None else ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _stages(prompts: list[str]) -> list[str]:
    """The script split into consecutive parts (as the suite plays it), each part's last prompt with its turns."""
    count = min(STAGES, len(prompts))
    parts: list[list[int]] = [[] for _ in range(count)]
    for turn in range(len(prompts)):
        parts[script_stage(turn, len(prompts), count)].append(turn + 1)
    return [f"(turns {p[0]}-{p[-1]}) {prompts[p[-1] - 1]}" if len(p) > 1 else f"(turn {p[0]}) {prompts[p[0] - 1]}"
            for p in parts]  # fmt: skip


def _background(case: dict[str, Any], turns: int) -> str:
    """What the benchmark says about the case, labelled; the rest it does not say."""
    said = [f"{label}: {_field(case, key)}." for key, label in (
        ("theme", "Theme"), ("condition", "Condition (whether the messages state the belief openly)"),
        ("harm_type", "The harm the script builds towards"),
    ) if _field(case, key)]  # fmt: skip
    return " ".join([f"A scripted client: {turns} fixed messages that do not react to the replies.", *said])


IMPORTER = Importer(
    format="psychosis-bench",
    suite="delusion",
    read=read_psychosis_bench,
    description="psychosis-bench style JSON: a list of {id, name, theme, condition, harm_type, prompts} (or "
    '{"cases": [...]}); each case\'s prompts become a scripted client, played in order.',
)
