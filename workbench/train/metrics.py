"""The trainer callback that streams a run's metrics into the store while it trains.

    trainer.add_callback(StoreMetrics(project, run_id))     # loss, lr, grad norm, tokens/s, memory

Metrics are written as the trainer logs them (every `logging_steps`), one short transaction
each, so the app can chart a run while it trains; no connection is held in between. Tokens per
second are measured between two logs from the trainer's count of input tokens seen; peak
memory is the CUDA allocator's peak on a GPU and the process's peak resident set elsewhere.
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
