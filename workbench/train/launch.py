"""Start a training run in the background (a `workbench train …` process) and follow it from the store.

    launch = launch_training(project, "sft", {"dataset": "mix", "base_model": "Qwen/...", "max_steps": 10})
    launch = launch_training(project, "sft", {...}, launcher="accelerate", num_processes=4)   # docs/multi-gpu.md
    state = launch_state(project, launch)     # starting → running → done | failed; the run row; the log's tail
    state = wait_for_launch(project, launch, progress=callback)   # block until it ends (unattended runs)

A notebook cell that trained in its own kernel would keep the kernel busy, so nothing else (a
live loss chart) could run until it ended. The child is the CLI itself (`python -m workbench.cli
train METHOD …`), so a launch does exactly what `workbench train` does and its metrics stream
into `train_metrics`, where anyone sharing the store can read them while it trains. The settings
are validated here first, so a typo fails at once instead of in the child; each launch gets an
output folder of its own, which is how its `train_runs` row is found (`output_dir`). The process
is a background job (workbench/jobs.py): recorded in the store, so the app's Run page lists it.

`default_base_model` and `baseline_files` suggest what a form may start with: the project's
model being trained (the `baseline` role; for SFT the midtrained checkpoint, when there is one)
and the baseline data files under `baselines/`; `defaults.base_model_warning` says when a
midtraining base looks post-trained.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from workbench.datasets.build import get_train_dataset
from workbench.errors import WorkbenchError
from workbench.jobs import log_tail, start_job
from workbench.llm.spec import ModelSpec
from workbench.progress import ProgressCallback, ProgressUpdate
from workbench.project import Project
from workbench.train.config import TrainConfig, load_train_config
from workbench.train.defaults import latest_midtrained
from workbench.train.merge import CHECKPOINT_PREFIX
from workbench.views.training import TrainRun, get_train_run, refresh_every

BASELINES_DIR = Path("baselines")  # a project's baseline data files, offered as the mix's other part
BASELINE_SUFFIXES = (".jsonl", ".parquet")
BASE_MODEL_ROLES = ("baseline", "target")  # the model being trained, then the one evaluated
LOG_FILE = "train.log"

Status = Literal["starting", "running", "done", "failed"]


def default_base_model(project: Project, method: str | None = None, dataset: str | None = None) -> str:
    """The model a training form starts with.

    SFT continues from the latest finished midtraining checkpoint (on `dataset`'s traits document
    where that is known: `defaults.latest_midtrained`), as the seed method does; otherwise, and for
    every other method, the first `hf:` model of the `baseline`, then `target` role.

    Returns:
        `checkpoint:ID`, a hub name or a local folder, or "" when there is none of these.
    """
    if method == "sft" and (midtrained := latest_midtrained(project, dataset)) is not None:
        return f"{CHECKPOINT_PREFIX}{midtrained.id}"
    for role in BASE_MODEL_ROLES:
        spec = project.config.roles.get(role)
        if not spec:
            continue
        try:
            parsed = ModelSpec.parse(spec)
        except WorkbenchError:
            continue
        if parsed.backend == "hf":
            return parsed.model
    return ""


def baseline_files(project: Project) -> list[Path]:
    """The JSONL and Parquet files under the project's `baselines/` folder, by name (none if it is missing)."""
    folder = project.root / BASELINES_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in BASELINE_SUFFIXES)


@dataclass
class TrainLaunch:
    """A training process started by `launch_training`.

    Attributes:
        method: sft, midtrain, dpo or bdpo.
        config: The validated settings the child trains with (`dataset` resolved to its id).
        output_dir: The run's own output folder (its checkpoints, and `train.log`).
        log_path: The child's stdout and stderr.
        command: The command line it runs.
        process: The child process.
        total_steps: The optimiser steps it will take (`max_steps`, else estimated from the epochs and
            the training split: midtraining packs text, so the estimate is rough there).
        job_id: Its background job (`workbench.jobs`).
    """

    method: str
    config: TrainConfig
    output_dir: Path
    log_path: Path
    command: list[str]
    process: subprocess.Popen[bytes]
    total_steps: int
    job_id: str = ""


@dataclass(frozen=True)
class LaunchState:
    """Where a launched run stands.

    Attributes:
        status: `starting` (loading and checking, no run row yet), `running`, `done` or `failed`
            (also when the process died without recording an end).
        run: Its `train_runs` row, once registered.
        returncode: The process's exit status, None while it runs.
        log_tail: The end of its log (the error, when it failed before registering a run).
    """

    status: Status
    run: TrainRun | None
    returncode: int | None
    log_tail: str

    @property
    def active(self) -> bool:
        """Whether the process is still running."""
        return self.returncode is None

    @property
    def refresh_s(self) -> float | None:
        """Seconds between re-reads of its charts while the process runs (`views.training.refresh_every`)."""
        return refresh_every("running" if self.active else self.status)

    @property
    def error(self) -> str | None:
        """Why it failed: the run's recorded error, else the log's tail; None unless failed."""
        if self.status != "failed":
            return None
        return (self.run.error if self.run and self.run.error else None) or self.log_tail or "The process ended."


