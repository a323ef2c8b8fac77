"""Every page's empty state on an empty project: a sentence, then code blocks that each hold one runnable command.

A code block is what a user copies into a shell, so each must be exactly a `workbench` command that the
CLI accepts as it stands: a known subcommand path, known options, every required argument given, and
no prose or placeholder to edit first.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.apptest import open_page
from workbench.cli import app
from workbench.project import Project

# Pages whose empty states say what is missing in an info and put what to run in code blocks.
PAGES = ["overview", "traits", "review", "documents", "patterns", "datasets", "training", "evals", "costs"]
# An argument still to be filled in: <angle brackets> or an upper-case word such as NAME, FILE or MODEL.
PLACEHOLDER = re.compile(r"[<>]|\b[A-Z][A-Z_]{2,}\b")


# typer bundles its own click; the UsageError every parse error raises is BadParameter's base class.
USAGE_ERROR = typer.BadParameter.__mro__[1]


def split_command(line: str) -> tuple[list[str], Any, list[str]]:
    """The subcommand path of a `workbench` command line, the command it names, and the arguments after it."""
    words = shlex.split(line)
    assert words[0] == "workbench", line
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = words[1:]
    while rest and rest[0] in getattr(command, "commands", {}):
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    assert not hasattr(command, "commands"), f"{line!r} names a group, not a command"
    return path, command, rest


def assert_runnable(line: str) -> None:
    """The CLI knows the command and parses its arguments as they stand (nothing is run)."""
    assert "\n" not in line and not PLACEHOLDER.search(line), f"not a bare command: {line!r}"
    path, command, rest = split_command(line)
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    command.make_context(" ".join(["workbench", *path]), list(rest))  # raises on an unknown option or missing arg


@pytest.mark.parametrize("page", PAGES)
def test_an_empty_page_says_what_is_missing_and_shows_runnable_commands(
    page: str, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(page, project, monkeypatch)
    assert not at.exception
    assert at.info, "an empty page says what is missing"
    assert not [i.value for i in at.info if "`workbench" in i.value], "commands go in code blocks, not in prose"
    commands = [c.value for c in at.code]
    assert commands, "an empty page shows what to run"
    for line in commands:
        assert_runnable(line)


def test_a_command_with_prose_or_a_placeholder_is_refused() -> None:
    for line in ("workbench sft run NAME --pilot 3", "workbench audit run <dataset>",
                 "workbench audit snapshot sft, then audit it"):  # fmt: skip
        with pytest.raises((AssertionError, USAGE_ERROR)):
            assert_runnable(line)
    assert_runnable("workbench audit snapshot sft")
