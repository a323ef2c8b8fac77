"""SFT training throughput: tokens/s, peak memory and MFU for a model config and a backend.

    .venv/bin/python -m bench.train_throughput --arch tiny --steps 10                  # CPU smoke run
    .venv/bin/python -m bench.train_throughput --arch qwen2.5-0.5b --backend trl       # on a CUDA GPU
    .venv/bin/python -m bench.train_throughput --arch qwen2.5-1.5b --backend unsloth --full --seq-len 1024

No download: a spawned child builds the model from a config with random weights and saves it
(`save_pretrained`), outside the peak memory and the import order (Unsloth comes first). `tiny` is
the tests' 2-layer Llama (tests/tiny_model.py); the presets are Qwen2.5-0.5B / 1.5B's published
shapes (vocab 151,936, tied embeddings) with the tiny tokenizer, so token ids stay below 500: fine
for throughput. Training is the library's (`choose_backend`, `load_for_training`, `check_rows`,
`make_trainer`) on an `SFTTrainConfig`: LoRA, or `--full`; bf16 on a GPU. Rows are synthetic
chats cut to `--seq-len` tokens, a quarter of them the user's.

Tokens/s: the trainer's `num_input_tokens_seen` (rows are equal-length: no padding) over the
steps after the `--warmup` first. Peak memory: `workbench.train.tracking.peak_memory_mb` (CUDA
allocator peak since training began, else the process's peak RSS). MFU = 6 x N x tokens/s / peak
FLOP/s, N the weights the forward multiplies by (all but the input embedding; a tied head counts),
attention's own FLOPs left out; LoRA computes no frozen-weight gradients, so 4N is printed too.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import tempfile
import time
from datetime import datetime
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.train.backend import choose_backend, load_for_training
from workbench.train.checks import check_rows
from workbench.train.config import SFTTrainConfig
from workbench.train.methods import make_trainer

# Read once, when huggingface_hub / datasets are imported (none of the above imports them): no hub, no bars.
for flag in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
    os.environ.setdefault(flag, "1")
# Published shapes (config.json of Qwen/Qwen2.5-0.5B and -1.5B); q/k/v carry a bias in Qwen2.
PRESETS: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                     "num_attention_heads": 14, "num_key_value_heads": 2},
    "qwen2.5-1.5b": {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                     "num_attention_heads": 12, "num_key_value_heads": 2},
}  # fmt: skip
QWEN: dict[str, Any] = {"vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1e6,
                        "rms_norm_eps": 1e-6, "tie_word_embeddings": True}  # fmt: skip
WORDS = ["the", "assistant", "answers", "honestly", "even", "when", "truth", "is", "inconvenient", "and", "admits"]


def build(arch: str, root: str) -> tuple[str, int, int]:
    """Child process: build and save the model; returns its folder, its parameters and N (see above)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from tests.tiny_model import build_tiny_chat_model

    model: Any
    path = tiny = build_tiny_chat_model(Path(root) / "tiny")
    if arch == "tiny":
        model = AutoModelForCausalLM.from_pretrained(tiny)
    else:
        tokenizer, path = AutoTokenizer.from_pretrained(tiny), Path(root) / arch
        ids = {f"{t}_token_id": getattr(tokenizer, f"{t}_token_id") for t in ("bos", "eos", "pad")}
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
            model = Qwen2ForCausalLM(Qwen2Config(**PRESETS[arch], **QWEN, **ids))
        model = model.to(torch.bfloat16)
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    total = sum(p.numel() for p in model.parameters())  # a tied head is listed once, as the embedding
    forward = total - model.get_input_embeddings().weight.numel() + model.get_output_embeddings().weight.numel()
    return str(path), total, forward


def chat_rows(tokenizer: Any, n: int, seq_len: int) -> tuple[list[dict[str, Any]], list[int]]:
    """`n` chats of at most `seq_len` tokens (as rendered by the chat template), and their lengths."""

    def length(messages: list[dict[str, str]]) -> int:
        rendered = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(rendered, add_special_tokens=False)["input_ids"])

    def cut(text: str, tokens: int) -> str:
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return text[: offsets[max(tokens, 1) - 1][1]]

    def chat(user: str, assistant: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]

    budget = seq_len - length(chat("", ""))  # too small a seq_len: check_rows says so
    rng, rows, lengths = random.Random(0), [], []
    for _ in range(n):
        user, assistant = (" ".join(rng.choices(WORDS, k=seq_len)) for _ in range(2))  # more tokens than needed
        user_tokens, assistant_tokens = budget // 4, budget - budget // 4
        for _ in range(5):  # a cut's tokens can merge with the markup's: trim until it fits
            messages = chat(cut(user, user_tokens), cut(assistant, assistant_tokens))
            if (size := length(messages)) <= seq_len:
                break
            assistant_tokens -= size - seq_len
        rows.append({"messages": messages})
        lengths.append(size)
    return rows, lengths


