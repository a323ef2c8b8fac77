"""The trainer callback that streams a run's metrics into the store while it trains.

    trainer.add_callback(StoreMetrics(project, run_id))     # loss, lr, grad norm, tokens/s, memory
    insert_metrics(project, run_id, step, "train", {"loss": 1.2})   # what a distributed run's parent does

Metrics are written as the trainer logs them (every `logging_steps`), one short transaction
each, so the app can chart a run while it trains; no connection is held in between. Tokens per
second are measured between two logs from the trainer's count of input tokens seen (summed over
all processes); peak memory is the CUDA allocator's peak on a GPU and the process's peak resident
set elsewhere. `MetricsCallback` does the measuring and writes on the main process only, so a run
under `accelerate launch` logs each step once; `StoreMetrics` writes to the store, and the rank
entry's `FileMetrics` (train/rank_main.py) to a file the parent process copies into the store.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from workbench.project import Project


def peak_memory_mb() -> float:
    """Peak memory of this process's training: CUDA's allocator peak, else the peak resident set."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


class MetricsCallback(TrainerCallback):
    """Turns each trainer log into (step, split, values) for `write`, on the main process only."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None  # (time, tokens seen) at the previous log

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        """Record one log's values (a subclass says where)."""
        raise NotImplementedError

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
        # Every rank logs the same (already reduced) values: only the main process records them.
        if not logs or not state.is_world_process_zero:
            return
        split = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        values = {k.removeprefix("eval_"): float(v) for k, v in logs.items() if isinstance(v, int | float)}
        if split == "train":
            values |= self._throughput(state)
        self.write(state.global_step, split, values)

    def _throughput(self, state: TrainerState) -> dict[str, float]:
        now, seen = time.perf_counter(), int(getattr(state, "num_input_tokens_seen", 0) or 0)
        values = {"peak_memory_mb": peak_memory_mb()}
        if self._last is not None and seen > self._last[1] and now > self._last[0]:
            values["tokens_per_s"] = (seen - self._last[1]) / (now - self._last[0])
        self._last = (now, seen)
        return values


def insert_metrics(project: Project, run_id: str, step: int, split: str, values: dict[str, float]) -> None:
    """Write one log's values to `train_metrics` in a short transaction of its own (a repeat is ignored)."""
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_metrics (run_id, step, split, name, value)"
            " SELECT ?, ?, ?, unnest(?), unnest(?) ON CONFLICT DO NOTHING",
            [run_id, step, split, list(values), list(values.values())],
        )


class StoreMetrics(MetricsCallback):
    """Writes each trainer log (loss, learning rate, grad norm, eval loss ...) to `train_metrics`."""

    def __init__(self, project: Project, run_id: str) -> None:
        super().__init__()
        self.project = project
        self.run_id = run_id

    def write(self, step: int, split: str, values: dict[str, float]) -> None:
        insert_metrics(self.project, self.run_id, step, split, values)
