"""Training runs, their live metrics and their checkpoints, in the store.

    run_id = start_train_run(project, config, backend=..., base_model=..., parent=None, output_dir=...)
    trainer.add_callback(StoreMetrics(project, run_id))     # loss, lr, grad norm, tokens/s, memory
    register_checkpoint(project, run_id, step, path, kind="adapter", base_model=..., manifest={...})

Metrics are written as the trainer logs them (every `logging_steps`), one short transaction
each, so the app can chart a run while it trains; no connection is held in between. Tokens per
second are measured between two logs from the trainer's count of input tokens seen; peak
memory is the CUDA allocator's peak on a GPU and the process's peak resident set elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.config import TrainConfig


def start_train_run(
    project: Project, config: TrainConfig, *, backend: str, base_model: str, parent: str | None, output_dir: str,
    dataset_id: str,
) -> str:  # fmt: skip
    """Register a training run as `running`; returns its id."""
    run_id = f"{config.method}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_runs (id, method, dataset_id, base_model, parent_checkpoint, backend, config,"
            " output_dir, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
            [run_id, config.method, dataset_id, base_model, parent, backend,
             json.dumps(dataclasses.asdict(config)), output_dir],
        )  # fmt: skip
    return run_id


def finish_train_run(project: Project, run_id: str, status: str, error: str | None = None) -> None:
    with project.store.transaction() as con:
        con.execute(
            "UPDATE train_runs SET status = ?, error = ?, finished_at = current_timestamp WHERE id = ?",
            [status, error, run_id],
        )


def peak_memory_mb() -> float:
    """Peak memory of this process's training: CUDA's allocator peak, else the peak resident set."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


class StoreMetrics(TrainerCallback):
    """Writes each trainer log (loss, learning rate, grad norm, eval loss ...) to `train_metrics`."""

    def __init__(self, project: Project, run_id: str) -> None:
        self.project = project
        self.run_id = run_id
        self._last: tuple[float, int] | None = None  # (time, tokens seen) at the previous log

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        import torch

        if torch.cuda.is_available():  # the peak of training, not of loading
            torch.cuda.reset_peak_memory_stats()

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
        logs: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        if not logs:
            return
        split = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        values = {k.removeprefix("eval_"): float(v) for k, v in logs.items() if isinstance(v, int | float)}
        if split == "train":
            values |= self._throughput(state)
        with self.project.store.transaction() as con:
            con.execute(
                "INSERT INTO train_metrics (run_id, step, split, name, value)"
                " SELECT ?, ?, ?, unnest(?), unnest(?) ON CONFLICT DO NOTHING",
                [self.run_id, state.global_step, split, list(values), list(values.values())],
            )

    def _throughput(self, state: TrainerState) -> dict[str, float]:
        now, seen = time.perf_counter(), int(getattr(state, "num_input_tokens_seen", 0) or 0)
        values = {"peak_memory_mb": peak_memory_mb()}
        if self._last is not None and seen > self._last[1] and now > self._last[0]:
            values["tokens_per_s"] = (seen - self._last[1]) / (now - self._last[0])
        self._last = (now, seen)
        return values


class Checkpoint(BaseModel):
    """A stored checkpoint."""

    id: str = Field(description="The checkpoint's id: the run id and step.")
    run_id: str = Field(description="The training run that wrote it.")
    step: int = Field(description="The optimiser step it was saved at.")
    path: str = Field(description="Its folder: an adapter, a full model or a merged model, with the tokenizer.")
    kind: str = Field(description="adapter, full or merged.")
    base_model: str = Field(description="What an adapter applies to (the model the run loaded).")
    manifest: dict[str, Any] = Field(description="Method, dataset, config, backend, library versions.")
    created_at: datetime = Field(description="When it was registered.")


def register_checkpoint(
    project: Project, run_id: str, step: int, path: str, *, kind: str, base_model: str, manifest: dict[str, Any]
) -> Checkpoint:
    checkpoint_id = f"{run_id}@{step}" + ("-merged" if kind == "merged" else "")
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO checkpoints (id, run_id, step, path, kind, base_model, manifest) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET path = excluded.path, manifest = excluded.manifest",
            [checkpoint_id, run_id, step, path, kind, base_model, json.dumps(manifest)],
        )
    return get_checkpoint(project, checkpoint_id)


def get_checkpoint(project: Project, ref: str) -> Checkpoint:
    """A checkpoint by id or id prefix (the newest match), or a run id (its newest checkpoint).

    Raises:
        WorkbenchError: nothing matches.
    """
    with project.store.connect() as con:
        row = con.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE starts_with(id, ?) OR run_id = ?"
            " ORDER BY id = ? DESC, created_at DESC, step DESC LIMIT 1",
            [ref, ref, ref],
        ).fetchone()
    if row is None:
        raise WorkbenchError(f"No checkpoint {ref!r}.", hint="List them with `workbench train checkpoints`.")
    return _checkpoint(row)


_CHECKPOINT_COLUMNS = "id, run_id, step, path, kind, base_model, manifest, created_at"


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    values = dict(zip(_CHECKPOINT_COLUMNS.split(", "), row, strict=True)) | {"manifest": json.loads(row[6])}
    return Checkpoint.model_validate(values)


def list_checkpoints(project: Project) -> list[Checkpoint]:
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY created_at DESC, step DESC"
        ).fetchall()
    return [_checkpoint(r) for r in rows]


def run_metrics(project: Project, run_id: str) -> list[tuple[int, str, str, float]]:
    """(step, split, name, value) of a run, by step."""
    with project.store.connect() as con:
        return con.execute(
            "SELECT step, split, name, value FROM train_metrics WHERE run_id = ? ORDER BY step, split, name", [run_id]
        ).fetchall()
