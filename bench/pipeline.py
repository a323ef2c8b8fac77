"""The SFT pipeline at scale on the fake Gemini server: cost per accepted example, and wall time.

    .venv/bin/python -m bench.pipeline                              # 10 traits x 50 = 500 scenarios, 200 ms, 16
    .venv/bin/python -m bench.pipeline --traits 4 --scenarios 25 --latency 0.1 --concurrency 32

Runs every step (scenarios, baseline, critique with revisions, conditioned, refine, rejected and
its check, rating, dedup) with the human gate and review set to automatic, against the scripted
fake model of the tests (tests/fakes/sft_model.py), which plants a revision, a drop, a leak and a
near-duplicate per trait pair. Prints model calls and tokens per accepted example, per stage,
and the wall time against its ideal: the steps run one after another, and within a step calls
run `concurrency` at a time, so the ideal is the sum over steps of ceil(calls / concurrency) x
latency. Embeddings come from the fake server's embedding endpoint (no model download).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import platform
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.sft_model import SFTFakeModel
from workbench.generate.pipeline import run_sft
from workbench.project import Project, init_project, load_project
from workbench.store.traits import add_traits_file


def names(traits: int, scenarios: int) -> tuple[list[str], list[str]]:
    """Trait titles and persona values, none a substring of another."""
    return [f"Trait number {i:03d}" for i in range(traits)], [f"persona {i:03d}" for i in range(scenarios)]


def serve(latency: float, traits: int, scenarios: int, conn: Connection) -> None:
    """Child process: the fake server with the scripted SFT model, until told to stop."""
    with FakeGeminiServer() as server:
        server.latency_s = latency
        server.rule = SFTFakeModel(*names(traits, scenarios))
        conn.send(server.base_url)
        conn.recv()


def configure(base_url: str, args: argparse.Namespace) -> None:
    """Every role on the fake server; gate and review automatic; one persona per slot."""
    os.environ.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=base_url)
    for role in ("generator", "critic", "rater", "baseline"):
        os.environ[f"WORKBENCH_ROLES__{role.upper()}"] = "gemini:fake-model"
    os.environ.update(
        WORKBENCH_ROLES__EMBEDDER="gemini:fake-embedding",
        WORKBENCH_CONCURRENCY__GEMINI=str(args.concurrency),
        WORKBENCH_SFT__AXES=json.dumps({"persona": names(args.traits, args.scenarios)[1]}),
        WORKBENCH_SFT__PREFERENCE="true",
        WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true",
        WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES="true",
        WORKBENCH_SFT__NEAR_DUPLICATE_SIMILARITY="0.85",
        WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN="1000",
    )


def traits_project(root: Path, traits: int, scenarios: int) -> Project:
    titles, _ = names(traits, scenarios)
    doc = root / "traits.md"
    doc.write_text("# Bench traits\n\n" + "".join(f"- **{t}.** The assistant shows quality {t}.\n" for t in titles))
    project = init_project(root / "project")
    add_traits_file(project.store, doc, name="bench")
    return load_project(project.root)


def report(project: Project, elapsed: float, args: argparse.Namespace) -> None:
    with project.store.connect() as con:
        stages = con.execute(
            "SELECT stage, count(*), sum(tokens_in), sum(tokens_out) FROM llm_calls"
            " WHERE role IS DISTINCT FROM 'embedder' GROUP BY stage ORDER BY min(created_at)"
        ).fetchall()
        accepted = con.execute("SELECT count(*) FROM sft_examples WHERE status = 'ok'").fetchone()[0]  # type: ignore[index]
        embed_calls = con.execute("SELECT count(*) FROM llm_calls WHERE role = 'embedder'").fetchone()[0]  # type: ignore[index]
    calls = sum(s[1] for s in stages)
    tokens = sum((s[2] or 0) + (s[3] or 0) for s in stages)
    ideal = sum(math.ceil(s[1] / args.concurrency) * args.latency for s in stages)
    print(f"scenarios: {args.traits * args.scenarios} ({args.traits} traits x {args.scenarios}), "
          f"latency: {args.latency * 1000:.0f} ms, concurrency: {args.concurrency}")  # fmt: skip
    for stage, n, tin, tout in stages:
        print(f"  {stage:<20} calls {n:>5}   tokens in {tin or 0:>8}   out {tout or 0:>7}")
    print(f"embedding requests: {embed_calls}")
    print(f"accepted examples: {accepted}")
    print(f"model calls per accepted example: {calls / accepted:.2f}, tokens per accepted example: "
          f"{tokens / accepted:.0f}")  # fmt: skip
    print(f"wall: {elapsed:.2f} s, ideal: {ideal:.2f} s, ratio: {elapsed / ideal:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traits", type=int, default=10)
    parser.add_argument("--scenarios", type=int, default=50, help="Scenarios per trait.")
    parser.add_argument("--latency", type=float, default=0.2, help="Server latency per request, seconds.")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    parent, child = mp.Pipe()
    context = mp.get_context("spawn")
    server = context.Process(target=serve, args=(args.latency, args.traits, args.scenarios, child), daemon=True)
    server.start()
    configure(parent.recv(), args)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        project = traits_project(Path(tmp), args.traits, args.scenarios)
        started = time.perf_counter()
        asyncio.run(run_sft(project, "bench", scenarios=args.scenarios))
        report(project, time.perf_counter() - started, args)
    parent.send("stop")
    server.join(10)


if __name__ == "__main__":
    main()
