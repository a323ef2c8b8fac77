"""A killed process's runs are marked `interrupted` by the next start of any run, `workbench status` and the Overview.

A real subprocess starts a generation run and a training run on the project, then is SIGKILLed,
as a user's Ctrl-\\ or an OOM kill would end it: nothing of its own records the end.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.apptest import open_page
from tests.kill_resume import REPO
from tests.sft_setup import rows
from workbench.cli import app
from workbench.project import Project
from workbench.runs import INTERRUPTED_NOTE, mark_interrupted, start_run

# Starts one generation run and one training run, says their ids, and waits to be killed.
_OWNER = """
import sys, time
from pathlib import Path
from workbench.project import load_project
from workbench.runs import start_run
from workbench.train.config import load_train_config
from workbench.train.tracking import start_train_run

project = load_project(Path(sys.argv[1]))
print(start_run(project.store, "sft", traits_version="v1"), flush=True)
config = load_train_config("sft", overrides={"dataset": "d", "base_model": "tiny"})
print(start_train_run(project, config, backend="trl", base_model="tiny", parent=None, output_dir="out",
                      dataset_id="d"), flush=True)
time.sleep(600)
"""


@pytest.fixture
def owner(project: Project) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """A live process that owns a `running` generation run and a `running` training run (their ids)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(project.root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    run_id, train_id = process.stdout.readline().strip(), process.stdout.readline().strip()
    yield process, run_id, train_id
    process.kill()
    process.wait()


def _kill(process: subprocess.Popen[str]) -> None:
    process.kill()  # SIGKILL: the process records nothing
    process.wait()


def _statuses(project: Project, run_id: str, train_id: str) -> tuple[Any, ...]:
    return (
        rows(project, "SELECT status, note, finished_at IS NOT NULL FROM runs WHERE id = ?", run_id)[0],
        rows(project, "SELECT status, error, finished_at IS NOT NULL FROM train_runs WHERE id = ?", train_id)[0],
    )


def test_the_next_start_marks_runs_of_a_killed_process_interrupted(
    project: Project, owner: tuple[subprocess.Popen[str], str, str]
) -> None:
    process, run_id, train_id = owner
    assert mark_interrupted(project.store) == 0, "a run whose process still works is left running"
    assert _statuses(project, run_id, train_id) == (("running", None, False), ("running", None, False))

    _kill(process)
    mine = start_run(project.store, "docs", traits_version="v1")

    assert _statuses(project, run_id, train_id) == (
        ("interrupted", INTERRUPTED_NOTE, True),
        ("interrupted", INTERRUPTED_NOTE, True),
    )
    assert rows(project, "SELECT status FROM runs WHERE id = ?", mine) == [("running",)], "this process is alive"


def test_status_shows_a_killed_run_as_interrupted(
    project: Project, owner: tuple[subprocess.Popen[str], str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    process, run_id, train_id = owner
    _kill(process)
    monkeypatch.setenv("COLUMNS", "250")

    result = CliRunner().invoke(app, ["status", "-p", str(project.root)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "Interrupted runs (their process ended without finishing): 2" in result.output
    assert f"generation {run_id} (sft:v1)" in result.output and f"training {train_id}" in result.output
    assert _statuses(project, run_id, train_id)[0][0] == "interrupted"


@pytest.mark.parametrize(
    ("page", "table", "runs"),
    [("overview", -1, ("generation", "training")),  # "Latest runs", the page's last table
     ("training", 0, ("training",))],
)  # fmt: skip
def test_the_app_pages_show_a_killed_run_as_interrupted(
    project: Project, owner: tuple[subprocess.Popen[str], str, str], monkeypatch: pytest.MonkeyPatch,
    page: str, table: int, runs: tuple[str, ...],
) -> None:  # fmt: skip
    process, run_id, train_id = owner
    _kill(process)

    at = open_page(page, project, monkeypatch)

    assert not at.exception
    shown = at.dataframe[table].value
    ids = {"generation": run_id, "training": train_id}
    assert dict(zip(shown["id"], shown["status"], strict=True)) == {ids[kind]: "interrupted" for kind in runs}
