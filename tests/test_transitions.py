"""A person's review decision is final: no pipeline step ever overturns it.

Property-style: the SFT and documents pipelines run as a user runs them (CLI subprocesses) while a
reviewer in this process, woken by the fake model server whenever a request arrives (so exactly
while a step has read its rows and waits for the model), accepts, rejects or sends back random
rows. Whatever the interleaving, every row's status must match the latest decision about it.
A source check keeps the compare-and-set rule in one place.
"""

from __future__ import annotations

import ast
import random
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.fakes.docs_model import DocsFakeModel
from tests.fakes.rules import FakeRequest
from tests.fakes.sft_model import SFTFakeModel
from tests.kill_resume import Pipeline, finish, new_project, start
from tests.sft_setup import DOC_TYPES, PERSONAS, TRAITS, docs_env, sft_env
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.review import REPLACED, REVIEWABLE, STATUS_AFTER, review
from workbench.store.transitions import Move, move_rows

REPO = Path(__file__).resolve().parents[1]

# Files allowed to write a `status` column with UPDATE: the rule itself, the people's decisions,
# and run bookkeeping (runs, training runs, eval runs) which no person reviews. A generation row's
# own retry (steps.py replaces only an `error` row) and a person's pattern edits are also listed.
STATUS_WRITERS = {
    "workbench/store/transitions.py", "workbench/review.py", "workbench/review_undo.py",
    "workbench/runs.py", "workbench/train/tracking.py", "workbench/evals/runner.py",
    "workbench/generate/steps.py", "workbench/audit/patterns.py",
    "workbench/jobs.py",  # a background process's own lifecycle (starting → running → ended), like runs.py
}  # fmt: skip


class RandomReviewer:
    """Wraps a fake model: before answering, sometimes makes a random decision about a random row."""

    def __init__(self, model: Any, project: Project, tables: tuple[str, ...], seed: int, rate: float) -> None:
        self.model, self.project, self.tables, self.rate = model, project, tables, rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()  # server threads take turns: one reviewer, like a person
        self.decisions = 0

    def __call__(self, request: FakeRequest) -> Any:
        with self.lock:
            if self.random.random() < self.rate:
                self._decide()
        return self.model(request)

    def _decide(self) -> None:
        with self.project.store.connect() as con:
            rows = [(table, r[0]) for table in self.tables for r in con.execute(
                f"SELECT id FROM {table} WHERE status NOT IN (SELECT unnest(?)) ORDER BY id", [sorted(REPLACED)]
            ).fetchall()]  # fmt: skip
        if not rows:
            return
        table, row_id = self.random.choice(rows)
        action = self.random.choice(["accept", "reject", "reject", "regenerate"])
        note = "make it harder" if action == "regenerate" else None
        try:
            review(self.project.store, table, row_id, action, reviewer="prop", note=note)
        except WorkbenchError:
            return  # e.g. the row was replaced meanwhile: a person would see that and move on
        self.decisions += 1


def overturned(project: Project) -> list[tuple[str, str, str, str]]:
    """Rows whose status differs from what the latest decision about them set."""
    found = []
    with project.store.connect() as con:
        for table in REVIEWABLE:
            rows = con.execute(
                f"SELECT e.item_id, arg_max(e.action, e.created_at), any_value(t.status) FROM review_events e"
                f" JOIN {table} t ON t.id = e.item_id WHERE e.item_table = ? AND e.action IN (SELECT unnest(?))"
                " GROUP BY e.item_id",
                [table, sorted(STATUS_AFTER)],
            ).fetchall()
            found += [(table, i, a, s) for i, a, s in rows if s != STATUS_AFTER[a]]
    return found


def decided(project: Project) -> int:
    with project.store.connect() as con:
        return con.execute("SELECT count(*) FROM review_events").fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize("seed", [0, 1])
def test_no_pipeline_step_overturns_a_review_decision_in_sft(seed: int, tmp_path: Path, fake_gemini: Any) -> None:
    project = new_project(tmp_path / "p", Pipeline(("sft", "run", "test", "--yes")))
    reviewer = RandomReviewer(SFTFakeModel(TRAITS, PERSONAS), project, ("sft_scenarios", "sft_examples"), seed, 0.4)
    fake_gemini.rule = reviewer
    env = sft_env(fake_gemini, WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true")  # on to answers and examples
    # Twice: the second run regenerates what was sent back and resumes what the first left.
    for _ in range(2):
        finish(start(project, env, Pipeline(("sft", "run", "test", "--yes"))))
    assert reviewer.decisions >= 5, "the reviewer made decisions while the run's calls were in flight"
    assert decided(project) == reviewer.decisions
    assert overturned(project) == []


def test_no_pipeline_step_overturns_a_review_decision_in_docs(tmp_path: Path, fake_gemini: Any) -> None:
    project = new_project(tmp_path / "p", Pipeline(("docs", "run", "test", "--yes")))
    reviewer = RandomReviewer(DocsFakeModel(TRAITS, list(DOC_TYPES)), project, ("documents",), 3, 0.3)
    fake_gemini.rule = reviewer
    for _ in range(2):
        finish(start(project, docs_env(fake_gemini), Pipeline(("docs", "run", "test", "--yes"))))
    assert reviewer.decisions >= 5
    assert overturned(project) == []


def test_a_move_applies_only_from_the_status_the_step_read() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id VARCHAR, status VARCHAR, reason VARCHAR, scores JSON, updated_at TIMESTAMP)")
    con.execute("INSERT INTO t VALUES ('a', 'new', NULL, NULL, now()), ('b', 'rejected', 'by ada', NULL, now())")
    moved = move_rows(con, "t", [Move("a", "new", "rated", "fine", {"scores": '{"q": 4}'}), Move("b", "new", "ok")])
    assert moved == {"a"}
    assert con.execute("SELECT id, status, reason, scores FROM t ORDER BY id").fetchall() == [
        ("a", "rated", "fine", '{"q": 4}'),
        ("b", "rejected", "by ada", None),
    ]


def _status_updates(path: Path) -> bool:
    """Whether any SQL string in the file updates a `status` column."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        parts = node.values if isinstance(node, ast.JoinedStr) else [node]
        text = "".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
        upper = " ".join(text.upper().split())
        if "UPDATE" in upper and " SET " in upper:
            assignments = upper.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
            if "STATUS =" in assignments:
                return True
    return False


def test_status_changes_are_written_only_through_the_one_rule() -> None:
    writers = {str(p.relative_to(REPO)) for p in (REPO / "workbench").rglob("*.py") if _status_updates(p)}
    assert writers <= STATUS_WRITERS, f"status written outside store/transitions.py: {writers - STATUS_WRITERS}"


def test_the_source_check_finds_a_status_update(tmp_path: Path) -> None:
    step = tmp_path / "step.py"
    step.write_text('con.execute(\n    "UPDATE documents SET reason = ?,"\n    f" status = {x} WHERE id = ?", [])\n')
    assert _status_updates(step)
    step.write_text('con.execute("UPDATE sft_scenarios SET reason = ? WHERE status = ?", [])\n')
    assert not _status_updates(step)
