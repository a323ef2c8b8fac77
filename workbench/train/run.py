"""Train a model: one method, one dataset, one recorded run, one checkpoint at the end.

    result = train(project, load_train_config("sft", overrides={"dataset": "mix", "base_model": "Qwen/..."}))
    result = train(project, load_train_config("sft", overrides={..., "base_model": f"checkpoint:{midtrained.id}"}))

The steps: resolve the dataset and the base model (a checkpoint of this project continues from
it; an adapter is merged into its base first), choose the backend, load, warn when midtraining
starts from a model that looks post-trained (`defaults.py`), check the rows (`checks.py`),
register the run, train with metrics streaming into the store, save the final checkpoint (adapter
or full model, tokenizer, `manifest.json`) and register it. A failure marks the run `failed` with
the error; `resume_from` continues an interrupted run from its last save.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from workbench.datasets.build import TrainDataset, get_train_dataset, train_dataset_rows
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.backend import Backend, choose_backend, load_for_training
from workbench.train.checks import DATASET_KIND, check_rows
from workbench.train.config import MidtrainConfig, TrainConfig
from workbench.train.defaults import post_trained_warning
from workbench.train.merge import resolve_base_model
from workbench.train.metrics import StoreMetrics
from workbench.train.tracking import Checkpoint, finish_train_run, register_checkpoint, start_train_run


@dataclass(frozen=True)
class TrainResult:
    """What a training run left: its id, its final checkpoint and the last logged training loss."""

    run_id: str
    checkpoint: Checkpoint
    backend: Backend
    final_loss: float | None


class _RegisterSaves(TrainerCallback):
    """Registers every intermediate checkpoint the trainer saves, so a crash leaves it findable."""

    def __init__(self, project: Project, run_id: str, base_model: str, manifest: dict[str, Any], kind: str) -> None:
        self.project, self.run_id, self.base_model, self.manifest, self.kind = (
            project,
            run_id,
            base_model,
            manifest,
            kind,
        )

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        path = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        register_checkpoint(self.project, self.run_id, state.global_step, str(path), kind=self.kind,
                            base_model=self.base_model, manifest=self.manifest)  # fmt: skip


def train(project: Project, config: TrainConfig, *, warn: Callable[[str], None] | None = None) -> TrainResult:
    """Train `config.base_model` on `config.dataset` with `config`'s method.

    Args:
        project: The project whose store the run is recorded in.
        config: The method's settings.
        warn: Called, before training starts, with each warning (midtraining from a model that looks
            post-trained: `train/defaults.py`); the CLI prints them.

    Raises:
        WorkbenchError: the dataset is missing, empty or of the wrong kind; the base model cannot
            be loaded; a row is too long; the chat template cannot mark the assistant's turns.
    """
    _refuse_inside_a_marimo_kernel()
    dataset = resolve_dataset(project, config)
    train_rows = train_dataset_rows(project, dataset.id, "train")
    validation_rows = train_dataset_rows(project, dataset.id, "validation")
    base_path, parent = resolve_base_model(project, config.base_model)
    backend = choose_backend(config.backend)
    loaded = load_for_training(
        config, base_path, backend=backend, trust_remote_code=project.config.hf.trust_remote_code
    )
    if isinstance(config, MidtrainConfig) and warn is not None:
        # The tokenizer as loaded (a hub model's too, or a `chat_template` override), not just a folder's files.
        warning = post_trained_warning(config.base_model, loaded.tokenizer.chat_template)
        if warning:
            warn(warning)
    check_rows(config, loaded.tokenizer, train_rows)

    output_dir = output_dir_for(project, config)
    run_id = start_train_run(project, config, backend=backend, base_model=base_path, parent=parent,
                             output_dir=str(output_dir), dataset_id=dataset.id)  # fmt: skip
    kind = "adapter" if config.lora else "full"
    manifest = run_manifest(config, backend, dataset.id, base_path, parent)
    try:
        from workbench.train.methods import make_trainer

        trainer = make_trainer(config, loaded, train_rows, validation_rows, str(output_dir))
        trainer.add_callback(StoreMetrics(project, run_id))
        trainer.add_callback(_RegisterSaves(project, run_id, base_path, manifest, kind))
        trainer.train(resume_from_checkpoint=config.resume_from)
        final = output_dir / "final"
        trainer.save_model(str(final))
        loaded.tokenizer.save_pretrained(str(final))
        (final / "workbench_manifest.json").write_text(json.dumps(manifest | {"run_id": run_id}, indent=2))
        checkpoint = register_checkpoint(project, run_id, trainer.state.global_step, str(final), kind=kind,
                                         base_model=base_path, manifest=manifest)  # fmt: skip
    except BaseException as e:
        finish_train_run(project, run_id, "failed", f"{type(e).__name__}: {e}")
        raise
    finish_train_run(project, run_id, "done")
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return TrainResult(run_id, checkpoint, backend, losses[-1] if losses else None)


def resolve_dataset(project: Project, config: TrainConfig) -> TrainDataset:
    """The training dataset `config` names, checked to be of the kind its method trains on.

    Raises:
        WorkbenchError: no such dataset, or one of another kind.
    """
    dataset = get_train_dataset(project, config.dataset)
    wanted = DATASET_KIND[config.method]
    if dataset.kind != wanted:
        raise WorkbenchError(
            f"{config.method} trains on a {wanted} dataset; {dataset.name!r} is {dataset.kind}.",
            hint=f"Build one with `workbench dataset build NAME --kind {wanted}`.",
        )
    return dataset


def _refuse_inside_a_marimo_kernel() -> None:
    """Say plainly what transformers would otherwise fail on deep inside its Trainer import.

    transformers takes any process that imported marimo for a notebook and then imports IPython
    for its notebook progress bar; without IPython the Trainer cannot even be imported.
    """
    if "marimo" in sys.modules and find_spec("IPython") is None:
        raise WorkbenchError(
            "Training cannot run inside this marimo notebook's kernel: transformers' Trainer then needs IPython.",
            hint="Launch it in the background with workbench.train.launch.launch_training, as "
            "notebooks/05_train.py does (or `workbench train …`), or `pip install ipython`.",
        )


def output_dir_for(project: Project, config: TrainConfig) -> Path:
    """Where a run writes: the interrupted run's folder when resuming, `output_dir`, else a new folder."""
    if config.resume_from:  # continue in the interrupted run's folder, next to its checkpoint-N
        return Path(config.resume_from).resolve().parent
    if config.output_dir:
        return Path(config.output_dir)
    from datetime import datetime

    return project.root / "checkpoints" / f"{config.method}-{datetime.now():%Y%m%d-%H%M%S}"


def run_manifest(config: TrainConfig, backend: str, dataset_id: str, base: str, parent: str | None) -> dict[str, Any]:
    """What `workbench_manifest.json` says about a checkpoint: method, data, base, backend, config, versions."""
    libraries = {name: version(name) for name in ("torch", "transformers", "trl", "peft")}
    return {"method": config.method, "dataset_id": dataset_id, "base_model": base, "parent_checkpoint": parent,
            "backend": backend, "config": dataclasses.asdict(config), "libraries": libraries}  # fmt: skip
