"""How long each page of the app spends in its queries, on a store holding 100,000 examples.

    .venv/bin/python -m bench.app_queries                      # 100,000 examples, 30 reruns per page
    .venv/bin/python -m bench.app_queries --examples 20000 --reruns 10
    .venv/bin/python -m bench.app_queries --pages overview,review,costs   # only these pages (name prefixes)
    .venv/bin/python -m bench.app_queries --store /tmp/bench-100k   # fill once, reuse on later runs

Fills a fresh project, or the one --store keeps (bench/app_store.py: examples with scenarios and
generations, reviews, an audit with rated patterns, documents, 600,000 ledger rows, training
metrics, eval transcripts), then replays each page's library calls the way one rerun of the page makes them: inside one
`Store.session()`, as app.py runs every page. Prints p50 and p95 per page over the reruns; the
goal is p95 ≤ 100 ms (issue 21). Streamlit's own rendering is not included. The review pages keep
their reads until something writes to the store, so they are timed twice: reruns with nothing
written between them (a filter widget, the editor opening), and "after a write" (a review note
written before each rerun, untimed: the rerun after a decision, or after a CLI run wrote).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.app_store import fill_store
from workbench.audit.prevalence import audit_report
from workbench.datasets.build import train_dataset_entries
from workbench.evals.report import compare_runs, list_runs
from workbench.project import CONFIG_FILE, Project, init_project, load_project
from workbench.review import review
from workbench.status import project_status, stage_spend
from workbench.store.traits import list_versions, version_chunks
from workbench.train.tracking import list_checkpoints, run_metrics
from workbench.views.costs import spend_by_day, spend_by_model
from workbench.views.datasets import (
    audit_dataset_lineage,
    dataset_composition,
    manifest_summary,
    train_dataset_summaries,
)
from workbench.views.evals import run_cases, sample_view, score_rows, shared_cases
from workbench.views.focus import focus_item
from workbench.views.overview import latest_runs, next_steps, status_rows
from workbench.views.pattern_evidence import example_pages, quoted_rows
from workbench.views.pattern_prevalence import sample_prevalence
from workbench.views.patterns import audit_choices, audit_status
from workbench.views.queue import QueueFilter, Stage, counted_page, queue_options
from workbench.views.review_progress import review_progress
from workbench.views.training import get_train_run, list_train_runs, metric_figures

Page = Callable[[Project], object]
# Pages whose reads are kept until the store is written (workbench.store.unchanged): these are also
# timed with a write before each rerun, the cost of the rerun that follows a decision.
REREAD_AFTER_WRITE = ("Review", "Documents")


def overview(p: Project) -> None:
    summary = project_status(p.store)
    status_rows(summary)
    next_steps(p, summary)
    spend_by_model(p)
    latest_runs(p, limit=10)


def traits(p: Project) -> None:
    version = list_versions(p.store)[-1]
    version_chunks(p.store, version.id)


def review_queue_page(stage: Stage, f: QueueFilter) -> Page:
    def page(p: Project) -> None:
        queue_options(p, stage)
        review_progress(p, stage, "bench")
        _, rows = counted_page(p, f, offset=0, limit=50)  # the count and the page holding the focused row
        focus_item(p, stage, rows[len(rows) // 2].id)

    return page


def patterns(p: Project) -> None:
    """The header and the rates every tab reads, then the One pattern tab (the heavier of the tabs; one runs)."""
    audit = audit_choices(p)[0].audit
    audit_status(p, audit.id)
    pattern = sample_prevalence(p, audit).patterns[0]
    example_pages(p, pattern, "strict", (0, 0))
    quoted_rows(p, pattern)


def datasets(p: Project) -> None:
    audit_dataset_lineage(p)
    dataset_id = train_dataset_summaries(p)[0].id
    manifest_summary(p, dataset_id)
    dataset_composition(p, dataset_id)
    train_dataset_entries(p, dataset_id, "train", 3)


def training(p: Project) -> None:
    run = list_train_runs(p)[0]
    metric_figures(run_metrics(p, run.id))
    get_train_run(p, run.id)
    list_checkpoints(p, run.id)


def evals(p: Project) -> None:
    summaries = list_runs(p)
    score_rows(summaries)
    a, b = [s.run_id for s in summaries if s.suite == "knowledge"][:2]  # two models on one suite
    run_cases(p, a)
    compare_runs(p, a, b)
    case = shared_cases(p, a, b)[0]
    sample_view(p, a, case)
    sample_view(p, b, case)


def costs(p: Project) -> None:
    stage_spend(p.store)
    spend_by_day(p)
    spend_by_model(p)


def pages(p: Project) -> dict[str, Page]:
    """Each page's calls; the review pages with their default filter and with a score, a pattern and a search."""
    pattern = audit_choices(p)[0]
    first_pattern = audit_report(p, pattern.audit.id).patterns[0].pattern.id
    narrow = QueueFilter(statuses=(), score="embodiment", score_max=2, pattern_id=first_pattern, search="answer")
    return {
        "Overview": overview,
        "Traits": traits,
        "Review (needs_review)": review_queue_page("examples", QueueFilter()),
        "Review (score+pattern+search)": review_queue_page("examples", narrow),
        "Documents": review_queue_page("documents", QueueFilter(stage="documents")),
        "Patterns": patterns,
        "Datasets": datasets,
        "Training": training,
        "Evals": evals,
        "Costs": costs,
    }


