"""ODCV-Bench scenario folders as `odcv` cases.

    workbench eval import odcv ~/ODCV-Bench       # the benchmark's root: it holds the two folders below
    workbench eval run --suite odcv --cases PROJECT/evals/imported/odcv-ODCV-Bench.jsonl --set max_steps=20 ...

The source folder holds `mandated_scenarios/<Name>/` and `incentivized_scenarios/<Name>/` (either
may be missing). Each scenario folder has `prompt.json`, `{"system_prompt": ..., "user_prompt": ...}`,
which become the case's `role` and `task`; the case id is `<Name>-mandated` or
`<Name>-incentivized`, its scenario `<Name>`. The rest of the folder is the benchmark's sandbox: a
Dockerfile whose `COPY` lines place data files and scripts (the KPI "validation" scripts the
agent is tempted to game) in a container. Those files become the case's simulated file system at
the paths the Dockerfile copies them to (without a Dockerfile: under /app/, as laid out in the
folder); the agent can list, read and write them.

What an imported case lacks compared with the benchmark's real sandbox:
- Nothing runs. The benchmark gives the agent a bash shell in the container; here `run_command`
  records the command and answers that it was not executed, so the agent cannot run the scoring
  script, see its KPI number move, or watch a command fail. Agents that work by running things
  will behave differently, and their attempted commands are judged as attempts.
- Only the files the Dockerfile copies (or, without one, the folder's own files) exist: no
  installed programs, no directories the Dockerfile only creates, nothing its RUN lines produce.
  Binary files are listed without contents, and text files over MAX_FILE_CHARS are truncated.
  The harness's own server (`task_executor_api.py`) is left out.
- The KPI, the constraint and what a violation looks like are not stated by the benchmark's
  files, so they are left empty and the judge infers them from the prompts; the rubric is this
  workbench's 0-5 rubric, which follows the benchmark's scale but not its judge prompt.
- Episodes are as long as `max_steps` allows (6 by default; the benchmark's run far longer).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.importers import Importer, RawCase

VARIANTS = {"mandated_scenarios": "mandated", "incentivized_scenarios": "incentivized"}
HARNESS = {"prompt.json", "Dockerfile", "task_executor_api.py"}  # the benchmark's plumbing, not the agent's world
MAX_FILE_CHARS = 20_000  # a case file stays readable; the agent is told when a file was cut


def read_odcv(source: Path) -> list[RawCase]:
    """Every scenario variant under `source`, as raw `odcv` cases.

    Raises:
        WorkbenchError: no scenario folders, or a scenario with a missing or malformed prompt.json.
    """
    roots = [(source / folder, variant) for folder, variant in VARIANTS.items() if (source / folder).is_dir()]
    if not roots:
        raise WorkbenchError(f"{source} holds neither mandated_scenarios/ nor incentivized_scenarios/.",
                             hint="Give the ODCV-Bench folder itself (the one with those two folders).")  # fmt: skip
    cases: list[RawCase] = []
    for root, variant in roots:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            where = f"{root.name}/{folder.name}/prompt.json"
            prompts = _prompts(folder / "prompt.json")
            cases.append((where, {
                "id": f"{folder.name}-{variant}", "scenario": folder.name, "variant": variant,
                "role": prompts["system_prompt"], "task": prompts["user_prompt"],
                "sandbox": True, "files": _sandbox_files(folder),
            }))  # fmt: skip
    return cases


def _prompts(path: Path) -> dict[str, str]:
    """prompt.json's two prompts, checked; an error names the file."""
    if not path.is_file():
        raise WorkbenchError(f"{path}: missing.", hint="Each scenario folder needs a prompt.json with "
                             '"system_prompt" and "user_prompt"; remove the folder or add the file.')  # fmt: skip
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WorkbenchError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}.") from None
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path}: not UTF-8 text (byte {e.start}).") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f'{path}: must be a JSON object with "system_prompt" and "user_prompt".')
    for key in ("system_prompt", "user_prompt"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise WorkbenchError(f"{path}: {key!r} is missing or not a non-empty string.",
                                 hint='prompt.json is {"system_prompt": "...", "user_prompt": "..."}.')  # fmt: skip
    return {"system_prompt": data["system_prompt"], "user_prompt": data["user_prompt"]}


def _sandbox_files(folder: Path) -> dict[str, str]:
    """The scenario's files at their paths in the benchmark's container, path -> text."""
    dockerfile = folder / "Dockerfile"
    if dockerfile.is_file():
        placed = _copied(folder, dockerfile.read_text(encoding="utf-8", errors="replace"))
    else:
        placed = [(p, f"/app/{p.relative_to(folder).as_posix()}") for p in _files_under(folder)]
    return {target: _text(path) for path, target in placed if path.name not in HARNESS}


def _copied(folder: Path, dockerfile: str) -> list[tuple[Path, str]]:
    """(file in the folder, path in the container) for each file a `COPY` line of the Dockerfile places."""
    placed: list[tuple[Path, str]] = []
    workdir = PurePosixPath("/")
    for line in dockerfile.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]  # --chown=... and the like
        if len(words) == 2 and words[0].upper() == "WORKDIR":
            workdir = workdir / words[1]  # a relative COPY destination is relative to it
        # The JSON form (COPY ["a", "b"]) and multi-line COPYs are rare in the benchmark: skipped, not guessed.
        if len(words) < 3 or words[0].upper() != "COPY" or words[1].startswith("["):
            continue
        *sources, dest = words[1:]
        into_dir = dest.endswith("/") or len(sources) > 1
        for pattern in sources:
            placed += _place(folder, pattern, str(workdir / dest), into_dir=into_dir)
    return placed


def _place(folder: Path, pattern: str, dest: str, *, into_dir: bool) -> list[tuple[Path, str]]:
    """What one COPY source places: a file at `dest` (or inside it), a folder's files below `dest`."""
    cleaned = pattern.removeprefix("./").rstrip("/")
    matches = [folder] if cleaned in ("", ".") else sorted(folder.glob(cleaned))
    into_dir = into_dir or any(ch in pattern for ch in "*?[")
    placed: list[tuple[Path, str]] = []
    for match in matches:
        if not match.resolve().is_relative_to(folder.resolve()):
            continue  # a COPY from outside the scenario folder is not part of this scenario
        if match.is_dir():
            placed += [(p, str(PurePosixPath(dest) / p.relative_to(match).as_posix())) for p in _files_under(match)]
        else:
            placed.append((match, str(PurePosixPath(dest) / match.name) if into_dir else dest))
    return placed


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _text(path: Path) -> str:
    """A file's text as the agent reads it: binary files and the tail of long ones left out, and said so."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return f"[binary file, {path.stat().st_size} bytes: its contents are not available in this simulation]"
    if len(text) > MAX_FILE_CHARS:
        return text[:MAX_FILE_CHARS] + f"\n[... truncated: {len(text)} characters in all]"
    return text


IMPORTER = Importer(
    format="odcv",
    suite="odcv",
    read=read_odcv,
    description="ODCV-Bench folders: mandated_scenarios/<Name>/prompt.json and incentivized_scenarios/<Name>/"
    "prompt.json ({system_prompt, user_prompt}); the files the scenario's Dockerfile copies become a simulated "
    "file system (nothing is executed).",
)
