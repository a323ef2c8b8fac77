"""Train through `accelerate launch` (several processes, GPUs or machines): the parent keeps the store.

    result = train_distributed(project, config, AccelerateOptions(num_processes=2))
    prepared = prepare_run(project, config, AccelerateOptions(num_processes=8))   # inputs only (--dry-run)
    print(shlex.join(prepared.command))
    result = import_run(project, Path("checkpoints/sft-…"))   # a run folder trained elsewhere

Only this process opens the store. It resolves the dataset and the base model (`checkpoint:ID` is
merged first), checks the rows with the base model's tokenizer, and writes the run folder's inputs
(train/rank_io.py): the dataset in `workbench dataset export`'s format and `run_config.json`,
the settings resolved. It registers the run, then runs `accelerate launch … -m
workbench.train.rank_main --data … --config … --out …` and follows the main rank's
`events.jsonl` as it grows: metrics into `train_metrics` (so the app charts the run live), saves
and the final checkpoint into `checkpoints`. A launch that exits non-zero marks the run failed
with the end of its log. The ranks train with TRL + PEFT: Unsloth's own multi-GPU support is not
what accelerate launches.

Without an accelerate config file the command is DDP on this machine: `--multi_gpu` (torchrun's
launcher, which also starts CPU processes; the trainer then picks the gloo backend) on a free
port. accelerate gives each process one CPU thread (`OMP_NUM_THREADS`), which is also the
steadier choice on a busy CPU machine. With `config_file`, accelerate's file decides (FSDP,
DeepSpeed ZeRO, several machines).
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.datasets.build import train_dataset_rows
from workbench.datasets.export import export_train_dataset
from workbench.errors import WorkbenchError
from workbench.jobs import log_tail
from workbench.project import Project
from workbench.train.checks import check_rows
from workbench.train.config import MidtrainConfig, TrainConfig, load_train_config
from workbench.train.defaults import post_trained_warning
from workbench.train.merge import resolve_base_model
from workbench.train.metrics import insert_metrics
from workbench.train.rank_io import (
    FinalEvent,
    RunConfig,
    RunFolder,
    SaveEvent,
    read_events,
    read_run_config,
    write_run_config,
)
from workbench.train.run import TrainResult, output_dir_for, resolve_dataset, run_manifest
from workbench.train.tracking import Checkpoint, finish_train_run, register_checkpoint, start_train_run

RANK_MODULE = "workbench.train.rank_main"
POLL_S = 1.0  # how often the parent copies new events into the store


@dataclass(frozen=True)
class AccelerateOptions:
    """How to launch.

    Attributes:
        num_processes: Processes in all (over every machine); default: one per CUDA GPU, else 1.
        config_file: An accelerate config file (`accelerate config`): DDP, FSDP, DeepSpeed ZeRO,
            machines; it then decides everything but `num_processes` when that is given.
    """

    num_processes: int | None = None
    config_file: Path | None = None


@dataclass(frozen=True)
class PreparedRun:
    """A run folder with its inputs written, and the command that trains from them."""

    folder: RunFolder
    config: TrainConfig
    run_config: RunConfig
    dataset_id: str
    parent: str | None
    command: list[str]


def accelerate_command(folder: RunFolder, options: AccelerateOptions) -> list[str]:
    """`accelerate launch` (as `python -m accelerate.commands.launch`) running the rank entry on `folder`."""
    command = [sys.executable, "-m", "accelerate.commands.launch"]
    if options.config_file is not None:
        command += ["--config_file", str(options.config_file)]
        command += ["--num_processes", str(options.num_processes)] if options.num_processes else []
    else:
        processes = options.num_processes or _cuda_devices()
        command += ["--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
                    "--dynamo_backend", "no"]  # fmt: skip
        if processes > 1:  # torchrun's launcher; a fixed default port would collide with another run's
            command += ["--multi_gpu", "--main_process_port", str(_free_port())]
    return [*command, "-m", RANK_MODULE, "--data", str(folder.data), "--config", str(folder.config),
            "--out", str(folder.root)]  # fmt: skip


def _cuda_devices() -> int:
    import torch

    return max(torch.cuda.device_count(), 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_run(
    project: Project, config: TrainConfig, options: AccelerateOptions, *, warn: Callable[[str], None] | None = None
) -> PreparedRun:
    """Resolve, check and write a run folder's inputs; nothing is registered or started.

    Raises:
        WorkbenchError: the dataset is missing or of the wrong kind, the base model's tokenizer
            cannot be loaded, a row fails the checks, or the Unsloth backend was asked for.
    """
    if config.backend == "unsloth":
        raise WorkbenchError(
            "--launcher accelerate trains with TRL + PEFT; Unsloth is not launched across processes here.",
            hint="Use --backend trl (or auto), or train on one GPU without --launcher.",
        )
    dataset = resolve_dataset(project, config)
    base_path, parent = resolve_base_model(project, config.base_model)
    trust = project.config.hf.trust_remote_code
    _check(config, base_path, trust, train_dataset_rows(project, dataset.id, "train"), warn)
    folder = RunFolder(output_dir_for(project, config).resolve())
    resolved = dataclasses.replace(config, dataset=dataset.id, base_model=base_path, backend="trl",
                                   output_dir=str(folder.root))  # fmt: skip
    export_train_dataset(project, dataset.id, folder.data)
    settings = {k: v for k, v in dataclasses.asdict(resolved).items() if v is not None}
    manifest = run_manifest(resolved, "trl", dataset.id, base_path, parent)
    run_config = RunConfig(method=config.method, settings=settings, manifest=manifest, trust_remote_code=trust)
    write_run_config(folder.config, run_config)
    return PreparedRun(folder, resolved, run_config, dataset.id, parent, accelerate_command(folder, options))


def _check(
    config: TrainConfig, base: str, trust: bool, rows: list[dict[str, Any]], warn: Callable[[str], None] | None
) -> None:
    """The checks `train()` makes, with the tokenizer alone: the parent never loads the weights."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=trust)
    except (OSError, ValueError) as e:
        raise WorkbenchError(f"Could not load the tokenizer of {base!r}: {e}", hint="Check the name or path.") from e
    if config.chat_template:
        tokenizer.chat_template = Path(config.chat_template).read_text(encoding="utf-8")
    if (
        isinstance(config, MidtrainConfig)
        and warn is not None
        and (warning := post_trained_warning(config.base_model, tokenizer.chat_template))
    ):
        warn(warning)
    check_rows(config, tokenizer, rows)


