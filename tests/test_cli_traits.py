"""`workbench traits …` through the real command-line app (typer's CliRunner)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.large_traits import large_traits_document
from tests.traits_kinds import KINDS_TEXT, read_kinds, use_kinds_format
from workbench.cli import app, main
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.store.traits import list_versions, save_version, version_chunks
from workbench.traits import ReadOptions, read_traits_file

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
    assert "4 traits, 1 guidance chunk, 0 boundaries, 0 excluded\n" in result.output
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


def _lines_after(output: str, heading: str) -> list[str]:
    """The lines under the first line starting with `heading`, up to a blank line, stripped."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return [line.strip() for line in lines[start:end]]


def test_preview_shows_each_kind_with_its_heading_path_and_stores_nothing(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_kinds_format(monkeypatch)
    path = _write(tmp_path, KINDS_TEXT, "kinds.txt")
    result = _invoke(project, "add", str(path), "--format", "kinds", "--exclude", "Direct", "--preview")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "read as kinds (forced; detection says bullets); read it as another with --format " in out
    assert "2 traits, 1 guidance chunk, 2 boundaries, 1 excluded" in out
    assert _lines_after(out, "Traits") == ["line 1     Be good > Honest", "line 2     Be good > Warm [*]"]
    assert _lines_after(out, "Guidance") == ["line 3     Be good > Priorities"]
    assert _lines_after(out, "Boundaries") == [
        "line 4     Stay in bounds > No uplift",
        "line 6     Stay in bounds > No impersonation",
    ]
    assert _lines_after(out, "Excluded traits") == ["line 5     Be useful > Direct"]
    assert "Nothing stored (preview)" in out
    assert list_versions(project.store) == []


def test_add_reads_with_the_options_and_the_project_names(project: Project, tmp_path: Path) -> None:
    text = DOC.replace("Says how sure it is", "{model_name} says how sure it is")
    result = _invoke(project, "add", str(_write(tmp_path, text)), "--exclude", "Kind", "--only", "H*", "--only", "Kind")
    assert result.exit_code == 0, result.output
    assert "1 trait, 1 guidance chunk, 0 boundaries, 2 excluded" in result.output
    version = list_versions(project.store)[0]
    chunks = version_chunks(project.store, version.id)
    # The project's [docs] model_name fills the placeholder; the selection is part of the version.
    assert [c.text for c in chunks if c.kind == "trait"] == [
        "**Honest.** Aster says how sure it is and what would change its mind."
    ]
    leveled = _invoke(project, "add", str(_write(tmp_path, DOC, "other.md")), "--level", "2")
    assert leveled.exit_code == 0, leveled.output
    assert '"trait_level": 2' in list_versions(project.store, "other")[0].reading


def test_an_unknown_format_names_the_formats(project: Project, tmp_path: Path) -> None:
    result = _invoke(project, "add", str(_write(tmp_path, DOC)), "--format", "yaml", "--preview")
    assert isinstance(result.exception, WorkbenchError)
    assert "Unknown traits format 'yaml'" in str(result.exception) and "bullets" in (result.exception.hint or "")


@pytest.fixture
def large(project: Project, tmp_path: Path) -> Project:
    _invoke(project, "add", str(_write(tmp_path, large_traits_document(traits=150, sections=10), "large.md")))
    return project


def test_show_of_150_traits_summarises_then_pages(large: Project) -> None:
    first = _invoke(large, "show", "large", "--kind", "trait")
    assert first.exit_code == 0, first.output
    assert "150 traits, 20 guidance chunks, 0 boundaries · read as bullets" in first.output
    assert _lines_after(first.output, "Traits per top-level heading")[:2] == ["15  Section 0", "15  Section 1"]
    assert f"showing 1-40 of 150; next: workbench traits show large --kind trait --page 2 --project {large.root}" in (
        first.output
    )
    assert "Trait 39 is exact" in first.output and "Trait 40 is" not in first.output
    last = _invoke(large, "show", "large", "--kind", "trait", "--page", "4")
    assert "Trait 149 is exact" in last.output and "Trait 119 is" not in last.output
    assert "showing 121-150 of 150\n" in last.output
    everything = _invoke(large, "show", "large", "--per-page", "100")
    assert "showing 1-100 of 170; next: workbench traits show large --per-page 100 --page 2" in everything.output
    past = _invoke(large, "show", "large", "--page", "9")
    assert isinstance(past.exception, WorkbenchError) and "There is no page 9" in str(past.exception)


def test_show_grep_filters_the_list(large: Project) -> None:
    result = _invoke(large, "show", "large", "--grep", "trait 14", "--per-page", "5")
    assert "showing 1-5 of 11; next: workbench traits show large --grep 'trait 14' --per-page 5 --page 2" in (
        result.output
    )
    assert "Trait 14 is patient" in result.output and "Trait 13 " not in result.output
    none = _invoke(large, "show", "large", "--grep", "nowhere")
    assert none.exit_code == 0 and "No trait or guidance chunks hold 'nowhere'." in none.output


def test_show_lists_boundaries_in_their_own_section(project: Project) -> None:
    save_version(project.store, read_kinds(KINDS_TEXT, "kinds.txt", ReadOptions()), "kinds")
    out = _invoke(project, "show", "kinds").output
    listing, boundaries = out.split("Boundaries (2): never instilled; the critic checks them")
    assert "2 boundaries" in listing.splitlines()[1]
    assert "No uplift" not in listing and "Honest" in listing and "showing 1-4 of 4" in listing
    assert "No uplift" in boundaries and "No impersonation" in boundaries and "Honest" not in boundaries
    only = _invoke(project, "show", "kinds", "--kind", "boundary").output
    assert "No uplift" in only and "Honest" not in only.split("\n", 2)[2] and "Boundaries (" not in only


def test_status_of_a_150_trait_document_is_one_row(large: Project) -> None:
    result = CliRunner().invoke(app, ["status", "--project", str(large.root)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "large@1" in line)
    assert [cell.strip() for cell in row.split("│")[3:6]] == ["150", "20", "0"]
    assert "Trait 0 is candid" not in result.output and len(result.output.splitlines()) < 20


SPEC = """\
# Spec

## Be useful

### Answer the question

Answers what was asked, with specifics and care.

### Say how sure

Says how sure it is and why it thinks so.
"""


def test_preview_of_a_spec_offers_the_level_and_level_changes_the_traits(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC, "spec.md")
    detected = _invoke(project, "add", str(path), "--preview")
    assert "read as spec (detected)" in detected.output and "--level N makes the headings" in detected.output
    assert _lines_after(detected.output, "Traits") == [
        "line 5     Be useful > Answer the question",
        "line 9     Be useful > Say how sure",
    ]
    level_2 = _invoke(project, "add", str(path), "--level", "2", "--preview")
    assert _lines_after(level_2.output, "Traits") == ["line 3     Be useful"]
