"""Training tokens/s with 1 and with 2 CPU processes under `accelerate launch`, on the same data.

    .venv/bin/python -m bench.train_processes                       # 256 chats of 128 tokens, batch 4
    .venv/bin/python -m bench.train_processes --rows 128 --seq-len 256 --processes 1 2 4

Each run is what `workbench train sft … --launcher accelerate --num-processes N` starts: the command
of `workbench.train.distributed.accelerate_command` (DDP; on CPU the gloo backend) running the
rank entry (`workbench.train.rank_main`) on a run folder of its own, which holds the rows in
`workbench dataset export`'s format and a `run_config.json`. The model is the tests' 2-layer Llama
(tests/tiny_model.py) with a LoRA adapter; the rows are synthetic chats of equal length
(bench/train_throughput.py's `chat_rows`). Every run makes one pass over the same rows with the
same batch size per process, so N processes take 1/N of the steps on N-times larger global
batches. Tokens/s is the trainer's count of input tokens seen (all processes) over its training
time, from the main rank's final event; start-up (imports, loading, the process group) is not in
it. Everything is written to a temporary folder, removed at the end; only the table is printed.

accelerate gives each CPU process one thread, so on 2 cores two processes use both cores where one
used one; that gain says nothing about GPUs. The point is correctness: the same command runs on N
GPUs (docs/multi-gpu.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.train_throughput import chat_rows
from workbench.train.distributed import AccelerateOptions, accelerate_command
from workbench.train.rank_io import FinalEvent, RunConfig, RunFolder, read_events, write_run_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # inherited by the ranks: nothing is downloaded


def write_inputs(folder: RunFolder, rows: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """The files `prepare_run` writes: the rows as an exported dataset, and the run config."""
    folder.data.mkdir(parents=True, exist_ok=True)
    (folder.data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder.data / "validation.jsonl").write_text("", encoding="utf-8")
    (folder.data / "manifest.json").write_text(json.dumps({"name": "bench", "kind": "sft", "train_rows": len(rows)}))
    write_run_config(folder.config, RunConfig(method="sft", settings=settings))


def run(folder: RunFolder, processes: int) -> FinalEvent:
    """Launch the rank entry with `processes` processes; the main rank's final event."""
    command = accelerate_command(folder, AccelerateOptions(num_processes=processes))
    with folder.log.open("wb") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    final = [e for e in read_events(folder.events)[0] if isinstance(e, FinalEvent)]
    if done.returncode != 0 or not final:
        raise SystemExit(f"{processes} process(es) failed ({done.returncode}):\n{folder.log.read_text()[-3000:]}")
    return final[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=256, help="Training chats (one pass over them).")
    parser.add_argument("--seq-len", type=int, default=128, help="Tokens per chat.")
    parser.add_argument("--batch-size", type=int, default=4, help="Rows per process per step.")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="Process counts to compare.")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from tests.tiny_model import build_tiny_chat_model

    with tempfile.TemporaryDirectory(prefix="train-processes-") as tmp:
        model = build_tiny_chat_model(Path(tmp) / "tiny")
        rows, _ = chat_rows(AutoTokenizer.from_pretrained(model), args.rows, args.seq_len)
        settings = {"dataset": "bench", "base_model": str(model), "backend": "trl", "batch_size": args.batch_size,
                    "max_seq_length": args.seq_len, "epochs": 1, "lora_r": 8, "lora_alpha": 16,
                    "warmup_ratio": 0, "logging_steps": 1000}  # fmt: skip
        print(f"{platform.machine()}, {os.cpu_count()} CPUs, one thread per process (accelerate's default); "
              f"{args.rows} chats x {args.seq_len} tokens, batch {args.batch_size} per process, one pass, "
              "LoRA r=8 on the tiny Llama")  # fmt: skip
        print(f"{'processes':>9} {'steps':>6} {'tokens':>8} {'train s':>8} {'tokens/s':>9}")
        for processes in args.processes:
            folder = RunFolder(Path(tmp) / f"p{processes}")
            write_inputs(folder, rows, settings)
            final = run(folder, processes)
            seconds = final.train_runtime_s or float("nan")
            print(f"{processes:>9} {final.step:>6} {final.tokens_seen:>8} {seconds:>8.2f} "
                  f"{final.tokens_seen / seconds:>9.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
