"""The pattern audit's rating cost against the naive design, both measured on the fake Gemini server.

    .venv/bin/python -m bench.audit                         # 1,000 rows x 10 patterns
    .venv/bin/python -m bench.audit --rows 200 --patterns 4
    .venv/bin/python -m bench.audit --lexical 100000        # the lexical scanner: rows/s, no server

Each design runs in a fresh project on the same planted rows (tests/audit_setup.py), with every
row in the sample and the scripted audit model (tests/fakes/audit_model.py) answering at zero
latency: scan and cluster find two patterns, the rest are added by hand ("Bottom line up front",
which the fake recognises, then patterns it does not), and every row is rated against all of
them in one rating run. Ours judges 10 rows x 10 patterns per call; the naive design judges one
row against one pattern per call. Calls and tokens come from the store's ledger (`llm_calls`),
per stage and per audited row; embedding requests are counted apart. Wall time is informational.
The fake server runs in its own process, as a real API would.

`--lexical N` instead times the lexical scanner (no model, no server) on N planted rows against
a reference corpus of N rows planted with another seed: discovery (counting in DuckDB) and then
rating every row against every pattern found (SQL), as rows per second of each.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from tests.audit_setup import planted_rows
from tests.fakes.audit_model import AuditFakeModel
from tests.fakes.gemini_server import FakeGeminiServer
from workbench.audit.audits import open_audit, start_audit
from workbench.audit.datasets import dataset_rows
from workbench.audit.imports import import_file
from workbench.audit.lexical import discover_lexical
from workbench.audit.patterns import add_pattern, list_patterns
from workbench.audit.rate import rate_rows
from workbench.audit.run import run_audit
from workbench.project import Project, init_project, load_project

# (name, description, broad, strict); only the first has a keyword the fake rater recognises.
MANUAL = [
    ("Bottom line up front", "States the verdict before anything else.",
     "A conclusion appears in the first sentence.", "The answer starts with 'Bottom line:'."),
    ("Numbered step list", "Lays its advice out as a numbered list of steps.",
     "Any enumerated sequence of steps.", "Three or more lines start with '1.', '2.', '3.'."),
    ("Hedged time estimate", "Promises things get easier within a rough time frame.",
     "Mentions how long until things improve.", "Names a number of weeks or months until it improves."),
    ("Budget framing", "Turns the problem into a question of money.",
     "Mentions cost or spending.", "Recommends comparing costs against a monthly budget."),
    ("Journaling advice", "Suggests keeping a log or diary of progress.",
     "Mentions writing things down.", "Recommends keeping a daily log."),
    ("Appeal to experience", "Points to people who have done it before.",
     "Mentions other people's experience.", "Recommends asking someone who has done it before."),
    ("Single-page plan", "Insists the plan stay short.",
     "Mentions keeping a plan simple.", "Says the plan should fit on one page."),
    ("Weekend deadline", "Sets a task due by the weekend.",
     "Mentions a near-term deadline.", "Names a task to finish by the weekend."),
]  # fmt: skip


@dataclass
class Measured:
    """One design's ledger, per stage: (calls, tokens in, tokens out); and its wall times."""

    name: str
    stages: dict[str, tuple[int, int, int]]
    embeddings: int
    strict: int
    rating_wall: float
    wall: float

    def total(self) -> tuple[int, int, int]:
        return tuple(sum(v[i] for v in self.stages.values()) for i in range(3))  # type: ignore[return-value]


def serve(conn: Connection) -> None:
    """Child process: the fake server with the scripted audit model, until told to stop."""
    with FakeGeminiServer() as server:
        server.latency_s = 0.0
        server.rule = AuditFakeModel()
        conn.send(server.base_url)
        conn.recv()


def configure(base_url: str, rows: int) -> None:
    """Every role on the fake server (as tests/sft_setup.sft_env); every row in the sample."""
    os.environ.update(GEMINI_API_KEY="bench-key", GOOGLE_GEMINI_BASE_URL=base_url)
    for role in ("generator", "critic", "rater", "baseline"):
        os.environ[f"WORKBENCH_ROLES__{role.upper()}"] = "gemini:fake-model"
    os.environ.update(
        WORKBENCH_ROLES__EMBEDDER="gemini:fake-embedding",
        WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN="1000",
        WORKBENCH_AUDIT__ROWS_PER_SCAN="20",
        WORKBENCH_AUDIT__SCANS="8",
        WORKBENCH_AUDIT__SAMPLE_SIZE=str(rows),
    )
    os.environ.update({"WORKBENCH_PRICES__FAKE-MODEL__INPUT_PER_MTOK": "1.0",
                       "WORKBENCH_PRICES__FAKE-MODEL__OUTPUT_PER_MTOK": "2.0"})  # fmt: skip


def audit(project: Project, steps: tuple[str, ...]) -> str:
    result = asyncio.run(run_audit(project, "planted", steps=steps))
    if result.stopped_budget:
        raise SystemExit(f"The budget cap stopped the {'+'.join(steps)} run.")
    return result.audit_id


