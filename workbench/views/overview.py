"""The Overview page's read models: rows per stage and status, the latest runs of every kind, what to do next.

    summary = project_status(project.store)
    table = status_rows(summary)                 # (stage, status, rows, most common reason)
    runs = latest_runs(project, limit=10)        # generation, training and eval runs, newest first
    for step in next_steps(project, summary):    # ordered suggestions with the exact command
        print(step.text, step.command)

`next_steps` follows the data flow (traits → SFT data and documents → review → dataset →
training → checkpoint → eval) and suggests what the store says is missing. Its texts are fixed
words and numbers (safe to show as Markdown); anything taken from the store (a document name, a
dataset, a checkpoint path) is only in the command, which the page shows as code.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime

import duckdb

from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.status import ProjectStatus
from workbench.store.ledger_reads import ledger_rows

EXAMPLE_TRAITS = "data/traits/candid_care.md"
PILOT = 3  # scenarios or documents per trait in a suggested pilot run (pilot first, then scale)

# Stages whose rows people review, the noun for them, and the command that lists those waiting.
_REVIEWED = (
    ("sft.scenarios", "scenarios", "workbench sft list scenarios --status needs_review"),
    ("sft.examples", "examples", "workbench sft list examples --status needs_review"),
    ("docs.documents", "documents", "workbench docs list --status needs_review"),
)
# Accepted rows that a dataset of each kind is built from: (stage in project_status, dataset kind).
_DATASET_SOURCES = (("sft_examples", "sft"), ("documents", "midtrain"))
_METHOD_FOR_KIND = {"sft": "sft", "midtrain": "midtrain", "preference": "dpo"}
# What each run's model calls have cost: one read of the ledger, cached until calls are added.
_RUN_COSTS = "SELECT run_id, coalesce(sum(cost_usd), 0) FROM llm_calls WHERE run_id IS NOT NULL GROUP BY run_id"


@dataclass(frozen=True)
class StatusRow:
    """How many rows of a stage have one status.

    Attributes:
        stage: The stage (`sft.examples`, `docs.draft`, ...).
        status: The status.
        rows: Rows with it.
        reason: Their most common reason, if they record one.
    """

    stage: str
    status: str
    rows: int
    reason: str | None


@dataclass(frozen=True)
class LatestRun:
    """One run of any kind.

    Attributes:
        kind: generation (a `runs` row), training or eval.
        id: The run's id.
        what: Its stage; its method and base model; or its suite, model and arm.
        status: running, done, failed, stopped_budget, interrupted (its process died; see
            `workbench.runs.mark_interrupted`, which callers run first).
        started_at: When it started.
        finished_at: When it ended (None while running).
        cost_usd: What its model calls cost (0 for training).
    """

    kind: str
    id: str
    what: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    cost_usd: float


@dataclass(frozen=True)
class NextStep:
    """A suggestion: what to do, and the command that does it.

    Attributes:
        text: What to do, in fixed words and numbers.
        command: The exact `workbench …` command (None where the step is done in the app).
    """

    text: str
    command: str | None


def status_rows(summary: ProjectStatus) -> list[StatusRow]:
    """The summary's rows per stage and status as one flat table, by stage then status."""
    return [
        StatusRow(stage, status, count, summary.reasons.get(stage, {}).get(status))
        for stage, statuses in summary.rows.items()
        for status, count in sorted(statuses.items())
    ]


def latest_runs(project: Project, limit: int = 10) -> list[LatestRun]:
    """The newest `limit` runs across generation, training and eval runs, with what each has cost."""
    with project.store.connect() as con:
        rows = con.execute(
            """
            SELECT 'generation' AS kind, id, stage AS what, status, started_at, finished_at FROM runs
            UNION ALL
            SELECT 'training', id, method || ' · ' || base_model, status, started_at, finished_at FROM train_runs
            UNION ALL
            SELECT 'eval', id, suite || ' · ' || model || ' (' || arm || ')', status, created_at, finished_at
            FROM eval_runs
            ORDER BY started_at DESC, id LIMIT ?
            """,
            [limit],
        ).fetchall()
    costs = dict(ledger_rows(project.store, _RUN_COSTS))
    return [LatestRun(kind, id_, what, status, started, finished, costs.get(id_, 0.0))
            for kind, id_, what, status, started, finished in rows]  # fmt: skip