def train_distributed(
    project: Project, config: TrainConfig, options: AccelerateOptions, *,
    warn: Callable[[str], None] | None = None, announce: Callable[[list[str], Path], None] | None = None,
) -> TrainResult:  # fmt: skip
    """Prepare, register and run `config` under `accelerate launch`, recording it as it goes.

    Args:
        project: The project whose store the run is recorded in.
        config: The method's settings.
        options: How to launch.
        warn: Called with each warning before training starts.
        announce: Called with the command and its log file just before it starts.

    Raises:
        WorkbenchError: as `prepare_run`; or the launch exited non-zero (the run is marked failed).
    """
    prepared = prepare_run(project, config, options, warn=warn)
    folder = prepared.folder
    run_id = start_train_run(project, prepared.config, backend="trl", base_model=prepared.config.base_model,
                             parent=prepared.parent, output_dir=str(folder.root),
                             dataset_id=prepared.dataset_id)  # fmt: skip
    write_run_config(folder.config, prepared.run_config.model_copy(update={"run_id": run_id}))
    if announce is not None:
        announce(prepared.command, folder.log)
    offset = folder.events.stat().st_size if folder.events.exists() else 0  # a resumed run's folder has earlier ones
    with folder.log.open("ab") as log:
        process = subprocess.Popen(prepared.command, stdout=log, stderr=subprocess.STDOUT)
    try:
        final = _follow(project, run_id, folder, prepared.run_config, process, offset)
    except BaseException as e:
        _stop(process)
        finish_train_run(project, run_id, "failed", f"{type(e).__name__}: {e}")
        raise
    return _finish(project, run_id, folder, process.returncode, final)


def _follow(
    project: Project, run_id: str, folder: RunFolder, run_config: RunConfig, process: subprocess.Popen[bytes],
    offset: int,
) -> tuple[Checkpoint, FinalEvent] | None:  # fmt: skip
    """Copy events into the store until the launch exits; the final checkpoint, if it was written."""
    final = None
    while True:
        ended = process.poll() is not None  # polled before reading: an ended process has written its last line
        events, offset = read_events(folder.events, offset)
        final = _record(project, run_id, folder, run_config, events) or final
        if ended:
            return final
        time.sleep(POLL_S)


def _record(
    project: Project, run_id: str, folder: RunFolder, run_config: RunConfig, events: list[Any]
) -> tuple[Checkpoint, FinalEvent] | None:
    """Store a batch of events: metrics rows and checkpoints; the final checkpoint if among them."""
    final = None
    kind = "adapter" if run_config.settings.get("lora", True) else "full"
    base = str(run_config.settings["base_model"])
    for event in events:
        if isinstance(event, SaveEvent | FinalEvent):
            checkpoint = register_checkpoint(project, run_id, event.step, str(folder.root / event.path), kind=kind,
                                             base_model=base, manifest=run_config.manifest)  # fmt: skip
            final = (checkpoint, event) if isinstance(event, FinalEvent) else final
        else:
            insert_metrics(project, run_id, event.step, event.split, event.values)
    return final


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the launch (accelerate passes the signal on to its ranks) and wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _finish(
    project: Project, run_id: str, folder: RunFolder, returncode: int | None,
    final: tuple[Checkpoint, FinalEvent] | None,
) -> TrainResult:  # fmt: skip
    if returncode == 0 and final is not None:
        finish_train_run(project, run_id, "done")
        return TrainResult(run_id, final[0], "trl", final[1].final_loss)
    tail = log_tail(folder.log)
    why = f"exited with status {returncode}" if returncode else "ended without writing a final checkpoint"
    finish_train_run(project, run_id, "failed", f"accelerate launch {why}: {tail[-1500:]}")
    raise WorkbenchError(f"Distributed training {why}. The end of {folder.log}:\n{tail}",
                         hint=f"The whole log is {folder.log}.")  # fmt: skip


def import_run(project: Project, root: Path) -> TrainResult:
    """Record a run folder trained elsewhere (its inputs written by `prepare_run`) as a run of this store.

    Raises:
        WorkbenchError: the folder has no run config, or no final checkpoint in its events.
    """
    folder = RunFolder(Path(root).resolve())
    run_config = read_run_config(folder.config)
    config = load_train_config(run_config.method, overrides=run_config.settings | {"output_dir": str(folder.root)})
    events, _ = read_events(folder.events)
    if not any(isinstance(e, FinalEvent) for e in events):
        raise WorkbenchError(f"{folder.events} records no final checkpoint: the run did not finish.",
                             hint="Import a folder whose `accelerate launch` ended with status 0.")  # fmt: skip
    dataset_id = str(run_config.manifest.get("dataset_id", config.dataset))
    run_id = start_train_run(project, config, backend="trl", base_model=config.base_model,
                             parent=run_config.manifest.get("parent_checkpoint"), output_dir=str(folder.root),
                             dataset_id=dataset_id)  # fmt: skip
    final = _record(project, run_id, folder, run_config, events)
    return _finish(project, run_id, folder, 0, final)
