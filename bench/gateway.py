"""Gateway throughput: N structured calls to a fake model server at fixed latency.

    .venv/bin/python -m bench.gateway                       # 2,000 calls to fake Gemini, 200 ms, concurrency 64
    .venv/bin/python -m bench.gateway --backend openai      # the same through the OpenAI client
    .venv/bin/python -m bench.gateway --backend sleep       # control: no client, no HTTP, only the gateway
    .venv/bin/python -m bench.gateway --calls 500 --latency 0.1 --concurrency 32

Prints wall time and its ratio to the ideal N * latency / concurrency (1.0 would mean the
gateway, the real client library and the store add nothing). Then re-runs the same calls to
time the all-cached path. The fake server (tests/fakes) runs in its own process, as a real API
would: in ours its threads would compete with the client for the interpreter lock.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import multiprocessing as mp
import os
import platform
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from pydantic import BaseModel

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.openai_server import FakeOpenAIServer
from workbench.llm import gateway as gateway_module
from workbench.llm.gateway import Gateway
from workbench.llm.types import BackendResponse, LLMRequest
from workbench.project import init_project, load_project

BACKEND_MODULES = {"gemini": "gemini", "openai": "openai_compat"}
SERVERS = {"gemini": FakeGeminiServer, "openai": FakeOpenAIServer}


class SleepBackend:
    """The control: answers after `latency` seconds with no client library and no HTTP, so the
    ratio it gives is the gateway's own overhead (cache, limits, retries, ledger, store)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def generate(self, request: LLMRequest, json_schema: object) -> BackendResponse:
        await asyncio.sleep(self.latency)
        return BackendResponse('{"score": 1, "reason": "fine"}', "stop", tokens_in=10, tokens_out=8)

    async def aclose(self) -> None:
        pass


class Rating(BaseModel):
    score: int
    reason: str


async def run_calls(root: Path, calls: int) -> tuple[float, int]:
    """Send `calls` distinct structured requests through a fresh gateway; (seconds, ok count)."""
    project = load_project(root)
    requests = [LLMRequest.from_prompt(f"Rate example {i}", schema=Rating) for i in range(calls)]
    started = time.perf_counter()
    async with Gateway(project, stage="bench") as gateway:
        results = await gateway.map(requests, role="rater")
    return time.perf_counter() - started, sum(r.ok for r in results)


def serve(backend: str, latency: float, conn: Connection) -> None:
    """Child process: run the fake server; answer "count" with its request total until "stop"."""
    with SERVERS[backend]() as server:
        server.latency_s = latency
        conn.send(server.base_url)
        while conn.recv() == "count":
            conn.send(server.requests_total)


def configure(backend: str, base_url: str, concurrency: int) -> None:
    """Point the rater role at the fake server through the environment, as a user would."""
    if backend == "gemini":
        os.environ.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=base_url,
                          WORKBENCH_ROLES__RATER="gemini:bench-model")  # fmt: skip
    else:
        os.environ.update(OPENAI_API_KEY="bench-key", WORKBENCH_ROLES__RATER=f"openai:bench-model@{base_url}")
    os.environ[f"WORKBENCH_CONCURRENCY__{backend.upper()}"] = str(concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=[*sorted(SERVERS), "sleep"], default="gemini")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="Server latency per request, seconds.")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    if args.backend == "sleep":
        gateway_module.make_backend = lambda spec, config: SleepBackend(args.latency)
        os.environ.update(WORKBENCH_ROLES__RATER="gemini:control", WORKBENCH_CONCURRENCY__GEMINI=str(args.concurrency))
        requests_total = None
    else:
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=serve, args=(args.backend, args.latency, child), daemon=True)
        server.start()
        configure(args.backend, parent.recv(), args.concurrency)

        def requests_total() -> int:
            parent.send("count")
            return int(parent.recv())

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = init_project(Path(tmp) / "bench").root
        if args.backend != "sleep":
            # The client library's one-time import is timed apart: a long run pays it once.
            started = time.perf_counter()
            importlib.import_module(f"workbench.llm.backends.{BACKEND_MODULES[args.backend]}")
            print(f"import of the {args.backend} client: {time.perf_counter() - started:.2f} s (once per process)")
        elapsed, ok = asyncio.run(run_calls(root, args.calls))
        ideal = args.calls * args.latency / args.concurrency
        print(f"backend: {args.backend}, calls: {args.calls}, latency: {args.latency * 1000:.0f} ms, "
              f"concurrency: {args.concurrency}")  # fmt: skip
        sent = requests_total() if requests_total else None
        print(f"ok: {ok}/{args.calls}" + (f", HTTP requests: {sent}" if sent is not None else ""))
        print(f"wall: {elapsed:.2f} s, ideal: {ideal:.2f} s, ratio: {elapsed / ideal:.3f}")
        cached_elapsed, _ = asyncio.run(run_calls(root, args.calls))
        print(f"re-run (all cached): {cached_elapsed:.2f} s")
        if requests_total and sent is not None:
            print(f"new HTTP requests on the re-run: {requests_total() - sent}")
            parent.send("stop")
            server.join(10)


if __name__ == "__main__":
    main()
