"""The files of a distributed training run: what the parent writes for the ranks and what they write back.

    folder = RunFolder(Path(output_dir))
    write_run_config(folder.config, RunConfig(method="sft", settings={...}, manifest={...}))
    append_event(folder.events, MetricsEvent(step=3, split="train", values={"loss": 1.2}))
    events, offset = read_events(folder.events, offset)      # the complete lines written since `offset`

A run folder (the run's `output_dir`) holds:

    inputs/data/            the dataset as `workbench dataset export` writes it (train.jsonl, manifest.json ...)
    inputs/run_config.json  the method, its resolved settings and the checkpoint manifest (`RunConfig`)
    launch.log              the output of `accelerate launch` and of every rank
    events.jsonl            the main rank's log, one JSON object a line: metrics, saves, the final checkpoint
    ranks/rank-K.json       what rank K trained on (`ShardTrace`)
    checkpoint-N/, final/   the trainer's saves (paths in events are relative to the folder)

The parent (`train/distributed.py`) and the rank entry (`train/rank_main.py`) both use this module,
which imports neither a training library nor the store: the ranks never open the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from workbench.errors import WorkbenchError
from workbench.files import write_atomic


@dataclass(frozen=True)
class RunFolder:
    """The paths inside one distributed run's folder."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "inputs" / "data"

    @property
    def config(self) -> Path:
        return self.root / "inputs" / "run_config.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def log(self) -> Path:
        return self.root / "launch.log"

    @property
    def ranks(self) -> Path:
        return self.root / "ranks"

    def rank_file(self, rank: int) -> Path:
        return self.ranks / f"rank-{rank}.json"


class RunConfig(BaseModel):
    """What the ranks train with (`inputs/run_config.json`)."""

    method: str = Field(description="sft, midtrain, dpo or bdpo.")
    settings: dict[str, Any] = Field(description="The method's config fields (workbench/train/config.py), resolved.")
    manifest: dict[str, Any] = Field(
        default_factory=dict, description="What the final checkpoint's workbench_manifest.json records."
    )
    run_id: str | None = Field(default=None, description="The store's run id, when the parent registered one.")
    trust_remote_code: bool = Field(default=False, description="Whether the base model may run its own code.")


class MetricsEvent(BaseModel):
    """One trainer log, as the store's `train_metrics` keeps it."""

    event: Literal["metrics"] = Field(default="metrics", description="The event's type.")
    step: int = Field(description="The optimiser step it was logged at.")
    split: str = Field(description="train or eval.")
    values: dict[str, float] = Field(description="Metric name to value (loss, learning_rate, tokens_per_s ...).")


class SaveEvent(BaseModel):
    """An intermediate checkpoint the trainer saved (resumable with `resume_from`)."""

    event: Literal["save"] = Field(default="save", description="The event's type.")
    step: int = Field(description="The optimiser step it was saved at.")
    path: str = Field(description="Its folder, relative to the run folder.")


class FinalEvent(BaseModel):
    """The final checkpoint, written once training ended and the model was saved."""

    event: Literal["final"] = Field(default="final", description="The event's type.")
    step: int = Field(description="The last optimiser step.")
    path: str = Field(description="The checkpoint folder, relative to the run folder.")
    kind: str = Field(description="adapter or full.")
    final_loss: float | None = Field(description="The last logged training loss.")
    tokens_seen: int = Field(description="Input tokens (not padding) trained on, summed over every process.")
    train_runtime_s: float | None = Field(description="The trainer's training time in seconds.")


Event = Annotated[MetricsEvent | SaveEvent | FinalEvent, Field(discriminator="event")]
_EVENT: TypeAdapter[MetricsEvent | SaveEvent | FinalEvent] = TypeAdapter(Event)


class ShardTrace(BaseModel):
    """Which training examples one rank's batches held (`ranks/rank-K.json`)."""

    rank: int = Field(description="The process's global rank.")
    world_size: int = Field(description="How many processes trained.")
    unit: Literal["row", "block"] = Field(
        description="row: line numbers of inputs/data/train.jsonl; block: packed blocks (midtraining)."
    )
    ids: list[int] = Field(description="The rows or blocks, in the order this rank's batches held them.")


def write_run_config(path: Path, config: RunConfig) -> None:
    """Write `config` to `path` atomically (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, config.model_dump_json(indent=2) + "\n")


def read_run_config(path: Path) -> RunConfig:
    """The run config at `path`.

    Raises:
        WorkbenchError: the file is missing or is not a run config.
    """
    try:
        return RunConfig.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as e:
        raise WorkbenchError(
            f"Cannot read the run config {path}: {e}",
            hint="Write it with `workbench train METHOD … --launcher accelerate --dry-run`.",
        ) from e


def append_event(path: Path, event: BaseModel) -> None:
    """Append one event as a line, in a single write so a reader never sees half of it as whole."""
    with path.open("a", encoding="utf-8") as f:
        f.write(event.model_dump_json() + "\n")


def read_events(path: Path, offset: int = 0) -> tuple[list[MetricsEvent | SaveEvent | FinalEvent], int]:
    """The complete lines written after byte `offset`, and the offset after the last of them."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset
    complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next read
    events = [_EVENT.validate_json(line) for line in complete.splitlines() if line.strip()]
    return events, offset + len(complete)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The records of an exported JSONL split ([] when the file is absent)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
