"""Training runs, their metrics and their checkpoints, in the store.

    run_id = start_train_run(project, config, backend=..., base_model=..., parent=None, output_dir=...)
    register_checkpoint(project, run_id, step, path, kind="adapter", base_model=..., manifest={...})
    run_metrics(project, run_id)        # what workbench/train/metrics.py's StoreMetrics wrote

This module reads and writes rows only; it does not import transformers, so the app and the CLI
can list runs and chart metrics without loading the training stack.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.runs import mark_interrupted
from workbench.store.owner import current_owner
from workbench.train.config import TrainConfig


def start_train_run(
    project: Project, config: TrainConfig, *, backend: str, base_model: str, parent: str | None, output_dir: str,
    dataset_id: str,
) -> str:  # fmt: skip
    """Register a training run as this process's and `running`; returns its id.

    Runs left `running` by a process that died are marked `interrupted` first.
    """
    run_id = f"{config.method}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    mark_interrupted(project.store)
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_runs (id, method, dataset_id, base_model, parent_checkpoint, backend, config,"
            " output_dir, status, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
            [run_id, config.method, dataset_id, base_model, parent, backend,
             json.dumps(dataclasses.asdict(config)), output_dir, current_owner()],
        )  # fmt: skip
    return run_id


def finish_train_run(project: Project, run_id: str, status: str, error: str | None = None) -> None:
    with project.store.transaction() as con:
        con.execute(
            "UPDATE train_runs SET status = ?, error = ?, finished_at = current_timestamp WHERE id = ?",
            [status, error, run_id],
        )


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


def list_checkpoints(project: Project, run_id: str | None = None) -> list[Checkpoint]:
    """Every checkpoint (or one run's), newest first."""
    where = "WHERE run_id = ?" if run_id else ""
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints {where} ORDER BY created_at DESC, step DESC",
            [run_id] if run_id else [],
        ).fetchall()
    return [_checkpoint(r) for r in rows]


def run_metrics(project: Project, run_id: str) -> list[tuple[int, str, str, float]]:
    """(step, split, name, value) of a run, by step."""
    with project.store.connect() as con:
        return con.execute(
            "SELECT step, split, name, value FROM train_metrics WHERE run_id = ? ORDER BY step, split, name", [run_id]
        ).fetchall()
