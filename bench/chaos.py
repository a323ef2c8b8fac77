"""Chaos: SIGKILL the SFT, documents and audit runs of one project, again and again, and count the damage.

    .venv/bin/python -m bench.chaos --kills 20 --seed 0
    .venv/bin/python -m bench.chaos --kills 4 --error-rate 0.2 --hang-rate 0.05 --hang-s 2 --latency 0.1

First a clean project runs each pipeline once, uninterrupted, on a well-behaved fake server (the
reference for lost rows, and the spend that sets the budget cap). Then a fresh project runs the
same pipelines through the CLI in turn against a faulty one (bench/chaos_server.py: random
latency, 429s and 500s, hangs shorter than the client's timeout), and each run is SIGKILLed when
(or a moment after) a random number of its model requests have arrived, `--kills` times in all.
Meanwhile a reviewer process accepts and rejects rows of the review queue at random and a reader
process runs `workbench status` over and over (bench/chaos_actors.py). After nine tenths of
the kills every pipeline runs to the end once, so that examples and documents reach the review
queue while the reviewer works, and the other kills follow. At the end the reviewer stops, an
SFT run fills any scenario slot no killed run reached, the scenarios waiting at the SFT gate are
accepted (as in the clean run), and each pipeline runs once more, uninterrupted.

Then it prints (bench/chaos_measure.py) duplicates, lost and non-terminal rows, overturned and
lost review decisions, ledger rows against the requests the server received (requests in flight
at a kill are `interrupted` rows, shown apart), answered requests sent again, runs left
`running`, spend per piece of work against the cap, failed runs, reader and reviewer errors, the
wall time, and `all zero: yes/no`. The budget cap is `--cap-factor` x the clean run's largest
spend on one piece of work. At the defaults it takes about 10 minutes on 2 busy cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.chaos_actors import Actor
from bench.chaos_measure import Attempt, Measured, measure, spend_per_work
from bench.chaos_server import CHAOS, CLEAN, ChaosServer, Faults
from tests.audit_fixtures import ROWS, audit_env
from tests.audit_setup import planted_rows
from tests.kill_resume import add_test_traits
from tests.sft_setup import docs_env
from workbench.audit.imports import import_file
from workbench.project import Project, init_project
from workbench.review import review_many

REPO = Path(__file__).resolve().parents[1]
PIPELINES = {
    "sft": ("sft", "run", "test", "--yes"),
    "docs": ("docs", "run", "test", "--yes"),
    "audit": ("audit", "run", "planted", "--yes"),
}
# Small batches commit often, so kills land between and inside them; short backoffs keep it quick.
SETTINGS = {
    "WORKBENCH_SFT__BATCH_SIZE": "4",
    "WORKBENCH_DOCS__BATCH_SIZE": "2",
    "WORKBENCH_AUDIT__BATCH_SIZE": "4",
    "WORKBENCH_GATEWAY__BACKOFF_INITIAL_S": "0.05",
    "WORKBENCH_GATEWAY__BACKOFF_MAX_S": "1",
}
# The parent's credentials and project must never reach the runs: they talk to the fake only.
HIDDEN = ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "OPENAI_API_KEY", "WORKBENCH_PROJECT")
RUN_TIMEOUT_S = 600
_ERROR = re.compile(r"\w(Error|Exception)\b")  # the line of a traceback (or message) that names the error


class Runs:
    """Starts pipeline runs on a project as CLI subprocesses, every role on the chaos server."""

    def __init__(self, server: ChaosServer, logs: Path) -> None:
        self.server = server
        self.logs = logs
        self.cap: float | None = None
        self.attempts: list[Attempt] = []
        self.failures: list[str] = []

    def env(self, key: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in HIDDEN}
        cap = "1000" if self.cap is None else f"{self.cap:.9f}"
        return base | docs_env(self.server) | audit_env(self.server) | SETTINGS | {
            "GEMINI_API_KEY": key, "WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN": cap}  # fmt: skip

    def start(self, project: Project, phase: str, pipeline: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"{len(self.attempts) + 1:03d}-{phase}-{pipeline}.log"
        command = [sys.executable, "-m", "workbench.cli", *PIPELINES[pipeline], "--project", str(project.root)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=REPO, env=self.env(f"{phase}-{pipeline}"), stdout=out,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        return process, log

    def complete(self, project: Project, phase: str, pipeline: str) -> None:
        """Run to the end; a failure is recorded (with the log's last line), not raised."""
        began = time.monotonic()
        process, log = self.start(project, phase, pipeline)
        try:
            process.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._check(process, log, pipeline)
        self.attempts.append(Attempt(f"{phase}-{pipeline}", began, time.monotonic(), killed=False))

    def kill_after(self, project: Project, pipeline: str, calls: int, delay: float) -> Attempt:
        """Start a chaos run; SIGKILL it `delay` s after `calls` more model requests arrived (unless it ends)."""
        key = f"{CHAOS}-{pipeline}"
        target = self.server.received(key) + calls
        began = time.monotonic()
        process, log = self.start(project, CHAOS, pipeline)
        while process.poll() is None and self.server.received(key) < target:
            if time.monotonic() - began > RUN_TIMEOUT_S:
                break
            time.sleep(0.005)
        time.sleep(delay)  # 0: a request is in flight; later: answers arriving, a batch committing
        killed = process.poll() is None
        if killed:
            process.kill()  # SIGKILL: no handler, no cleanup, as a crash or an OOM kill
        process.wait()
        if not killed:
            self._check(process, log, pipeline)
        attempt = Attempt(key, began, time.monotonic(), killed, sent=self.server.received(key) - target + calls)
        self.attempts.append(attempt)
        return attempt

    def _check(self, process: subprocess.Popen[bytes], log: Path, pipeline: str) -> None:
        if process.returncode != 0:
            lines = log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
            error = next((line for line in reversed(lines) if _ERROR.search(line)), lines[-1])
            self.failures.append(f"{pipeline} exit {process.returncode}: {error[:160]} ({log.name})")


def new_project(path: Path) -> Project:
    """A fresh project holding the test traits document and the planted audit dataset."""
    project = init_project(path)
    add_test_traits(project)
    data = path / "planted.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(ROWS)))
    import_file(project, data, name="planted")
    return project


def accept_gate(project: Project, reviewer: str) -> None:
    """Accept every scenario waiting at the SFT human gate, so the next SFT run goes to the end."""
    with project.store.connect() as con:
        ids = [r[0] for r in con.execute("SELECT id FROM sft_scenarios WHERE status = 'needs_review'").fetchall()]
    review_many(project.store, "sft_scenarios", ids, "accept", reviewer=reviewer)


def clean_phase(root: Path, runs: Runs) -> Project:
    """The reference: every pipeline once, uninterrupted, no faults (SFT twice, around its gate)."""
    project = new_project(root)
    runs.complete(project, CLEAN, "sft")
    accept_gate(project, "chaos-gate")
    for pipeline in PIPELINES:
        runs.complete(project, CLEAN, pipeline)
    if runs.failures:
        raise SystemExit("The clean run failed, so there is nothing to compare with:\n" + "\n".join(runs.failures))
    return project


def spans(server: ChaosServer, kills: int) -> dict[str, int]:
    """Per pipeline, the most requests a run may send before its kill: its clean total over its share
    of the kills (the mean is half of it, so all the kills fit before the work runs out)."""
    share = kills / len(PIPELINES) + 1
    return {p: max(1, round(server.received(f"{CLEAN}-{p}") / share)) for p in PIPELINES}


def kill_loop(project: Project, runs: Runs, rng: random.Random, most: dict[str, int], kills: int) -> None:
    """Start the pipelines in turn, killing each run after a random share of its work, `kills` times
    (fewer if every pipeline runs out of work: its run ends by itself without a request)."""
    idle: set[str] = set()
    turn = 0
    while kills > 0 and len(idle) < len(PIPELINES):
        busy = [p for p in PIPELINES if p not in idle]
        pipeline = busy[turn % len(busy)]
        turn += 1
        attempt = runs.kill_after(project, pipeline, rng.randint(1, most[pipeline]), rng.choice([0, 0.1, 0.3]))
        kills -= attempt.killed
        if not attempt.killed and attempt.sent == 0:
            idle.add(pipeline)


def chaos_phase(project: Project, runs: Runs, args: argparse.Namespace, tmp: Path) -> dict[str, dict[str, Any]]:
    """Kill runs `args.kills` times under a reviewer and a reader, then finish every pipeline cleanly.

    Nine tenths of the kills come first; then every pipeline runs to the end once, so examples
    and documents reach the review queue while the reviewer is at work; then the other kills (on
    whatever work the reviewer's decisions made) and the final runs.
    """
    rng = random.Random(args.seed)
    most = spans(runs.server, args.kills)
    reviewer = Actor.start("reviewer", project.root, seed=args.seed, out=tmp / "reviewer.json")
    reader = Actor.start("reader", project.root, seed=args.seed, out=tmp / "reader.json")
    first = args.kills - args.kills // 10
    kill_loop(project, runs, rng, most, first)
    for pipeline in PIPELINES:
        runs.complete(project, CHAOS, pipeline)
    kill_loop(project, runs, rng, most, args.kills - sum(a.killed for a in runs.attempts))
    # The reviewer stops first: a late decision (accepting a scenario after the last SFT run went
    # past it) would leave a gap that the product is right to leave.
    actors = {"reviewer": reviewer.stop()}
    runs.complete(project, CHAOS, "sft")  # scenario slots no killed run reached
    accept_gate(project, "chaos-gate")
    for pipeline in PIPELINES:
        runs.complete(project, CHAOS, pipeline)
    actors["reader"] = reader.stop()
    return actors


def lost_decisions(project: Project, batches: list[str]) -> int:
    with project.store.connect() as con:
        stored = {r[0] for r in con.execute("SELECT DISTINCT batch_id FROM review_events").fetchall()}
    return len(set(batches) - stored)


def report(m: Measured, args: argparse.Namespace, extra: list[tuple[str, float | None, str]], wall: str) -> None:
    for name, value, note in extra:
        m.add(name, value, note)
    print(f"chaos: {args.kills} kills, seed {args.seed}; faults: {args.error_rate:.0%} 429/500, "
          f"{args.hang_rate:.0%} hangs of {args.hang_s:g} s, latency 0-{2 * args.latency * 1000:.0f} ms")  # fmt: skip
    print(f"{'figure':<44} {'value':>10}  note")
    for f in m.figures:
        shown = "" if f.value is None else f"{f.value:g}"
        print(f"{f.name:<44} {shown:>10}  {f.note}")
    print(wall)
    print(f"all zero: {'yes' if m.all_zero else 'no'}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs in all, across the three pipelines.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.1, help="Share of requests answered 429 or 500.")
    parser.add_argument("--hang-rate", type=float, default=0.02, help="Share of requests that hang.")
    parser.add_argument("--hang-s", type=float, default=1.5, help="How long a hang lasts (below the timeout).")
    parser.add_argument("--latency", type=float, default=0.05, help="Mean latency per request, seconds.")
    parser.add_argument("--grace", type=float, default=0.5,
                        help="Answers this close before a kill are not counted as paid twice.")  # fmt: skip
    parser.add_argument("--cap-factor", type=float, default=1.5, help="Budget cap per work, x the clean spend.")
    parser.add_argument("--keep", type=Path, help="Keep the projects and run logs in this folder.")
    return parser.parse_args()


def run(args: argparse.Namespace, tmp: Path) -> None:
    """Both phases in `tmp` on one server, then the table."""
    began = time.monotonic()
    faults = Faults(args.error_rate, args.hang_rate, args.hang_s, args.latency)
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    with ChaosServer(faults, args.seed) as server:
        runs = Runs(server, tmp / "logs")
        clean = clean_phase(tmp / "clean", runs)
        with clean.store.connect() as con:
            runs.cap = args.cap_factor * max(spend_per_work(con).values())
        clean_s = time.monotonic() - began
        project = new_project(tmp / "chaos")
        actors = chaos_phase(project, runs, args, tmp)
        kills = sum(a.killed for a in runs.attempts)
        answers = server.answers()
        log = {"answers": [asdict(a) for a in answers], "attempts": [asdict(a) for a in runs.attempts]}
        (tmp / "server_log.json").write_text(json.dumps(log))  # for digging into a non-zero figure (--keep)
        m = measure(project.store, clean.store, answers, runs.attempts,
                    grace_s=args.grace, cap=runs.cap,
                    lost_decisions=lost_decisions(project, actors["reviewer"]["batches"]))  # fmt: skip
    reader, reviewer = actors["reader"], actors["reviewer"]
    report(m, args, [
        ("runs that failed (exit != 0, not killed)", len(runs.failures), "; ".join(runs.failures[:3])),
        ("reader errors", reader["errors"], f"{reader['done']} status reads; " + "; ".join(reader["messages"][:2])),
        ("reviewer errors", reviewer["errors"], f"{reviewer['done']} decisions, {reviewer['refused']} refused "
         "(row replaced meanwhile); " + "; ".join(reviewer["messages"][:2])),
        ("SIGKILLs", None, f"{kills} (asked {args.kills}) in {len(runs.attempts)} runs"),
    ], f"wall time: {time.monotonic() - began:.0f} s (clean run {clean_s:.0f} s)")  # fmt: skip


def main() -> None:
    args = parse_args()
    if args.keep:
        run(args, args.keep)
        return
    with tempfile.TemporaryDirectory() as scratch:
        run(args, Path(scratch))


if __name__ == "__main__":
    main()
