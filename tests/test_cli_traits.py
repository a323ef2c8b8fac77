"""`workbench traits …` through the real command-line app (typer's CliRunner)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from workbench.cli import app, main
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.store.traits import list_versions
from workbench.traits import read_traits_file

DATA = Path(__file__).resolve().parents[1] / "data" / "traits"

DOC = """\
# Doc

- **Honest.** Says how sure it is and what would change its mind.
- **Direct.** Answers the question that was asked, with specifics.
- **Kind.** Delivers hard news with care, without softening the facts.

## Exceptions

- In a crisis, safety comes before debating premises.
"""


def _invoke(project: Project, *args: str) -> Result:
    # A wide terminal keeps rich from wrapping long paths and keys across lines.
    return CliRunner().invoke(app, ["traits", *args, "--project", str(project.root)], env={"COLUMNS": "250"})


def _write(tmp_path: Path, text: str, name: str = "doc.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_add_prints_version_and_counts_then_unchanged(project: Project) -> None:
    path = DATA / "candid_care.md"
    version_id = read_traits_file(path).version_id
    first = _invoke(project, "add", str(path))
    assert first.exit_code == 0, first.output
    assert f"added candid_care@1 ({version_id})" in first.output
    assert "8 traits, 18 guidance chunks" in first.output
    again = _invoke(project, "add", str(path))
    assert again.exit_code == 0
    assert f"unchanged: identical to candid_care@1 ({version_id})" in again.output
    assert len(list_versions(project.store)) == 1


def test_add_with_name_prints_warnings(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, DOC + "\n## More\n\n- Tiny.\n")
    result = _invoke(project, "add", str(path), "--name", "custom")
    assert result.exit_code == 0, result.output
    assert "added custom@1" in result.output
    assert "4 traits, 1 guidance chunk\n" in result.output
    assert f"warning: {path}:13: trait 'Tiny.' is very short" in result.output


def test_add_of_reverted_text_points_at_the_latest(project: Project, tmp_path: Path) -> None:
    _invoke(project, "add", str(_write(tmp_path, DOC)))
    _invoke(project, "add", str(_write(tmp_path, DOC.replace("specifics", "concrete specifics"))))
    result = _invoke(project, "add", str(_write(tmp_path, DOC)))
    assert "unchanged: identical to doc@1" in result.output
    assert "the latest version of doc is doc@2" in result.output


def test_list(project: Project) -> None:
    empty = _invoke(project, "list")
    assert empty.exit_code == 0 and "No traits documents yet" in empty.output
    _invoke(project, "add", str(DATA / "mvp_bullets.md"))
    _invoke(project, "add", str(DATA / "candid_care.md"))
    lines = _invoke(project, "list").output.splitlines()
    candid = next(line for line in lines if "candid_care@1" in line)
    mvp = next(line for line in lines if "mvp_bullets@1" in line)
    assert "Candid care" in candid and " 26 " in candid
    assert "MVP traits" in mvp and " 8 " in mvp
    assert lines.index(candid) < lines.index(mvp)  # ordered by document name


def test_show_table_and_text(project: Project) -> None:
    _invoke(project, "add", str(DATA / "candid_care.md"))
    table = _invoke(project, "show", "candid_care")
    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if "trait:owns-its-mistakes" in line)
    assert "Owns its mistakes" in row and " 39 " in row and " 6 " in row
    assert "guidance:when-not-to-apply-a-trait#7" in table.output
    text = _invoke(project, "show", "candid_care@1", "--text")
    assert "#6 trait trait:owns-its-mistakes (line 39, Traits)" in text.output
    assert "It does not bury the correction under apologies, and it does not defend an earlier answer" in text.output


def test_document_text_is_never_read_as_markup(project: Project, tmp_path: Path) -> None:
    doc = "- **[bold]Loud[/bold] trait.** Its body is long enough.\n- **Closing [/oops] tag.** Long enough.\n"
    _invoke(project, "add", str(_write(tmp_path, doc)))
    for args in (["show", "doc"], ["show", "doc", "--text"]):
        result = _invoke(project, *args)
        assert result.exit_code == 0, result.output
        assert "[bold]Loud[/bold] trait" in result.output and "Closing [/oops] tag" in result.output


def test_diff(project: Project, tmp_path: Path) -> None:
    _invoke(project, "add", str(_write(tmp_path, DOC)))
    edited = DOC.replace("with specifics", "with concrete specifics").replace(
        "- **Kind.**", "- **Curious.** Asks the question that unlocks the problem.\n- **Kind.**"
    )
    edited = edited.replace("- **Honest.** Says how sure it is and what would change its mind.\n", "")
    _invoke(project, "add", str(_write(tmp_path, edited)))
    result = _invoke(project, "diff", "doc@1", "doc")
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[1:] == [
        "added: 1",
        "  trait:curious  Curious",
        "removed: 1",
        "  trait:honest  Honest",
        "changed: 1",
        "  trait:direct  Direct",
        "unchanged: 2",
    ]
    assert out[0].startswith("doc@1 (") and " -> doc@2 (" in out[0]


def test_bad_file_raises_workbench_error_and_writes_nothing(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, "- A trait that is long enough.\n-\n")
    result = _invoke(project, "add", str(path))
    # `app` lets WorkbenchError through; `main()` (the console script) turns it into exit 1.
    assert result.exit_code == 1
    assert isinstance(result.exception, WorkbenchError)
    assert f"{path}:2: a bullet with no text" in str(result.exception)
    assert "No traits documents yet" in _invoke(project, "list").output


def test_unknown_ref_is_a_workbench_error(project: Project) -> None:
    result = _invoke(project, "show", "missing")
    assert result.exit_code == 1 and isinstance(result.exception, WorkbenchError)
    assert "No traits version matches 'missing'" in str(result.exception)


def test_console_script_prints_the_error_and_exits_1(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "# Only a title\n")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys, "argv", ["workbench", "traits", "add", str(path), "--project", str(project.root)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"Error: {path}:1: no traits found in lines 1-1." in out
    assert "Traceback" not in out
