"""Eval cases: YAML or JSONL data files, validated against the suite's case model.

    cases = load_cases(project, suite)                        # PROJECT/evals/SUITE.*, else data/evals/SUITE.*
    cases = load_cases(project, suite, Path("my_cases.yaml"))

A YAML file holds a list of cases (or `{cases: [...]}`); a JSONL file one case per line. Every
case is validated before any runs, and a bad one is reported with the file and its position
(1-based YAML list index or JSONL line); case ids must be unique.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Suite
from workbench.project import Project

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "evals"  # the repository's own cases
SUFFIXES = (".yaml", ".yml", ".jsonl")


def cases_file(project: Project, suite: str) -> Path:
    """The suite's cases: the project's `evals/` folder first, then the repository's `data/evals/`.

    Raises:
        WorkbenchError: neither has a file for the suite.
    """
    for folder in (project.root / "evals", SHIPPED):
        for suffix in SUFFIXES:
            if (folder / f"{suite}{suffix}").exists():
                return folder / f"{suite}{suffix}"
    raise WorkbenchError(
        f"No cases for suite {suite!r} in {project.root / 'evals'} or {SHIPPED}.",
        hint=f"Write {suite}.yaml there, or pass --cases FILE.",
    )


def _raw_cases(path: Path) -> list[tuple[str, Any]]:
    """(where, raw case) pairs from a YAML or JSONL file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise WorkbenchError(f"Cannot read eval cases {path}: {e}") from e
    if path.suffix == ".jsonl":
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    found.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as e:
                    raise WorkbenchError(f"{path}, line {number}: invalid JSON: {e.msg}") from e
        return found
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise WorkbenchError(f"{path} is not valid YAML: {e}") from e
    items = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise WorkbenchError(f"{path} must hold a list of cases (or `cases: [...]`).")
    return [(f"case {i}", item) for i, item in enumerate(items, start=1)]


def load_cases(project: Project, suite: Suite, path: Path | None = None) -> tuple[list[Case], str]:
    """The suite's validated cases and a hash of them (which the run's identity includes).

    Raises:
        WorkbenchError: no file, unreadable, a case that does not validate, or duplicate ids.
    """
    path = path or cases_file(project, suite.name)
    cases: list[Case] = []
    seen: set[str] = set()
    for where, raw in _raw_cases(path):
        try:
            case = suite.case_model.model_validate(raw)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'case'}: {err['msg']}" for err in e.errors())
            raise WorkbenchError(f"{path}, {where}: not a valid {suite.name} case: {problems}") from None
        case_id = case.id
        if case_id in seen:
            raise WorkbenchError(f"{path}, {where}: the case id {case_id!r} is used twice.")
        seen.add(case_id)
        cases.append(case)
    if not cases:
        raise WorkbenchError(f"{path} has no cases.")
    digest = hashlib.sha256("\n".join(c.model_dump_json() for c in cases).encode()).hexdigest()[:16]
    return cases, digest