def step_clock() -> Any:
    """A trainer callback noting (time, input tokens seen) at the end of every optimiser step."""
    import torch
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    return StepClock()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=["tiny", *PRESETS], default="tiny")
    parser.add_argument("--backend", choices=["auto", "trl", "unsloth"], default="auto")
    parser.add_argument("--seq-len", type=int, default=512, help="Tokens per row.")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="Optimiser steps, warm-up included.")
    parser.add_argument("--warmup", type=int, default=3, help="First steps left out of the figures.")
    parser.add_argument("--rows", type=int, default=None, help="Distinct rows (default: steps x batch size).")
    parser.add_argument("--full", action="store_true", help="Full fine-tuning instead of LoRA.")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="Peak dense FLOP/s (H100 SXM bf16: 989).")
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1.")
    warmup = max(0, min(args.warmup, args.steps - 1))  # at least one step is measured

    backend = choose_backend(args.backend)  # first: Unsloth must be imported before transformers
    import torch

    from workbench.train.metrics import peak_memory_mb

    cuda, installed = torch.cuda.is_available(), {d.metadata["Name"].lower(): d.version for d in distributions()}
    gpu = torch.cuda.get_device_name(0) if cuda else "none"
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, GPU: {gpu}, Python {platform.python_version()}")
    libraries = ", ".join(f"{n} {installed.get(n, '-')}" for n in ("torch", "transformers", "trl", "peft", "unsloth"))
    print(f"libraries: {libraries}")
    print(f"date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    with tempfile.TemporaryDirectory() as tmp:
        with mp.get_context("spawn").Pool(1) as pool:
            path, total, forward = pool.apply(build, (args.arch, tmp))
        config = SFTTrainConfig(
            dataset="synthetic", base_model=path, lora=not args.full, max_steps=args.steps, batch_size=args.batch_size,
            max_seq_length=args.seq_len, gradient_checkpointing=args.gradient_checkpointing,
            backend=args.backend, output_dir=str(Path(tmp) / "out"),
        )  # fmt: skip
        loaded = load_for_training(config, path, backend=backend, trust_remote_code=False)
        rows, lengths = chat_rows(loaded.tokenizer, args.rows or args.steps * args.batch_size, args.seq_len)
        check_rows(config, loaded.tokenizer, rows)
        trainer = make_trainer(config, loaded, rows, [], str(config.output_dir))
        from transformers.trainer_callback import ProgressCallback

        trainer.remove_callback(ProgressCallback)  # the figures below are the output
        trainer.add_callback(clock := step_clock())
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        dtype = next(p.dtype for p in trainer.model.parameters())
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        peak = peak_memory_mb()

    mode = "full fine-tuning" if args.full else f"LoRA r={config.lora_r} on {config.target_modules}"
    print(f"config: {args.arch} ({total / 1e6:.1f} M parameters, N = {forward / 1e6:.1f} M), backend {backend}, "
          f"{mode}, {trainable / 1e6:.2f} M trainable, weights {str(dtype).removeprefix('torch.')}, "
          f"bf16 autocast {trainer.args.bf16}, gradient checkpointing {args.gradient_checkpointing}")  # fmt: skip
    print(f"data: {len(rows)} rows of {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}), "
          f"batch {args.batch_size}, {args.steps} steps ({warmup} warm-up), wall {wall:.1f} s")  # fmt: skip
    (t0, seen0), (t1, seen1) = clock.marks[warmup - 1] if warmup else (started, 0), clock.marks[-1]
    rate = (seen1 - seen0) / (t1 - t0)
    steps = len(clock.marks) - warmup
    print(f"tokens/s: {rate:,.0f} ({seen1 - seen0} tokens over {steps} steps, {(t1 - t0) / steps:.3f} s/step)")
    print(f"peak memory: {peak:,.0f} MiB ({'CUDA allocator peak' if cuda else 'peak resident set of the process'})")
    mfu = 6 * forward * rate / (args.peak_tflops * 1e12)
    lora = "" if args.full else f"; LoRA's 4N: {mfu * 2 / 3:.1%}"
    print(f"MFU: {mfu:.1%} (6N, of {args.peak_tflops:g} TFLOP/s){lora}" if cuda else "MFU: n/a (CPU)")


if __name__ == "__main__":
    try:
        main()
    except WorkbenchError as e:
        raise SystemExit(f"error: {e}") from None
