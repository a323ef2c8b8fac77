"""`--batch` and `workbench batch …` as a user runs them, against the fake Gemini Batch API.

A process killed while it waits on a batch loses nothing: the batch is in the store, and the
same command again collects it instead of submitting it again. `--wait` carries a pipeline to its
end by itself, one step's batch after another.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.fakes.sft_model import SFTFakeModel
from tests.kill_resume import Pipeline, new_project, start
from tests.sft_setup import PERSONAS, TRAITS, sft_env
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.llm.batch import records
from workbench.project import Project

PILOT = ("sft", "run", "test", "--pilot", "1")


def env_for(fake: Any) -> dict[str, str]:
    fake.rule = SFTFakeModel(TRAITS, PERSONAS)
    return sft_env(fake, WORKBENCH_BATCH__POLL_S="0.05", WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true")


def cli(project: Project, env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--project", str(project.root)], env=env | {"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def batch_ledger_rows(project: Project) -> int:
    with project.store.connect() as con:
        return con.execute("SELECT count(*) FROM llm_calls WHERE purpose = 'batch'").fetchone()[0]  # type: ignore[index]


def test_a_process_killed_while_waiting_loses_nothing_and_the_rerun_collects_without_resubmitting(
    fake_gemini: Any, tmp_path: Path
) -> None:
    env = env_for(fake_gemini)
    fake_gemini.batch_auto_advance = False  # the job runs only when the test says so
    project = new_project(tmp_path / "p", Pipeline(PILOT))
    process = start(project, env, Pipeline((*PILOT, "--batch", "--wait")))
    deadline = time.monotonic() + 120
    while not fake_gemini.batch_jobs or not records.batches(project.store, open_only=True)[0].remote_id:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "no batch was submitted"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    [batch] = records.batches(project.store)
    assert "pending" in cli(project, env, "batch", "status") and batch.id in cli(project, env, "batch", "list")
    assert batch.id in cli(project, env, "status"), "`workbench status` shows where each batch stands"
    job = fake_gemini.batch_jobs[0]
    while not job.final:
        fake_gemini.advance()

    output = cli(project, env, *PILOT, "--batch")

    assert batch.id not in output.split("Submitted now:")[-1], "the first batch was collected, not resubmitted"
    assert sum(1 for j in fake_gemini.batch_jobs if j.display_name == batch.id) == 1
    assert batch_ledger_rows(project) == len(job.lines)
    assert len(fake_gemini.batch_jobs) == 2, "the next step's batch went out"
    assert "wait on batches" in output and "workbench batch status" in output


def test_wait_carries_the_pipeline_to_its_end_one_batch_after_another(fake_gemini: Any, tmp_path: Path) -> None:
    env = env_for(fake_gemini)
    project = new_project(tmp_path / "p", Pipeline(PILOT))

    process = start(project, env, Pipeline((*PILOT, "--batch", "--wait")))
    output, _ = process.communicate(timeout=240)

    assert process.returncode == 0, output
    assert len(fake_gemini.batch_jobs) >= 4 and "Waiting on 1 batch(es)" in output
    assert records.batches(project.store, open_only=True) == []
    with project.store.connect() as con:
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
        examples = con.execute("SELECT count(*) FROM sft_examples").fetchone()[0]  # type: ignore[index]
    assert statuses[-1] == "done" and set(statuses[:-1]) == {"waiting"}
    assert examples > 0
    assert not [r for r in fake_gemini.requests if r.path.endswith(":generateContent")], "nothing went live"


def test_batch_options_that_mean_nothing_are_refused(fake_gemini: Any, tmp_path: Path) -> None:
    env = env_for(fake_gemini)
    project = new_project(tmp_path / "p", Pipeline(PILOT))
    runner = CliRunner()
    for extra, message in ((["--wait"], "needs --batch"), (["--batch", "--batch-export"], "not both")):
        result = runner.invoke(app, [*PILOT, *extra, "--project", str(project.root)], env=env)
        assert isinstance(result.exception, WorkbenchError) and message in str(result.exception)
    result = runner.invoke(app, ["batch", "cancel", "wb-nope", "--project", str(project.root)], env=env)
    assert isinstance(result.exception, WorkbenchError) and "No batch wb-nope" in str(result.exception)


def test_batch_commands_on_a_project_without_batches_say_so(fake_gemini: Any, tmp_path: Path) -> None:
    env = env_for(fake_gemini)
    project = new_project(tmp_path / "p", Pipeline(PILOT))
    for command in (("batch", "status"), ("batch", "collect"), ("batch", "list")):
        assert "No open batches" in cli(project, env, *command)
    assert fake_gemini.requests_total == 0
