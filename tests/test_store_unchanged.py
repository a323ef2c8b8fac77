"""Reads kept until the store is written (workbench.store.unchanged), and the review page's reads that use them."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from tests.review_rows import plant_examples
from workbench.project import Project
from workbench.review import review, review_many
from workbench.review_undo import undo_batch
from workbench.store import Store
from workbench.store.unchanged import unchanged_read
from workbench.views.focus import focus_item
from workbench.views.queue import QueueFilter, counted_page, queue_options
from workbench.views.review_progress import Progress, review_progress


def in_another_process(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True)


def counting_reader(calls: list[int]) -> Callable[[duckdb.DuckDBPyConnection], list[str]]:
    def read(con: duckdb.DuckDBPyConnection) -> list[str]:
        calls.append(1)
        return [r[0] for r in con.execute("SELECT id FROM runs ORDER BY id").fetchall()]

    return read


def test_a_read_is_kept_until_another_process_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.connect():
        pass  # creating the store is a write: the reads below start from a store nobody writes
    calls: list[int] = []
    read = counting_reader(calls)
    assert unchanged_read(store, "runs", read) == [] and unchanged_read(store, "runs", read) == []
    assert len(calls) == 1
    in_another_process(
        f"import duckdb; duckdb.connect({str(store.path)!r})"
        ".execute(\"INSERT INTO runs (id, stage, status) VALUES ('r1', 'test', 'running')\")"
    )
    assert unchanged_read(store, "runs", read) == ["r1"]
    assert unchanged_read(store, "other", read) == ["r1"]  # another key is its own read
    assert len(calls) == 3


def test_a_write_by_another_thread_during_a_session_is_seen_in_the_same_session(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    read = counting_reader([])

    def write() -> None:
        with store.transaction() as con:
            con.execute("INSERT INTO runs (id, stage, status) VALUES ('r2', 'test', 'running')")

    with store.session():
        assert unchanged_read(store, "runs", read) == []
        writer = threading.Thread(target=write)  # its own connection, as another browser session's rerun has
        writer.start()
        writer.join()
        assert unchanged_read(store, "runs", read) == ["r2"]


def test_the_review_page_shows_a_decision_made_in_another_process_on_its_next_rerun(project: Project) -> None:
    ids = plant_examples(project, 6)
    f = QueueFilter()

    def rerun() -> tuple[dict[str, int], Progress, list[str], str]:
        with project.store.session():  # as app.py runs each rerun of a page
            _, page = counted_page(project, f)
            return (queue_options(project, "examples").statuses, review_progress(project, "examples", "ada"),
                    [r.id for r in page], focus_item(project, "examples", ids[0]).status)  # fmt: skip

    statuses, progress, page, status = rerun()
    assert rerun() == (statuses, progress, page, status)
    assert statuses == {"needs_review": 6} and page == ids and status == "needs_review"
    in_another_process(
        "from workbench.project import load_project; from workbench.review import review;"
        f"review(load_project({str(project.root)!r}).store, 'sft_examples', {ids[0]!r}, 'accept', reviewer='ada')"
    )
    statuses, progress, page, status = rerun()
    assert statuses == {"needs_review": 5, "ok": 1} and page == ids[1:] and status == "ok"
    assert (progress.reviewed, progress.by_reviewer, progress.remaining) == (1, 1, 5)


def test_progress_counts_rows_with_a_standing_decision_after_undos_and_redecisions(project: Project) -> None:
    ids = plant_examples(project, 5)
    first = review_many(project.store, "sft_examples", ids[:2], "accept", reviewer="ada")
    review(project.store, "sft_examples", ids[2], "reject", reviewer="bob")
    review(project.store, "sft_examples", ids[3], "note", reviewer="ada", note="a note decides nothing")
    undo_batch(project.store, first.batch_id, reviewer="ada")  # both of ada's rows wait again
    review(project.store, "sft_examples", ids[0], "accept", reviewer="bob")
    bob, ada = review_progress(project, "examples", "bob"), review_progress(project, "examples", "ada")
    assert (bob.reviewed, bob.by_reviewer, bob.remaining) == (2, 2, 3)
    assert (ada.reviewed, ada.by_reviewer) == (2, 0)