def next_steps(project: Project, summary: ProjectStatus) -> list[NextStep]:
    """What to do next, in the order of the data flow, from what the store holds and lacks."""
    if not summary.traits:
        return [NextStep("Add a traits document.", _command("traits", "add", EXAMPLE_TRAITS))]
    document = summary.traits[0].document
    steps = _generation_steps(summary, document) + _review_steps(summary)
    with project.store.connect() as con:
        steps += _dataset_steps(con, document) + _training_steps(con, project, document)
    return steps


def _command(*args: str) -> str:
    """A `workbench` command line, each argument quoted for the shell (names from the store may hold spaces)."""
    return shlex.join(["workbench", *args])


def _generation_steps(summary: ProjectStatus, document: str) -> list[NextStep]:
    steps = []
    if "sft.scenarios" not in summary.rows:
        steps.append(NextStep("Generate a pilot of SFT data.", _command("sft", "run", document, "--pilot", str(PILOT))))
    if "docs.documents" not in summary.rows:
        steps.append(NextStep("Generate a pilot of midtraining documents.",
                              _command("docs", "run", document, "--pilot", str(PILOT))))  # fmt: skip
    return steps


def _review_steps(summary: ProjectStatus) -> list[NextStep]:
    waiting = [(summary.rows.get(stage, {}).get("needs_review", 0), noun, command)
               for stage, noun, command in _REVIEWED]  # fmt: skip
    return [NextStep(f"Review {n} {noun} on the Review page.", command) for n, noun, command in waiting if n]


def _dataset_steps(con: duckdb.DuckDBPyConnection, document: str) -> list[NextStep]:
    built = {kind for (kind,) in con.execute("SELECT DISTINCT kind FROM train_datasets").fetchall()}
    steps = []
    for table, kind in _DATASET_SOURCES:
        if kind in built:
            continue
        # Demo rows are for looking at and no dataset build takes them (datasets/sources.py), so they do not count.
        sql = f"SELECT count(*) FROM {table} WHERE status = 'ok' AND run_id IS DISTINCT FROM ?"
        if accepted := con.execute(sql, [DEMO_RUN]).fetchone()[0]:  # type: ignore[index]
            command = _command("dataset", "build", f"{document}-{kind}", "--kind", kind, "--traits", document)
            steps.append(NextStep(f"Build a training dataset ({kind}) from the {accepted} accepted rows.", command))
    return steps


def _training_steps(con: duckdb.DuckDBPyConnection, project: Project, document: str) -> list[NextStep]:
    steps = []
    untrained = con.execute(
        "SELECT d.id, d.kind FROM train_datasets d WHERE NOT EXISTS"
        " (SELECT 1 FROM train_runs r WHERE r.dataset_id = d.id) ORDER BY d.created_at DESC LIMIT 1"
    ).fetchone()
    if untrained is not None:
        dataset_id, kind = untrained
        base = project.config.roles.get("baseline", "")
        base = base.removeprefix("hf:") if base.startswith("hf:") else "MODEL"
        command = _command("train", _METHOD_FOR_KIND[kind], "--dataset", dataset_id, "--base-model", base)
        steps.append(NextStep("Train on the newest dataset no run has used yet.", command))
    # A run counts as evaluated once any of its checkpoints has been the target of an eval run.
    unevaluated = con.execute(
        "SELECT arg_max(c.path, c.created_at) FROM checkpoints c LEFT JOIN eval_runs e ON e.model = 'hf:' || c.path"
        " GROUP BY c.run_id HAVING count(e.id) = 0 ORDER BY max(c.created_at) DESC LIMIT 1"
    ).fetchone()
    if unevaluated is not None:
        command = _command(
            "eval", "run", "--suite", "knowledge", "--model", f"hf:{unevaluated[0]}", "--traits", document
        )
        steps.append(NextStep("Evaluate the newest checkpoint no eval has used yet.", command))
    return steps
