"""Background jobs (workbench/jobs.py): a real `workbench` child on the fake Gemini server, followed from the store.

A pilot job records its progress and its end in its row and makes the rows the CLI makes; the same
job again adds nothing; Stop ends the whole process group and the job reads `stopped`; a child
killed outright reads `interrupted` on the next read; the progress writer keeps to its throttle; a
training launch is a job, whose progress is the steps its process logged.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.fakes.gemini_server import FakeGeminiServer
from tests.sft_setup import TRAITS, rows
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.errors import WorkbenchError
from workbench.jobs import Job, JobReporter, StartedJob, get_job, list_jobs, start_job, stop_job
from workbench.progress import ProgressUpdate
from workbench.project import Project
from workbench.train.launch import launch_training
from workbench.views.job_plans import trained_steps

WAIT_S = 120  # a ceiling for a child to reach a state, never a measured time


def pilot(project: Project, k: int = 1) -> StartedJob:
    """`workbench sft run` on the first trait: K scenarios."""
    args = ["sft", "run", "test", "--chunk", TRAITS[0], "--pilot", str(k), "--project", str(project.root)]
    return start_job(project, "sft", args)


def wait_until(project: Project, job_id: str, ready: Callable[[Job], bool]) -> Job:
    deadline = time.monotonic() + WAIT_S
    while not ready(job := get_job(project.store, job_id)):
        assert job.active, job.log_tail
        assert time.monotonic() < deadline, f"the job never got there: {job}"
        time.sleep(0.2)
    return job


def gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_pilot_job_records_its_progress_and_end_and_running_it_again_adds_nothing(
    sft_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    started = pilot(sft_project)
    assert get_job(sft_project.store, started.id).status in ("starting", "running")  # recorded before it ran
    assert started.process.wait(WAIT_S) == 0
    job = get_job(sft_project.store, started.id)
    assert (job.status, job.exit_code, job.active) == ("done", 0, False)
    assert job.stage and job.total > 0 and job.done == job.total and job.fraction == 1.0
    assert job.command == f"workbench sft run test --chunk 'Candid about risk' --pilot 1 --project {sft_project.root}"
    assert "SFT run" in job.log_tail  # the CLI's report, as a terminal would show it
    scenarios = rows(sft_project, "SELECT id FROM sft_scenarios ORDER BY id")
    assert len(scenarios) == 1
    sent = fake_gemini.requests_total

    again = pilot(sft_project)
    assert again.process.wait(WAIT_S) == 0
    assert get_job(sft_project.store, again.id).status == "done"
    assert rows(sft_project, "SELECT id FROM sft_scenarios ORDER BY id") == scenarios
    assert fake_gemini.requests_total == sent  # resumed from the store: nothing sent twice
    assert [j.id for j in list_jobs(sft_project.store)] == [again.id, started.id]


def test_stop_ends_the_process_group_and_the_job_reads_stopped(
    sft_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    fake_gemini.latency_s = 1.0
    started = pilot(sft_project, k=4)
    wait_until(sft_project, started.id, lambda j: j.total > 0)  # the pipeline runs and reports
    stop_job(sft_project.store, started.id)
    started.process.wait(WAIT_S)
    job = get_job(sft_project.store, started.id)
    assert (job.status, job.stop_requested, job.active) == ("stopped", True, False)
    assert job.exit_code not in (None, 0) and gone(started.process.pid)
    stop_job(sft_project.store, started.id)  # stopping an ended job does nothing
    assert get_job(sft_project.store, started.id).status == "stopped"


def test_a_killed_child_is_marked_interrupted_when_next_read(
    sft_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    fake_gemini.latency_s = 1.0
    started = pilot(sft_project, k=4)
    wait_until(sft_project, started.id, lambda j: j.status == "running" and j.total > 0)
    os.killpg(started.process.pid, signal.SIGKILL)
    started.process.wait(WAIT_S)
    job = get_job(sft_project.store, started.id)
    assert (job.status, job.exit_code, job.finished_at is not None) == ("interrupted", None, True)
    assert [j.status for j in list_jobs(sft_project.store, kinds=["sft"])] == ["interrupted"]
    assert list_jobs(sft_project.store, kinds=["train"]) == []


def test_the_progress_writer_keeps_the_latest_update_between_writes(project: Project) -> None:
    started = start_job(project, "demo", ["demo", "status", "--project", str(project.root)])
    started.process.wait(WAIT_S)
    reporter = JobReporter(project.store, started.id, interval_s=3600)
    for done in range(1, 6):
        reporter(ProgressUpdate("scenarios", done, 5))
    job = get_job(project.store, started.id)
    assert (job.stage, job.done, job.total) == ("scenarios", 1, 5)  # the first is written; the rest wait
    reporter.flush()
    assert get_job(project.store, started.id).done == 5


def test_an_unknown_job_is_an_error_that_says_where_to_look(project: Project) -> None:
    with pytest.raises(WorkbenchError, match="No job 'nope'"):
        get_job(project.store, "nope")


def test_a_training_launch_is_a_job_whose_total_is_its_planned_steps(accepted: Project) -> None:
    build_dataset(accepted, DatasetRecipe("chats", kind="sft", validation_fraction=0.0))
    launch = launch_training(accepted, "sft", {"dataset": "chats", "base_model": "/no/such/model", "max_steps": 7})
    launch.process.wait(WAIT_S)
    job = get_job(accepted.store, launch.job_id)
    assert (job.kind, job.stage, job.total, job.status) == ("train", "training", 7, "failed")
    assert job.log_path == str(launch.log_path) and "Could not load the base model" in job.log_tail
    assert job.args[:2] == ["train", "sft"] and f"output_dir={launch.output_dir}" in job.args


def test_a_training_jobs_progress_is_the_last_step_its_process_logged(project: Project) -> None:
    with project.store.connect() as con:
        for run_id, owner, steps in (("mine", "host:4242:99", (1, 5)), ("other", "host:42:99", (9,))):
            con.execute(
                "INSERT INTO train_runs (id, method, dataset_id, base_model, backend, config, output_dir, status,"
                " owner) VALUES (?, 'sft', 'd', 'm', 'trl', '{}', 'out', 'running', ?)",
                [run_id, owner],
            )
            for step in steps:
                con.execute("INSERT INTO train_metrics VALUES (?, ?, 'train', 'loss', 1.0, current_timestamp)",
                            [run_id, step])  # fmt: skip
    assert (trained_steps(project, 4242), trained_steps(project, 42), trained_steps(project, 7)) == (5, 9, 0)