def run_design(root: Path, name: str, per_call: int, rows: int, patterns: int) -> Measured:
    """Scan, cluster, top up to `patterns` by hand, rate every row: all in a fresh project."""
    os.environ.update(WORKBENCH_AUDIT__ROWS_PER_CALL=str(per_call), WORKBENCH_AUDIT__PATTERNS_PER_CALL=str(per_call))
    data = root / f"{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(rows)))
    project = init_project(root / name)
    import_file(project, data, name="planted")
    project = load_project(project.root)
    started = time.perf_counter()
    audit_id = audit(project, ("scan", "cluster"))
    found = len(list_patterns(project, audit_id))
    for i in range(patterns - found):
        extra = (f"Extra pattern {i}", f"Placeholder number {i}.", f"Placeholder {i}.", f"Placeholder {i}, exactly.")
        title, description, broad, strict = MANUAL[i] if i < len(MANUAL) else extra
        add_pattern(project, audit_id, title, description, broad=broad, strict=strict)
    rating = time.perf_counter()
    audit(project, ("rate",))
    ended = time.perf_counter()
    with project.store.connect() as con:
        stages = con.execute(
            "SELECT stage, count(*), sum(tokens_in), sum(tokens_out) FROM llm_calls"
            " WHERE role IS DISTINCT FROM 'embedder' GROUP BY stage ORDER BY min(created_at)"
        ).fetchall()
        embeddings = con.execute("SELECT count(*) FROM llm_calls WHERE role = 'embedder'").fetchone()[0]  # type: ignore[index]
        rated, strict = con.execute(
            "SELECT count(DISTINCT text_hash), count(*) FILTER (level = 'strict') FROM audit_ratings"
        ).fetchone()  # type: ignore[misc]
    if rated != rows or len(list_patterns(project, audit_id)) != patterns:
        print(f"warning: {name} rated {rated} rows against {len(list_patterns(project, audit_id))} patterns")
    return Measured(name, {s: (n, tin or 0, tout or 0) for s, n, tin, tout in stages}, embeddings, strict,
                    ended - rating, ended - started)  # fmt: skip


def report(designs: list[Measured], rows: int) -> None:
    for d in designs:
        print(
            f"\n{d.name}: wall {d.wall:.1f} s (rating {d.rating_wall:.1f} s), embedding requests {d.embeddings}, "
            f"strict ratings {d.strict}"
        )
        for stage, (n, tin, tout) in d.stages.items():
            print(f"  {stage:<14} calls {n:>6}   tokens in {tin:>9}   out {tout:>8}"
                  f"   per row: calls {n / rows:.3f}, in {tin / rows:.0f}, out {tout / rows:.0f}")  # fmt: skip
    print(f"\n{'design':<8} {'rating calls':>12} {'total calls':>11} {'calls/row':>9} "
          f"{'tokens in/row':>13} {'tokens out/row':>14} {'wall s':>7}")  # fmt: skip
    for d in designs:
        calls, tin, tout = d.total()
        rate = d.stages.get("audit.rate", (0, 0, 0))[0]
        print(f"{d.name:<8} {rate:>12} {calls:>11} {calls / rows:>9.3f} {tin / rows:>13.0f} {tout / rows:>14.0f}"
              f" {d.wall:>7.1f}")  # fmt: skip
    ours, naive = designs
    (oc, oi, oo), (nc, ni, no) = ours.total(), naive.total()
    orate, nrate = ours.stages["audit.rate"], naive.stages["audit.rate"]
    print(f"\nnaive / ours: rating calls {nrate[0] / orate[0]:.1f}x, total calls {nc / oc:.1f}x, "
          f"tokens in {ni / oi:.1f}x, tokens out {no / oo:.1f}x, rating tokens in+out "
          f"{(nrate[1] + nrate[2]) / (orate[1] + orate[2]):.1f}x (goal: calls >= 5x)")  # fmt: skip


def lexical(rows: int) -> None:
    """Time lexical discovery and rating of every row on `rows` planted rows, with and without a reference."""
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        project = init_project(Path(tmp) / "lexical")
        for name, seed in (("planted", 0), ("reference", 1)):
            data = Path(tmp) / f"{name}.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(rows, seed=seed)))
            import_file(project, data, name=name)
        ctx = open_audit(project, start_audit(project, "planted"), run_id="bench")
        stored = dataset_rows(project, ctx.dataset.id)
        for reference in (None, "reference"):
            started = time.perf_counter()
            discover_lexical(ctx, reference=reference)
            found = time.perf_counter()
            patterns = [p for p in list_patterns(project, ctx.audit.id) if p.rule is not None]
            report = asyncio.run(rate_rows(ctx, patterns, stored))
            rated = time.perf_counter()
            print(f"{rows} rows, reference: {reference or 'none'}, {len(patterns)} patterns: "
                  f"discovery {found - started:.1f} s ({rows / (found - started):,.0f} rows/s), "
                  f"rating {rated - found:.1f} s ({rows / (rated - found):,.0f} rows/s, "
                  f"{report.written.get('lexical', 0):,} ratings), calls {report.fresh_calls}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000, help="Rows imported and audited (all of them rated).")
    parser.add_argument("--patterns", type=int, default=10, help="Patterns rated (found ones, then added by hand).")
    parser.add_argument("--lexical", type=int, metavar="N", help="Time the lexical scanner on N rows instead.")
    args = parser.parse_args()
    if args.lexical:
        lexical(args.lexical)
        return

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=serve, args=(child,), daemon=True)
    server.start()
    configure(parent.recv(), args.rows)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; date: {now}")
    with tempfile.TemporaryDirectory() as tmp:
        designs = [
            run_design(Path(tmp), name, per_call, args.rows, args.patterns)
            for name, per_call in (("ours", 10), ("naive", 1))
        ]
        concurrency = load_project(Path(tmp) / "ours").config.concurrency.gemini
    print(f"rows: {args.rows}, patterns: {args.patterns}, latency: 0 ms, concurrency: {concurrency}, "
          "ours: 10 rows x 10 patterns per call, naive: 1 x 1")  # fmt: skip
    report(designs, args.rows)
    parent.send("stop")
    server.join(10)


if __name__ == "__main__":
    main()
