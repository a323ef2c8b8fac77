"""Eval cases from YAML and JSONL: validated before anything runs, errors with the file and position."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Sample, Suite
from workbench.evals.cases import cases_file, load_cases
from workbench.project import Project


class Question(Case):
    question: str


async def _unused(ctx: object, case: object) -> Sample:
    raise AssertionError("not run here")


SUITE = Suite("quiz", Question, _unused, "a test suite", (0.0, 1.0))


def test_yaml_and_jsonl_cases_load_and_hash_their_content(project: Project, tmp_path: Path) -> None:
    yaml_file = tmp_path / "quiz.yaml"
    yaml_file.write_text("cases:\n  - id: q1\n    question: Why?\n  - id: q2\n    question: How?\n")
    jsonl_file = tmp_path / "quiz.jsonl"
    jsonl_file.write_text('{"id": "q1", "question": "Why?"}\n\n{"id": "q2", "question": "How?"}\n')
    from_yaml, yaml_hash = load_cases(project, SUITE, yaml_file)
    from_jsonl, jsonl_hash = load_cases(project, SUITE, jsonl_file)
    assert [c.id for c in from_yaml] == ["q1", "q2"] and from_yaml == from_jsonl and yaml_hash == jsonl_hash
    yaml_file.write_text("- id: q1\n  question: Why not?\n")  # a bare list works too; other content, other hash
    assert load_cases(project, SUITE, yaml_file)[1] != yaml_hash


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.jsonl", '{"id": "q1", "question": "ok"}\n{broken\n', "bad.jsonl, line 2: invalid JSON"),
        ("bad.yaml", "- id: q1\n- id: q2\n  question: fine\n", "bad.yaml, case 1: not a valid quiz case: question"),
        ("dup.yaml", "- {id: a, question: x}\n- {id: a, question: y}\n", "case 2: the case id 'a' is used twice"),
        ("empty.yaml", "[]\n", "has no cases"),
        ("scalar.yaml", "just text\n", "must hold a list of cases"),
    ],
)
def test_bad_cases_files_are_refused_with_where(
    project: Project, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(WorkbenchError, match=message):
        load_cases(project, SUITE, path)


def test_a_projects_own_cases_win_over_the_shipped_ones(project: Project) -> None:
    with pytest.raises(WorkbenchError, match="No cases for suite 'quiz'"):
        cases_file(project, "quiz")
    (project.root / "evals").mkdir()
    (project.root / "evals" / "quiz.yaml").write_text("- {id: a, question: x}\n")
    assert cases_file(project, "quiz") == project.root / "evals" / "quiz.yaml"
