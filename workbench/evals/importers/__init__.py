"""Eval cases from the public formats researchers already have, written as this workbench's case files.

    workbench eval import odcv ~/ODCV-Bench            # -> PROJECT/evals/imported/odcv-ODCV-Bench.jsonl
    path, count = import_cases(project, "arena-hard", Path("question.jsonl"))

Each format is a module here defining `IMPORTER = Importer(...)`: which suite its cases are for
and a `read` function from the source path to raw case dicts. This package validates every case
against the suite's case model (an invalid one names its source and the problem), checks ids are
unique, and writes the file atomically, so a failed import leaves nothing behind. The user keeps
their own copy of the source; the written file is theirs to run with `--cases`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workbench.errors import WorkbenchError
from workbench.evals.base import get_suite, registered
from workbench.project import Project

RawCase = tuple[str, dict[str, Any]]  # (where it came from, e.g. "mandated_scenarios/Foo/prompt.json"; the case)


@dataclass(frozen=True)
class Importer:
    """One public format.

    Attributes:
        format: Its name on the command line (`workbench eval import FORMAT PATH`).
        suite: The suite whose cases it writes.
        read: From the source (a file or folder) to raw cases with where each came from; raises
            WorkbenchError naming the file and position of anything malformed.
        description: One line for the command's help.
    """

    format: str
    suite: str
    read: Callable[[Path], list[RawCase]]
    description: str


def importers() -> dict[str, Importer]:
    """Every importer defined in this package, by format."""
    return {importer.format: importer for importer in registered(__name__, __path__, "IMPORTER", Importer)}


def get_importer(name: str) -> Importer:
    """An importer by format name.

    Raises:
        WorkbenchError: no such format.
    """
    known = importers()
    if name not in known:
        raise WorkbenchError(f"Unknown eval case format {name!r}.", hint=f"Formats: {', '.join(sorted(known))}.")
    return known[name]


def _validated(importer: Importer, raw: list[RawCase]) -> list[str]:
    """Each raw case as a JSON line of the suite's case model, in order."""
    model = get_suite(importer.suite).case_model
    lines: list[str] = []
    seen: dict[str, str] = {}
    for where, case in raw:
        try:
            valid = model.model_validate(case)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'case'}: {err['msg']}" for err in e.errors())
            raise WorkbenchError(f"{where}: does not make a valid {importer.suite} case: {problems}") from None
        if valid.id in seen:
            raise WorkbenchError(f"{where}: the case id {valid.id!r} is also made by {seen[valid.id]}.")
        seen[valid.id] = where
        lines.append(json.dumps(valid.model_dump(mode="json"), ensure_ascii=False))
    return lines


def import_cases(project: Project, format_name: str, source: Path, out: Path | None = None) -> tuple[Path, int]:
    """Read `source` in `format_name` and write its cases as JSONL; (the file written, cases).

    Args:
        project: Where the default output goes (`PROJECT/evals/imported/FORMAT-STEM.jsonl`).
        format_name: An importer's format.
        source: The file or folder to read.
        out: Where to write instead (a `.jsonl` path).

    Raises:
        WorkbenchError: unknown format, unreadable or malformed source, no cases, invalid cases.
    """
    importer = get_importer(format_name)
    if not source.exists():
        raise WorkbenchError(f"{source} does not exist.", hint=f"Give the {format_name} file or folder to import.")
    lines = _validated(importer, importer.read(source))
    if not lines:
        raise WorkbenchError(f"{source} holds no {format_name} cases.")
    out = out or project.root / "evals" / "imported" / f"{format_name}-{source.stem}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a failed import never leaves half a file.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out.parent, suffix=".tmp", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(handle.name, out)
    return out, len(lines)