def _setting(value: Any) -> str:
    """A validated setting as `--set KEY=VALUE` takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise WorkbenchError(f"The setting {value!r} cannot be passed on the command line.", hint="Use a TOML config.")


def planned_steps(config: TrainConfig, train_rows: int) -> int:
    """The optimiser steps a run takes: `max_steps`, else epochs × ⌈⌈rows / batch⌉ / accumulation⌉."""
    if config.max_steps > 0:
        return config.max_steps
    per_epoch = math.ceil(math.ceil(train_rows / config.batch_size) / config.gradient_accumulation_steps)
    return max(1, math.ceil(per_epoch * config.epochs))


def launch_training(
    project: Project, method: str, settings: dict[str, Any], *, launcher: str = "local",
    num_processes: int | None = None,
) -> TrainLaunch:  # fmt: skip
    """Validate `settings` for `method` and start `workbench train METHOD` on them in the background.

    Args:
        project: The project whose store the run is recorded in.
        method: sft, midtrain, dpo or bdpo.
        settings: Config fields (`dataset` and `base_model` required), as for `load_train_config`;
            `output_dir` is chosen here unless given.
        launcher: "local" (the child trains) or "accelerate" (the child runs `accelerate launch`
            with `num_processes` processes: workbench/train/distributed.py).
        num_processes: With the accelerate launcher: processes in all (default one per GPU).

    Returns:
        The launch, whose process has started (follow it with `launch_state` / `wait_for_launch`).

    Raises:
        WorkbenchError: an unknown method, setting or value, a missing dataset, or `resume_from`
            (nothing is started).
    """
    if settings.get("resume_from"):  # it would write into the interrupted run's folder, where the row is not ours
        raise WorkbenchError(
            "A launched run cannot resume an interrupted one.",
            hint="Resume from the command line: `workbench train METHOD … --set resume_from=FOLDER`.",
        )
    stamp = f"{method}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    output_dir = (project.root / "checkpoints" / stamp).resolve()
    settings = {**settings, "output_dir": str(settings.get("output_dir") or output_dir)}
    config = load_train_config(method, overrides=settings)
    dataset = get_train_dataset(project, config.dataset)
    config = dataclasses.replace(config, dataset=dataset.id)  # pinned: a name may later mean a newer dataset
    output_dir = Path(str(config.output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    args = ["train", method, "--dataset", config.dataset, "--base-model", config.base_model,
            "--project", str(project.root)]  # fmt: skip
    for key in sorted(k for k, v in settings.items() if v is not None and k not in ("dataset", "base_model")):
        args += ["--set", f"{key}={_setting(getattr(config, key))}"]
    if launcher != "local":
        args += ["--launcher", launcher] + (["--num-processes", str(num_processes)] if num_processes else [])
    total = planned_steps(config, dataset.train_rows)
    # A job (workbench/jobs.py): a process group of its own, which interrupting the notebook's kernel
    # does not reach, recorded in the store so the app's Run page lists and can stop it too.
    job = start_job(project, "train", args, log_path=output_dir / LOG_FILE, total=total, stage="training")
    return TrainLaunch(method, config, output_dir, job.log_path, job.command, job.process, total, job.id)


def _launched_run(project: Project, launch: TrainLaunch) -> TrainRun | None:
    with project.store.connect() as con:
        found = con.execute(
            "SELECT id FROM train_runs WHERE output_dir = ? ORDER BY started_at DESC LIMIT 1", [str(launch.output_dir)]
        ).fetchone()
    return get_train_run(project, found[0]) if found else None


def launch_state(project: Project, launch: TrainLaunch) -> LaunchState:
    """Where a launched run stands now: from its process and its `train_runs` row."""
    returncode = launch.process.poll()  # before reading the row: a process that has ended has written it
    run = _launched_run(project, launch)
    status: Status
    if returncode is None:
        status = "running" if run else "starting"
    elif run is not None and run.status in ("done", "failed"):
        status = "done" if run.status == "done" and returncode == 0 else "failed"
    else:  # it died before registering a run, or without recording its end
        status = "failed"
    return LaunchState(status, run, returncode, log_tail(launch.log_path))


def wait_for_launch(
    project: Project, launch: TrainLaunch, *, timeout_s: float | None = None, poll_s: float = 1.0,
    progress: ProgressCallback | None = None,
) -> LaunchState:  # fmt: skip
    """Block until the launched process ends; report the steps logged so far as stage `training`.

    Raises:
        WorkbenchError: it still runs after `timeout_s` (it is left running).
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        state = launch_state(project, launch)
        if progress is not None:
            step = state.run.last_step if state.run and state.run.last_step else 0
            progress(ProgressUpdate("training", min(step, launch.total_steps), launch.total_steps, state.status))
        if not state.active:
            return state
        if deadline is not None and time.monotonic() >= deadline:
            raise WorkbenchError(
                f"The training process {launch.process.pid} is still running after {timeout_s:.0f}s.",
                hint=f"It goes on; its log is {launch.log_path}.",
            )
        with contextlib.suppress(subprocess.TimeoutExpired):  # it ended: the next state says how
            launch.process.wait(timeout=poll_s)


def stop_training(launch: TrainLaunch) -> None:
    """Interrupt a launched run (SIGINT): the child records it as failed with KeyboardInterrupt and exits."""
    if launch.process.poll() is None:
        os.killpg(launch.process.pid, signal.SIGINT)
