"""Background jobs: a `workbench …` command run as a process of its own and followed from the store.

    started = start_job(project, "sft", ["sft", "run", "test", "--pilot", "2", "--project", str(project.root)])
    job = get_job(project.store, started.id)   # status, stage, done / total, log tail: from any process, any page
    stop_job(project.store, started.id)         # SIGINT to its process group, SIGTERM after a grace period
    jobs = list_jobs(project.store)             # newest first; a job whose process is gone is marked first

The process is `python -m workbench.job_child ARGS…`, which runs exactly `workbench ARGS…` (so
the command a page shows beside its button does the same thing) and records how it ended. Its
row is written before the process starts, so no job runs unrecorded. The child finds its row
through `WORKBENCH_JOB` and `WORKBENCH_JOB_STORE`; `workbench.progress.RichProgress` then writes
each stage's progress into it (`JobReporter`, at most twice a second), so a page reload, another
page or another process sees how far it has come. It runs in a session of its own: a reload, or
the end of whoever started it, does not touch it. Resuming is the command's own business: every
stage works on what is missing, so starting the same job again continues without duplicates.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError
from workbench.progress import ProgressUpdate
from workbench.project import Project
from workbench.store import Store
from workbench.store.owner import current_owner, owner_alive

JOB_ENV = "WORKBENCH_JOB"  # the child's job id
JOB_STORE_ENV = "WORKBENCH_JOB_STORE"  # the store file its row is in
JOBS_DIR = Path("jobs")  # under the project folder: one log file per job
LOG_TAIL_CHARS = 4000
LOG_COLUMNS = "120"  # the width rich lays out tables for in a log
STOP_GRACE_S = 10.0  # after SIGINT, how long a job may take to stop cleanly before SIGTERM
WRITE_INTERVAL_S = 0.5  # progress rows written at most this often (the pipeline must not wait on the store)

JobStatus = Literal["starting", "running", "done", "failed", "stopped", "interrupted"]
ACTIVE: tuple[JobStatus, ...] = ("starting", "running")

_COLUMNS = ("id, kind, args, pid, log_path, status, stage, done, total, detail, started_at, finished_at,"
            " stop_requested_at IS NOT NULL, exit_code, log_tail")  # fmt: skip


class Job(BaseModel):
    """One background job as its row records it."""

    id: str = Field(description="The job's id (12 hex digits).")
    kind: str = Field(description="What it runs: sft, docs, audit, dataset, train, eval ...")
    args: list[str] = Field(description="The `workbench` arguments it runs.")
    pid: int | None = Field(description="Its process (and process group) id; None until started.")
    log_path: str = Field(description="The file its stdout and stderr go to.")
    status: JobStatus = Field(description="starting, running, done, failed, stopped or interrupted (process gone).")
    stage: str | None = Field(description="The stage that last reported progress.")
    done: int = Field(description="Items of that stage finished so far.")
    total: int = Field(description="Items in that stage (0: not known yet).")
    detail: str | None = Field(description="The latest progress note, if any.")
    started_at: datetime = Field(description="When the row was written.")
    finished_at: datetime | None = Field(description="When it ended, if it has.")
    stop_requested: bool = Field(description="Whether someone asked it to stop.")
    exit_code: int | None = Field(description="The process's exit status, once recorded.")
    log_tail: str = Field(description="The end of its log (live while it runs, recorded when it ends).")

    @property
    def active(self) -> bool:
        """Whether its process is still starting or running."""
        return self.status in ACTIVE

    @property
    def fraction(self) -> float | None:
        """done / total of the current stage, in [0, 1]; None while the total is unknown."""
        return min(self.done / self.total, 1.0) if self.total > 0 else None

    @property
    def command(self) -> str:
        """The `workbench` command line it runs, quoted for the shell."""
        return shlex.join(["workbench", *self.args])


@dataclass(frozen=True)
class StartedJob:
    """A job just started: its id, process, command line and log file."""

    id: str
    process: subprocess.Popen[bytes]
    command: list[str]
    log_path: Path


def job_command(args: Sequence[str]) -> list[str]:
    """The command line of a job that runs `workbench ARGS…`."""
    return [sys.executable, "-m", "workbench.job_child", *args]


def start_job(
    project: Project, kind: str, args: Sequence[str], *, log_path: Path | None = None, total: int = 0,
    stage: str | None = None,
) -> StartedJob:  # fmt: skip
    """Record a job, then start `workbench ARGS…` for it in a process group of its own.

    Args:
        project: The project whose store records the job (the child also gets it as WORKBENCH_PROJECT).
        kind: What it runs (shown in job lists; pages filter on it).
        args: The `workbench` arguments.
        log_path: Where its output goes (default: `jobs/ID.log` under the project).
        total: Items known up front (e.g. a training run's planned steps); 0 when the child will say.
        stage: The stage those items belong to.

    Raises:
        WorkbenchError: the process could not be started (the job is recorded as failed).
    """
    job_id = uuid.uuid4().hex[:12]
    log = log_path or project.root / JOBS_DIR / f"{job_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with project.store.connect() as con:
        con.execute(
            "INSERT INTO jobs (id, kind, args, log_path, status, stage, total) VALUES (?, ?, ?, ?, 'starting', ?, ?)",
            [job_id, kind, json.dumps(list(args)), str(log), stage, total],
        )
    command = job_command(args)
    # The log is read on a page, not a terminal: tables as wide as a page shows, no tqdm bars.
    env = {**os.environ, JOB_ENV: job_id, JOB_STORE_ENV: str(project.store.path),
           "WORKBENCH_PROJECT": str(project.root), "TQDM_DISABLE": "1", "COLUMNS": LOG_COLUMNS}  # fmt: skip
    try:
        with log.open("wb") as out:
            # A session of its own: its process group is what Stop signals, and a reload or an
            # interrupted notebook kernel must not reach it.
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, start_new_session=True)  # fmt: skip
    except OSError as e:
        job_finished(project.store, job_id, 1, note=str(e))
        raise WorkbenchError(f"Could not start `{shlex.join(command)}`: {e}.", hint="Is the Python still there?") from e
    with project.store.connect() as con:
        con.execute("UPDATE jobs SET pid = ? WHERE id = ?", [process.pid, job_id])
    # Waited on in the background so an ended child never lingers as a zombie (which would look alive).
    threading.Thread(target=process.wait, name=f"job-{job_id}", daemon=True).start()
    return StartedJob(job_id, process, command, log)


def get_job(store: Store, job_id: str) -> Job:
    """A job's row, after marking jobs whose process is gone.

    Raises:
        WorkbenchError: no such job.
    """
    with store.transaction() as con:
        _mark_dead(con)
        row = con.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", [job_id]).fetchone()
    if row is None:
        raise WorkbenchError(f"No job {job_id!r}.", hint="The jobs of a project are listed on the app's Run page.")
    return _job(row)


def list_jobs(store: Store, *, kinds: Sequence[str] | None = None, limit: int = 20) -> list[Job]:
    """The newest `limit` jobs (of `kinds`, if given), after marking jobs whose process is gone."""
    with store.transaction() as con:
        _mark_dead(con)
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE ? IS NULL OR kind IN (SELECT unnest(?))"
            " ORDER BY started_at DESC, id LIMIT ?",
            [None if kinds is None else list(kinds), list(kinds or []), limit],
        ).fetchall()
    return [_job(row) for row in rows]


def stop_job(store: Store, job_id: str, grace_s: float = STOP_GRACE_S) -> None:
    """Ask a job to stop: SIGINT to its process group now (the CLI stops cleanly), SIGTERM after `grace_s`.

    A job that has already ended is left as it is.
    """
    job = get_job(store, job_id)
    if not job.active or job.pid is None:
        return
    with store.connect() as con:
        con.execute("UPDATE jobs SET stop_requested_at = coalesce(stop_requested_at, current_timestamp) WHERE id = ?",
                    [job_id])  # fmt: skip
    _signal(job.pid, signal.SIGINT)
    timer = threading.Timer(grace_s, _escalate, [store, job_id])
    timer.daemon = True
    timer.start()


def _escalate(store: Store, job_id: str) -> None:
    job = get_job(store, job_id)
    if job.active and job.pid is not None:
        _signal(job.pid, signal.SIGTERM)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(pid, sig)


def job_started(store: Store, job_id: str) -> None:
    """Called by the child: it runs, and this process owns the job."""
    with store.connect() as con:
        con.execute("UPDATE jobs SET status = 'running', owner = ? WHERE id = ? AND status = 'starting'",
                    [current_owner(), job_id])  # fmt: skip


def job_finished(store: Store, job_id: str, exit_code: int, note: str = "") -> None:
    """Record how a job ended: done on exit status 0, else stopped (if asked to) or failed; and its log's tail."""
    with store.connect() as con:
        log_path = con.execute("SELECT log_path FROM jobs WHERE id = ?", [job_id]).fetchone()
        tail = "\n".join(filter(None, [log_tail(Path(log_path[0])) if log_path else "", note]))
        con.execute(
            "UPDATE jobs SET status = CASE WHEN ? = 0 THEN 'done' WHEN stop_requested_at IS NOT NULL THEN 'stopped'"
            " ELSE 'failed' END, exit_code = ?, finished_at = current_timestamp, log_tail = ?"
            " WHERE id = ? AND status IN ('starting', 'running')",  # only from a live state: an ended job stays ended
            [exit_code, exit_code, tail, job_id],
        )


def log_tail(path: Path) -> str:
    """The last `LOG_TAIL_CHARS` bytes of a log, decoded ("" when it cannot be read)."""
    try:
        with path.open("rb") as log:
            log.seek(max(path.stat().st_size - LOG_TAIL_CHARS, 0))
            return log.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


def _alive(pid: int | None, owner: str | None) -> bool:
    if owner:
        return owner_alive(owner)
    # Not running yet: the starter is between writing the row and recording the pid, or the child
    # is still importing (its pid alone says whether it lives).
    return pid is None or owner_alive(f"{socket.gethostname()}:{pid}:")


def _mark_dead(con: duckdb.DuckDBPyConnection) -> None:
    """Mark `interrupted` (or `stopped`, when asked to stop) each active job whose process is gone."""
    active = con.execute("SELECT id, pid, owner, log_path FROM jobs WHERE status IN ('starting', 'running')").fetchall()
    for job_id, pid, owner, log_path in active:
        if _alive(pid, owner):
            continue
        con.execute(
            "UPDATE jobs SET status = CASE WHEN stop_requested_at IS NULL THEN 'interrupted' ELSE 'stopped' END,"
            " finished_at = current_timestamp, log_tail = ? WHERE id = ? AND status IN ('starting', 'running')",
            [log_tail(Path(log_path)), job_id],
        )


def _job(row: tuple[Any, ...]) -> Job:
    fields = dict(zip(Job.model_fields, row, strict=True))
    fields["args"] = json.loads(fields["args"])
    if fields["log_tail"] is None:  # still running: read it live
        fields["log_tail"] = log_tail(Path(fields["log_path"]))
    return Job.model_validate(fields)


class JobReporter:
    """Writes a job's progress into its row: the latest update, at most every `interval_s` seconds.

    Updates in between are kept, not written; `flush` writes the latest one (the child calls it as it ends).
    """

    def __init__(self, store: Store, job_id: str, interval_s: float = WRITE_INTERVAL_S) -> None:
        self.store = store
        self.job_id = job_id
        self.interval_s = interval_s
        self._pending: ProgressUpdate | None = None
        self._written_at = -float("inf")

    def __call__(self, update: ProgressUpdate) -> None:
        self._pending = update
        if time.monotonic() - self._written_at >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """Write the latest update not yet written, if any."""
        update, self._pending = self._pending, None
        if update is None:
            return
        self._written_at = time.monotonic()
        with self.store.connect() as con:
            con.execute(
                "UPDATE jobs SET stage = ?, done = ?, total = ?, detail = ? WHERE id = ?",
                [update.stage, update.done, update.total, update.detail or None, self.job_id],
            )


def env_reporter() -> JobReporter | None:
    """This process's job reporter when it runs as a job (`WORKBENCH_JOB` is set), else None."""
    job_id, store = os.environ.get(JOB_ENV), os.environ.get(JOB_STORE_ENV)
    return _reporter(job_id, store) if job_id and store else None


@functools.cache
def _reporter(job_id: str, store: str) -> JobReporter:
    """One reporter per job, so every progress bar of the process shares its throttle."""
    return JobReporter(Store(Path(store)), job_id)
