"""The entry point each process of a distributed run executes: train from exported files, no store.

    accelerate launch --num_processes 2 … -m workbench.train.rank_main \\
        --data RUN/inputs/data --config RUN/inputs/run_config.json --out RUN

`workbench train METHOD … --launcher accelerate` writes the inputs (the dataset as `workbench
dataset export` writes it, and `run_config.json`) and prints the command; the same command runs on
any machine that has those files, the base model and this package. Every rank loads the model
(`backend.load_for_training`), checks the rows (`checks.check_rows`), builds the method's trainer
(`methods.make_trainer`) and trains its shard of each batch; accelerate (DDP, or FSDP / DeepSpeed
from its config file) keeps the weights in step. Only the main process writes the run's record:
metric logs, saves and the final checkpoint go to `events.jsonl` (train/rank_io.py), which the
parent copies into the store as it grows. Every rank writes `ranks/rank-K.json`, the rows its
batches held, so a run shows how the data was split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from workbench.errors import WorkbenchError
from workbench.train.backend import choose_backend, load_for_training
from workbench.train.checks import DATASET_KIND, check_rows
from workbench.train.config import MidtrainConfig, TrainConfig, load_train_config
from workbench.train.metrics import MetricsCallback
from workbench.train.rank_io import (
    FinalEvent,
    MetricsEvent,
    RunConfig,
    RunFolder,
    SaveEvent,
    ShardTrace,
    append_event,
    read_rows,
    read_run_config,
)

# The columns of a tokenised example that identify it: SFT and midtraining, then preference pairs.
_IDENTITY_COLUMNS = ("input_ids", "prompt_ids", "chosen_ids", "rejected_ids")


class FileMetrics(MetricsCallback):
    """Appends each log of the main process to `events.jsonl`."""

    def __init__(self, events: Path) -> None:
        super().__init__()
        self.events = events

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        append_event(self.events, MetricsEvent(step=step, split=split, values=values))


class FileSaves(TrainerCallback):
    """Records each intermediate save of the main process, so a crashed run's checkpoints are found."""

    def __init__(self, events: Path) -> None:
        self.events = events

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            append_event(self.events, SaveEvent(step=state.global_step, path=f"checkpoint-{state.global_step}"))


class ShardRecorder(TrainerCallback):
    """Wraps a trainer's collator to note which training examples this process's trained batches held.

    An example is known by its tokenised ids, looked up in the trainer's prepared training set,
    whose order is the exported rows' (or, packed, the blocks'). Evaluation batches go through the
    same collator; their examples are not in the training set and are not noted. The dataloader
    collates one batch ahead, so only as many batches count as the trainer stepped through.
    """

    def __init__(self, trainer: Any) -> None:
        self._dataset = trainer.train_dataset
        self._index: dict[int, int] | None = None
        self._batches: list[list[int]] = []
        self._trained = 0  # micro-batches the trainer finished
        inner = trainer.data_collator

        def collate(features: list[dict[str, Any]]) -> Any:
            self._note(features)
            return inner(features)

        trainer.data_collator = collate
        trainer.add_callback(self)

    @property
    def ids(self) -> list[int]:
        """The examples of the batches trained on, in order."""
        return [i for batch in self._batches[: self._trained] for i in batch]

    def on_substep_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any) -> None:
        self._trained += 1

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any) -> None:
        self._trained += 1

    def _key(self, example: dict[str, Any], columns: list[str]) -> int:
        return hash(tuple(tuple(example[c]) for c in columns))

    def _note(self, features: list[dict[str, Any]]) -> None:
        columns = [c for c in _IDENTITY_COLUMNS if c in features[0]]
        if self._index is None:
            index: dict[int, int] = {}
            for i, example in enumerate(self._dataset.select_columns(columns)):
                index.setdefault(self._key(example, columns), i)
            self._index = index
        found = [self._index.get(self._key(feature, columns)) for feature in features]
        if all(i is not None for i in found):  # a training batch (an evaluation batch is not in the index)
            self._batches.append([i for i in found if i is not None])


def _load_rows(data: Path, method: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    manifest = data / "manifest.json"
    try:
        kind = json.loads(manifest.read_text(encoding="utf-8"))["kind"]
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise WorkbenchError(
            f"{data} is not an exported training dataset ({manifest}: {e}).",
            hint="Write one with `workbench dataset export NAME DIR`.",
        ) from e
    if kind != DATASET_KIND[method]:
        raise WorkbenchError(f"{method} trains on a {DATASET_KIND[method]} dataset; {data} holds a {kind} one.")
    return read_rows(data / "train.jsonl"), read_rows(data / "validation.jsonl")


def train_rank(data: Path, run_config: RunConfig, out: Path) -> None:
    """Train this process's part of the run described by `run_config` on the rows under `data`."""
    folder = RunFolder(out)
    config: TrainConfig = load_train_config(run_config.method, overrides=run_config.settings | {"output_dir": str(out)})
    train_rows, validation_rows = _load_rows(data, config.method)
    backend = choose_backend(config.backend)
    loaded = load_for_training(
        config, config.base_model, backend=backend, trust_remote_code=run_config.trust_remote_code
    )
    check_rows(config, loaded.tokenizer, train_rows)

    from workbench.train.methods import make_trainer

    trainer = make_trainer(config, loaded, train_rows, validation_rows, str(out))
    trainer.add_callback(FileMetrics(folder.events))
    trainer.add_callback(FileSaves(folder.events))
    shards = ShardRecorder(trainer)
    output = trainer.train(resume_from_checkpoint=config.resume_from)
    state = trainer.state
    folder.ranks.mkdir(parents=True, exist_ok=True)
    unit = "block" if isinstance(config, MidtrainConfig) else "row"
    trace = ShardTrace(rank=trainer.args.process_index, world_size=trainer.args.world_size, unit=unit, ids=shards.ids)
    folder.rank_file(trace.rank).write_text(trace.model_dump_json() + "\n", encoding="utf-8")
    final = out / "final"
    trainer.save_model(str(final))  # on every rank: FSDP and ZeRO-3 gather the shards; only the main one writes
    if not trainer.is_world_process_zero():
        return
    loaded.tokenizer.save_pretrained(str(final))
    manifest = run_config.manifest | ({"run_id": run_config.run_id} if run_config.run_id else {})
    (final / "workbench_manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    losses = [log["loss"] for log in state.log_history if "loss" in log]
    append_event(folder.events, FinalEvent(
        step=state.global_step, path="final", kind="adapter" if config.lora else "full",
        final_loss=losses[-1] if losses else None, tokens_seen=int(state.num_input_tokens_seen or 0),
        train_runtime_s=output.metrics.get("train_runtime"),
    ))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and train; a `WorkbenchError` is printed (with its hint) and exits 1."""
    parser = argparse.ArgumentParser(prog="python -m workbench.train.rank_main", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="An exported training dataset's folder.")
    parser.add_argument("--config", type=Path, required=True, help="The run_config.json the parent wrote.")
    parser.add_argument("--out", type=Path, required=True, help="The run folder: events, saves, final checkpoint.")
    args = parser.parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        train_rank(args.data, read_run_config(args.config), args.out)
    except WorkbenchError as e:
        print(f"error: {e.message}" + (f"\nhint: {e.hint}" if e.hint else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