def write_something(project: Project) -> None:
    """Write a review note on one row of each reviewed table (no row changes status).

    Like a decision, it makes the review pages read everything again, their progress's reviewed counts included.
    """
    for table, row in (("sft_examples", "ex-0"), ("documents", "doc-0")):
        review(project.store, table, row, "note", reviewer="bench-writer", note="a note the benchmark writes")


def time_page(project: Project, page: Page, reruns: int, after_write: bool = False) -> list[float]:
    """Milliseconds per rerun, each in its own store session as app.py runs a page (after an untimed write)."""
    times = []
    for _ in range(reruns):
        if after_write:
            write_something(project)
        start = time.perf_counter()
        with project.store.session():
            page(project)
        times.append((time.perf_counter() - start) * 1000)
    return times


def filled_project(store: Path | None, examples: int) -> tuple[Project, str]:
    """A project holding `examples` examples: made afresh, or the one kept in `store` (filled there if new).

    A kept store is only reused for the same number of examples (the folder's name should say it).
    Returns the project and how it came to be ("filled in 6.1s" or "reused").
    """
    if store is not None and (store / CONFIG_FILE).exists():
        project = load_project(store)
        with project.store.connect() as con:
            found = con.execute("SELECT count(*) FROM sft_examples").fetchone()
        if found is None or found[0] != examples:
            raise SystemExit(f"{store} holds {found and found[0]} examples, not {examples}: pass another --store.")
        return project, "reused"
    project = init_project(store or Path(tempfile.mkdtemp()) / "bench")
    start = time.perf_counter()
    fill_store(project, examples)
    return project, f"filled in {time.perf_counter() - start:.1f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--pages", help="comma-separated page names (case-insensitive prefixes) to time; default all")
    parser.add_argument("--store", type=Path, help="a folder to keep the filled project in (default: a new one)")
    args = parser.parse_args()
    project, filled = filled_project(args.store, args.examples)
    size_mb = project.store.path.stat().st_size / 1e6
    print(f"# bench/app_queries.py · {datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores")
    print(f"store: {args.examples:,} examples, {size_mb:.0f} MB, {filled}")
    print(f"{'page':<32}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    wanted = [w.strip().lower() for w in args.pages.split(",")] if args.pages else [""]
    for name, page in pages(project).items():
        if not any(name.lower().startswith(w) for w in wanted):
            continue
        page(project)  # warm: the first rerun of a page also imports and compiles
        _report(name, time_page(project, page, args.reruns))
        if name.startswith(REREAD_AFTER_WRITE):
            _report("  … after a write", time_page(project, page, args.reruns, after_write=True))


def _report(name: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = min(statistics.quantiles(times, n=20)[-1], times[-1])  # with few reruns the estimate can pass the max
    print(f"{name:<32}{statistics.median(times):>9.1f}{p95:>9.1f}{times[-1]:>9.1f}")


if __name__ == "__main__":
    main()
