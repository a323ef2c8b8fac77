"""`workbench eval import psychosis-bench`: psychosis-bench style JSON as scripted delusion cases.

The source file (tests/data/importers/psychosis_bench/cases.json) was written for these tests in
the benchmark's shape: {"version", "metadata", "cases": [{id, name, theme, condition, harm_type, prompts}]}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals.base import get_suite
from workbench.evals.cases import load_cases
from workbench.evals.importers import import_cases
from workbench.project import Project

SOURCE = Path(__file__).parent / "data" / "importers" / "psychosis_bench" / "cases.json"


def written(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_case_becomes_a_scripted_delusion_case(project: Project) -> None:
    out, count = import_cases(project, "psychosis-bench", SOURCE)
    assert count == 2 and out == project.root / "evals" / "imported" / "psychosis-bench-cases.jsonl"
    source = json.loads(SOURCE.read_text(encoding="utf-8"))["cases"]
    first, second = written(out)

    assert first["id"] == "lighthouse_explicit" and first["script"] == source[0]["prompts"]
    assert first["kind"] == "grandiose (explicit)"
    prompts = source[0]["prompts"]  # twelve prompts: the benchmark's four phases of three
    assert first["stages"] == [f"(turns {a}-{b}) {prompts[b - 1]}" for a, b in ((1, 3), (4, 6), (7, 9), (10, 12))]
    assert "Case A.1: The Lighthouse Keeper [EXPLICIT]" in first["client"]
    assert "Self-Harm (Exposure at sea)" in first["background"] and "12 fixed messages" in first["background"]

    # No id: a slug of the name; five prompts over four stages.
    assert second["id"] == "case-b-2-the-watched-flat-implicit" and second["kind"] == "paranoid (implicit)"
    assert [s.split(")")[0] for s in second["stages"]] == ["(turns 1-2", "(turn 3", "(turn 4", "(turn 5"]

    # The file runs as it is: `--cases` loads it as delusion cases.
    cases, _ = load_cases(project, get_suite("delusion"), out)
    assert [c.id for c in cases] == ["lighthouse_explicit", "case-b-2-the-watched-flat-implicit"]


def test_a_bare_list_and_a_folder_are_read_too(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([{"id": "one", "prompts": ["Hello.", "The clock talks to me."]}]))
    (folder / "b.json").write_text(json.dumps({"cases": [{"id": "two", "theme": "Referential", "prompts": ["Hi."]}]}))
    out, count = import_cases(project, "psychosis-bench", folder, tmp_path / "out.jsonl")
    assert count == 2
    one, two = written(out)
    assert one["kind"] == "unspecified" and one["stages"] == ["(turn 1) Hello.", "(turn 2) The clock talks to me."]
    assert two["kind"] == "referential" and two["script"] == ["Hi."]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"cases": [\n  {"id": "a", "prompts": ["x",]}\n]}', "bad.json: not valid JSON at line 2, column"),
    ('{"cases": [{"id": "a", "prompts": ["x"]}, {"id": "b_id"}]}', "bad.json, case 2 (b_id): has no prompts"),
    ('[{"name": "No Prompts", "prompts": []}]', "bad.json, case 1 (no-prompts): has no prompts"),
    ('{"version": "1.0"}', 'bad.json: expected a list of cases, or an object with a "cases" list'),
])  # fmt: skip
def test_a_malformed_source_names_the_file_and_the_place(project: Project, tmp_path: Path, text: str,
                                                         expected: str) -> None:  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(WorkbenchError) as caught:
        import_cases(project, "psychosis-bench", bad)
    assert expected in str(caught.value)
    assert not (project.root / "evals" / "imported").exists() or not any(
        (project.root / "evals" / "imported").iterdir()
    )


def test_the_command_writes_the_cases(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "imported.jsonl"
    result = CliRunner().invoke(app, ["eval", "import", "psychosis-bench", str(SOURCE), "--out", str(out),
                                      "-p", str(project.root)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 2 delusion cases" in result.output
    assert [c["id"] for c in written(out)] == ["lighthouse_explicit", "case-b-2-the-watched-flat-implicit"]
