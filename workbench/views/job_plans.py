"""What a job would do before it is started: the `workbench` command, and its projection as the Run page shows it.

    plan = sft_plan(project, "test@1", pilot=2)        # or scenarios=50: the full run, projected from the pilot
    plan.summary, plan.rows, plan.warnings            # Markdown, a table, plain-text warnings
    started = start_job(project, plan.kind, plan.args) # workbench/jobs.py; plan.command is the same as a shell line

One function per stage: the SFT and documents pipelines (a pilot, or a full run projected from what
the pilot measured), an audit (lexical: no calls; LLM: `plan_audit`), a dataset build (its rows), a
training run (its steps, and its time at the step rate earlier runs measured) and an eval (its plays).
Each command ends with `--project ROOT`, so what a page shows runs as it is from any folder; a full
run passes `--yes` because the page has already shown the projection and asked. A stage with nothing
to project from (no pilot measured, no rows accepted) raises the `WorkbenchError` the CLI would.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field
from typing import Any

from workbench.audit.datasets import get_dataset
from workbench.budget import worst_case_overshoot_usd
from workbench.datasets import DatasetRecipe
from workbench.datasets.build import get_train_dataset
from workbench.datasets.sources import accepted_count, nothing_left
from workbench.errors import WorkbenchError
from workbench.evals.base import get_suite
from workbench.evals.cases import load_cases
from workbench.generate.context import select_traits
from workbench.generate.cost import project_sft_cost
from workbench.generate.pipeline import ROLES, STEPS
from workbench.project import Project
from workbench.runs import work_cap
from workbench.store.traits import get_version, version_chunks
from workbench.train.config import load_train_config
from workbench.train.launch import planned_steps
from workbench.views.documents import DocsChoice
from workbench.views.literal import markdown_literal
from workbench.views.projections import ProjectionView, audit_projection, cost_sentence, docs_projection
from workbench.views.runs import projection_rows

DOCS_STEPS = ("brainstorm", "draft", "critique", "rewrite", "rate", "dedup")
AUDIT_PATTERNS = 10  # the patterns an LLM audit is assumed to rate (as `workbench audit plan` assumes)


@dataclass(frozen=True)
class JobPlan:
    """A job ready to start, and what it would do.

    Attributes:
        kind: The job's kind (`workbench.jobs.start_job`).
        args: The `workbench` arguments it runs.
        summary: Our Markdown: what it would do and cost (names from the store made literal).
        rows: A table of the projection (one row per ledger stage), if there is one.
        warnings: Plain text: what the projection leaves out or assumes.
        total: Items known up front for its progress bar (a training run's steps); 0 when the job says.
        stage: The stage those items belong to.
    """

    kind: str
    args: list[str]
    summary: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    total: int = 0
    stage: str | None = None

    @property
    def command(self) -> str:
        """The same job as a shell command line."""
        return shlex.join(["workbench", *self.args])


def batched(plan: JobPlan) -> JobPlan:
    """The same job through the provider's batch API: it submits a step's calls, waits, collects, goes on."""
    note = (" **Through the batch API:** half the price of live calls (the projection above is at live prices); "
            "each step's answers come back within 24 hours, and the job waits for them.")  # fmt: skip
    return dataclasses.replace(plan, args=[*plan.args, "--batch", "--wait"], summary=plan.summary + note)


def _where(project: Project) -> list[str]:
    return ["--project", str(project.root)]


def _cap_sentence(project: Project, cap: float | None, roles: tuple[str, ...]) -> str:
    if cap is None:
        return "No budget cap on this work."
    over = worst_case_overshoot_usd(project.config, roles)
    return f"It stops at this work's budget cap of ${cap:.2f} (worst case about ${over:.4f} over, already in flight)."


def _work_cap(project: Project, work: str) -> float | None:
    return work_cap(project.store, work, project.config.budget.max_cost_usd_per_run)


def _pilot(project: Project, what: str, slots: int, steps: tuple[str, ...], work: str) -> str:
    return (
        f"**Pilot:** {slots} {what}, through the steps {', '.join(steps)}: about {slots} calls a step (more where "
        "the critique asks for a rewrite; none past a step that waits for review). Nothing has been measured yet, "
        "so no cost is projected: the pilot is what measures it, for the full run's projection. "
        f"{_cap_sentence(project, _work_cap(project, work), ROLES)}"
    )


def _projected(kind: str, args: list[str], view: ProjectionView) -> JobPlan:
    return JobPlan(kind, args, " ".join([view.summary, *view.notes]), view.rows, view.warnings)


def sft_plan(project: Project, traits_ref: str, *, pilot: int | None = None, scenarios: int | None = None) -> JobPlan:
    """`workbench sft run`: a pilot of `pilot` scenarios per trait, else a run of `scenarios` (projected).

    Raises:
        WorkbenchError: an unknown traits version, or a full run with no pilot measured yet.
    """
    version = get_version(project.store, traits_ref)
    if pilot is not None:
        slots = len(select_traits(version_chunks(project.store, version.id), None)) * pilot
        args = ["sft", "run", version.ref, "--pilot", str(pilot), *_where(project)]
        work = f"sft:{version.id}"
        return JobPlan("sft", args, _pilot(project, f"scenario slot(s) ({pilot} per trait)", slots, tuple(STEPS), work))
    cost = project_sft_cost(project, version.ref, scenarios=scenarios)
    size = [] if scenarios is None else ["--scenarios", str(scenarios)]
    summary = (
        f"**Projection:** {cost.remaining_slots} scenario slot(s) to fill, from per-slot averages over the "
        f"{cost.measured_slots} measured so far: {cost_sentence(cost)}."
    )
    unmeasured = [f"Not measured yet, so not in the totals: {', '.join(cost.unmeasured)}."] if cost.unmeasured else []
    args = ["sft", "run", version.ref, *size, "--yes", *_where(project)]
    return JobPlan("sft", args, summary, projection_rows(cost), unmeasured)


def docs_plan(project: Project, traits_ref: str, *, pilot: int | None = None, per_type: int | None = None) -> JobPlan:
    """`workbench docs run`: a pilot of `pilot` documents per trait and type, else `per_type` of each (projected).

    Raises:
        WorkbenchError: an unknown traits version, or a full run with no pilot measured yet.
    """
    version = get_version(project.store, traits_ref)
    types = list(project.config.docs.types)
    traits = select_traits(version_chunks(project.store, version.id), None)
    choice = DocsChoice(version.ref, [c.id for c in traits], types)
    if pilot is not None:
        args = ["docs", "run", version.ref, "--pilot", str(pilot), *_where(project)]
        what = f"document slot(s) ({pilot} per trait and type, {len(types)} types)"
        return JobPlan("docs", args, _pilot(project, what, choice.slots(pilot), DOCS_STEPS, f"docs:{version.id}"))
    per_type = per_type or project.config.docs.per_type
    args = ["docs", "run", version.ref, "--per-type", str(per_type), "--yes", *_where(project)]
    return _projected("docs", args, docs_projection(project, choice, per_type))


def audit_plan(project: Project, dataset_ref: str, scanner: str) -> JobPlan:
    """`workbench audit run --scanner lexical|llm`: lexical makes no call; llm is projected by `plan_audit`.

    Raises:
        WorkbenchError: no such dataset, or an unknown scanner.
    """
    dataset = get_dataset(project, dataset_ref)
    args = ["audit", "run", dataset.id, "--scanner", scanner, "--yes", *_where(project)]
    if scanner == "lexical":
        summary = (
            f"**Lexical audit** of {dataset.row_count} rows of {markdown_literal(dataset.name)}: openers, closers, "
            "n-grams and structure counted exactly, and rated deterministically. **0 model calls, $0.**"
        )
        return JobPlan("audit", args, summary)
    if scanner != "llm":
        raise WorkbenchError(f"Unknown scanner {scanner!r}.", hint="Choose lexical or llm.")
    return _projected("audit", args, audit_projection(project, dataset.id, patterns=AUDIT_PATTERNS))


def dataset_plan(project: Project, name: str, kind: str = "sft", traits_ref: str | None = None) -> JobPlan:
    """`workbench dataset build NAME`: the accepted rows it would freeze, and its split (no model calls).

    Raises:
        WorkbenchError: a bad name or kind, an unknown traits version, or no accepted row to build from.
    """
    recipe = DatasetRecipe(name, kind=kind, traits_ref=traits_ref)  # type: ignore[arg-type]  # checked by the recipe
    # The form sets no score threshold or keep dataset, so every accepted row is in: a count, not a read of
    # every row's text (seconds on a store of 100,000 examples).
    rows = accepted_count(project, recipe)
    if not rows:
        raise nothing_left(recipe, {"accepted": 0})
    held = round(rows * recipe.validation_fraction)
    summary = (
        f"**Dataset build:** {rows} accepted {kind} row(s): about {rows - held} for training and {held} held out "
        "for validation. **0 model calls, $0.**"
    )
    traits = ["--traits", traits_ref] if traits_ref else []
    return JobPlan("dataset", ["dataset", "build", name, "--kind", kind, *traits, *_where(project)], summary)


def _seconds_per_step(project: Project, method: str) -> float | None:
    """The mean seconds per step of this project's finished runs of `method` (None: none yet)."""
    with project.store.connect() as con:
        row = con.execute(
            "SELECT avg(epoch(finished_at - started_at) / last_step) FROM ("
            " SELECT r.finished_at, r.started_at, max(m.step) AS last_step FROM train_runs r"
            " JOIN train_metrics m ON m.run_id = r.id WHERE r.status = 'done' AND r.method = ?"
            " GROUP BY r.id, r.finished_at, r.started_at) WHERE last_step > 0",
            [method],
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def train_plan(project: Project, method: str, dataset_ref: str, base_model: str, max_steps: int = 0) -> JobPlan:
    """`workbench train METHOD`: its optimiser steps, and their time at the step rate of earlier runs.

    Raises:
        WorkbenchError: an unknown method or setting, or no such training dataset.
    """
    overrides: dict[str, Any] = {"dataset": dataset_ref, "base_model": base_model, "max_steps": max_steps}
    config = load_train_config(method, overrides=overrides)
    dataset = get_train_dataset(project, dataset_ref)
    steps = planned_steps(config, dataset.train_rows)
    rate = _seconds_per_step(project, method)
    time = (
        f"about {steps * rate / 60:.1f} min at the {rate:.2f} s/step earlier {method} runs here took"
        if rate
        else "not known yet (no finished run of this method here to time it by)"
    )
    summary = (
        f"**Training:** {steps} optimiser step(s) of {method} on {dataset.train_rows} training rows of "
        f"{markdown_literal(dataset.name)}; time {time}. Local compute only: **0 model calls, $0.**"
    )
    limit = ["--set", f"max_steps={max_steps}"] if max_steps else []
    args = ["train", method, "--dataset", dataset.id, "--base-model", base_model, *limit, *_where(project)]
    return JobPlan("train", args, summary, total=steps, stage="training")


def eval_plan(project: Project, suite: str, model: str, *, limit: int, traits_ref: str | None = None) -> JobPlan:
    """`workbench eval run`: the plays it would make (cases × epochs), each judged.

    Raises:
        WorkbenchError: an unknown suite, or its cases file is missing or invalid.
    """
    chosen = get_suite(suite)
    cases = load_cases(project, chosen)[0][:limit]
    plays = len(cases) * chosen.epochs
    judges = "judged by the `judge` role" if chosen.judge else "scored without a judge"
    cap = project.config.budget.max_cost_usd_per_run  # an eval run is a piece of work of its own
    summary = (
        f"**Eval:** {len(cases)} case(s) of {suite} × {chosen.epochs} epoch(s) = {plays} play(s) of "
        f"{markdown_literal(model)}, each {judges}: at least {plays * (2 if chosen.judge else 1)} calls (multi-turn "
        f"suites make more). The cost is counted as it goes. {_cap_sentence(project, cap, ('judge',))}"
    )
    traits = ["--traits", traits_ref] if traits_ref else []
    args = ["eval", "run", "--suite", suite, "--model", model, "--limit", str(limit), *traits, *_where(project)]
    return JobPlan("eval", args, summary)


def trained_steps(project: Project, pid: int | None) -> int:
    """The last step logged by the training run the process `pid` owns (a training job's progress; 0 before)."""
    with project.store.connect() as con:
        row = con.execute(
            "SELECT max(m.step) FROM train_runs r JOIN train_metrics m ON m.run_id = r.id"
            " WHERE split_part(r.owner, ':', 2) = ?",
            [str(pid)],
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
