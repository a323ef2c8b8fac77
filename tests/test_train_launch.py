"""Training launched in the background (workbench/train/launch.py): a `workbench train` process followed from the store.

The successful path (launch, wait, charts, checkpoint) is walked by notebooks/05_train.py under
tests/test_notebooks.py and `pytest notebooks/`; here: the form's suggestions, the step estimate,
settings refused before anything starts, a child that fails before it registers a run, and a
run interrupted while it trains.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.sft_setup import run
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.errors import WorkbenchError
from workbench.progress import ProgressUpdate
from workbench.project import Project, load_project
from workbench.train.config import load_train_config
from workbench.train.launch import (
    LOG_FILE,
    baseline_files,
    default_base_model,
    launch_state,
    launch_training,
    planned_steps,
    stop_training,
    wait_for_launch,
)


@pytest.fixture
def chats(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose accepted SFT examples are the training dataset `chats`."""
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(sft_project.root)
    run(project)
    build_dataset(project, DatasetRecipe("chats", kind="sft", validation_fraction=0.0))
    return project


def with_roles(project: Project, monkeypatch: pytest.MonkeyPatch, **roles: str) -> Project:
    for role, spec in roles.items():
        monkeypatch.setenv(f"WORKBENCH_ROLES__{role.upper()}", spec)
    return load_project(project.root)


def test_the_base_model_suggested_is_the_first_local_model_of_baseline_then_target(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_base_model(with_roles(project, monkeypatch, baseline="hf:/models/mine")) == "/models/mine"
    both = with_roles(project, monkeypatch, baseline="gemini:g", target="hf:Org/Model")
    assert default_base_model(both) == "Org/Model"
    assert default_base_model(with_roles(project, monkeypatch, target="openai:q@http://127.0.0.1:1/v1")) == ""


def test_baseline_files_are_the_jsonl_and_parquet_files_of_baselines(project: Project) -> None:
    assert baseline_files(project) == []
    folder = project.root / "baselines"
    (folder / "nested.jsonl").mkdir(parents=True)
    for name in ("b.parquet", "a.jsonl", "notes.txt"):
        (folder / name).write_text("")
    assert baseline_files(project) == [folder / "a.jsonl", folder / "b.parquet"]


@pytest.mark.parametrize(
    ("settings", "rows", "steps"),
    [({"max_steps": "7"}, 100, 7), ({"batch_size": "4", "gradient_accumulation_steps": "2", "epochs": "1.5"}, 10, 3),
     ({"batch_size": "4", "epochs": "0.1"}, 3, 1)],
)  # fmt: skip
def test_planned_steps(settings: dict[str, str], rows: int, steps: int) -> None:
    config = load_train_config("sft", overrides={"dataset": "d", "base_model": "m"} | settings)
    assert planned_steps(config, rows) == steps


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"nope": 1}, "Unknown sft setting"), ({"learning_rate": "fast"}, "learning_rate"),
     ({"dataset": "missing"}, "No training dataset 'missing'"), ({"resume_from": "x"}, "cannot resume")],
)  # fmt: skip
def test_bad_settings_start_nothing(chats: Project, settings: dict[str, object], message: str) -> None:
    with pytest.raises(WorkbenchError, match=message):
        launch_training(chats, "sft", {"dataset": "chats", "base_model": "m"} | settings)
    assert not (chats.root / "checkpoints").exists()


def test_a_child_that_fails_before_registering_a_run_is_failed_with_its_log(chats: Project) -> None:
    launch = launch_training(chats, "sft", {"dataset": "chats", "base_model": "/no/such/model", "max_steps": 2})
    assert launch.command[-2:] == ["--set", f"output_dir={launch.output_dir}"]
    assert launch.command[-4:-2] == ["--set", "max_steps=2"]
    state = wait_for_launch(chats, launch, timeout_s=300)
    assert (state.status, state.run, state.active, state.refresh_s) == ("failed", None, False, None)
    assert state.returncode != 0 and "Could not load the base model" in (state.error or "")
    assert launch.log_path == launch.output_dir / LOG_FILE


def test_a_running_launch_reports_progress_and_stops_on_request(chats: Project, tiny_model_path: Path) -> None:
    settings = {"dataset": "chats", "base_model": str(tiny_model_path), "max_steps": 100_000, "batch_size": 2,
                "lora": True, "lora_r": 4, "max_seq_length": 512}  # fmt: skip
    launch = launch_training(chats, "sft", settings)
    assert launch.total_steps == 100_000 and "--set" in launch.command and "lora=true" in launch.command
    assert launch_state(chats, launch).status == "starting"  # the child is still importing: no run row yet
    deadline = time.monotonic() + 300
    while not ((state := launch_state(chats, launch)).run and state.run.last_step):
        assert state.active, state.log_tail
        assert time.monotonic() < deadline, "no step was logged in time"
        time.sleep(0.5)
    assert state.status == "running" and state.refresh_s == 5.0 and state.error is None
    assert state.run.output_dir == str(launch.output_dir) and state.run.dataset_id == launch.config.dataset

    updates: list[ProgressUpdate] = []
    with pytest.raises(WorkbenchError, match="still running after"):
        wait_for_launch(chats, launch, timeout_s=0.5, poll_s=0.1, progress=updates.append)
    assert updates and {(u.stage, u.total, u.detail) for u in updates} == {("training", 100_000, "running")}
    assert all(u.done >= 1 for u in updates)

    stop_training(launch)
    stopped = wait_for_launch(chats, launch, timeout_s=120)
    assert stopped.status == "failed" and stopped.run is not None and stopped.run.status == "failed"
    assert "KeyboardInterrupt" in (stopped.error or "") and stopped.refresh_s is None
    assert stopped.run.last_step is not None and stopped.run.last_step < 100_000
