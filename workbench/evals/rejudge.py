"""Score a run's stored transcripts again with other judges, without replaying the target.

    workbench eval rejudge RUN --judge gemini:gemini-2.5-pro --judge openai:gpt-4.1@https://api.openai.com/v1
    result = asyncio.run(rejudge_run(project, "3f2a", judges=("gemini:gemini-2.5-pro",)))

A re-judged run is a run of its own (`eval_runs.source_run` names the source), with the source's
suite, model, arm and cases, so it is listed, shown and compared like any other: comparing it with
its source separates what the judges disagree on from what the target did. Invalid plays stay
invalid (there is nothing to judge); every other play is judged afresh from its transcript by the
suite's `judge` step. Like a run, it resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Sample, Suite, get_suite
from workbench.evals.cases import load_cases
from workbench.evals.context import EvalContext
from workbench.evals.report import get_run, samples
from workbench.evals.runner import (
    DEFAULT_CONCURRENCY,
    EvalRunResult,
    play_run,
    start_run,
    traits_of_version,
)
from workbench.generate.steps import stable_id
from workbench.llm.batch.queue import BatchMode
from workbench.llm.gateway import Gateway
from workbench.progress import ProgressCallback
from workbench.project import Project


@dataclass(frozen=True)
class StoredPlay:
    """One play of the source run, as stored."""

    case: Case
    epoch: int
    sample: Sample


def _source(project: Project, run_id: str) -> dict[str, Any]:
    with project.store.connect() as con:
        cursor = con.execute(
            "SELECT suite, model, arm, traits_version, cases_hash, config FROM eval_runs WHERE id = ?", [run_id]
        )
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    if row is None:  # get_run found it a moment ago: only a concurrent `remove` gets here
        raise WorkbenchError(f"The eval run {run_id} is gone.")
    return dict(zip(names, row, strict=True))


def _plays(project: Project, suite: Suite, rows: list[dict[str, Any]], cases_path: Path | None) -> list[StoredPlay]:
    """The source's plays with their cases (stored with the sample, else read from the cases file)."""
    from_file: dict[str, Case] = {}
    if any(row["case_data"] is None for row in rows):  # samples from before migration 013 do not keep their case
        from_file = {c.id: c for c in load_cases(project, suite, cases_path)[0]}
    plays = []
    for row in rows:
        if row["case_data"] is not None:
            case = suite.case_model.model_validate(row["case_data"])
        elif row["case_id"] in from_file:
            case = from_file[row["case_id"]]
        else:
            raise WorkbenchError(
                f"The case {row['case_id']!r} of the source run is not in the cases file.",
                hint="Pass the cases file the run was played with: --cases FILE.",
            )
        invalid = row["status"] == "invalid"
        played = Sample("invalid" if invalid else "ok", reason=row["reason"] if invalid else None,
                        transcript=row["transcript"], details=row["details"])  # fmt: skip
        plays.append(StoredPlay(case, int(row["epoch"] or 0), played))
    return plays


async def rejudge_run(
    project: Project, source_ref: str, *, judges: tuple[str, ...], cases_path: Path | None = None,
    concurrency: int = DEFAULT_CONCURRENCY, progress: ProgressCallback | None = None, batch: BatchMode = "off",
) -> EvalRunResult:  # fmt: skip
    """Judge the source run's transcripts again with `judges` (model specs), as a new run.

    With `batch`, the judges' calls go through the provider's batch API (see `run_eval`).

    Raises:
        WorkbenchError: no such run, no judges, a suite without a judge, or a case that cannot be found.
    """
    if not judges:
        raise WorkbenchError("Name at least one judge to re-judge with.", hint="--judge SPEC (repeatable).")
    source_id = get_run(project, source_ref)[0]
    run, rows = _source(project, source_id), samples(project, source_id)
    suite = get_suite(run["suite"])
    if suite.judge is None:
        raise WorkbenchError(f"The {suite.name} suite has no judge: its scores are computed, not judged.")
    plays = {(p.case.id, p.epoch): p for p in _plays(project, suite, rows, cases_path)}
    settings = {k: v for k, v in json.loads(run["config"]).items() if k != "epochs"} | {"judges": list(judges)}
    epochs = 1 + max((epoch for _, epoch in plays), default=0)
    values = {"suite": suite.name, "model": run["model"], "arm": run["arm"], "traits_version": run["traits_version"],
              "cases_hash": run["cases_hash"], "settings": settings, "epochs": epochs}  # fmt: skip
    run_id = stable_id("rejudge", source_id, *judges)
    done = start_run(project, run_id, values, source_run=source_id)
    todo = [(p.case, p.epoch) for key, p in plays.items() if key not in done]
    result = EvalRunResult(run_id, len({c for c, _ in plays}), 0, len(plays) - len(todo), False, epochs)
    traits_text, traits = traits_of_version(project, run["traits_version"])
    judge = suite.judge

    async def judge_again(ctx: EvalContext, case: Case) -> Sample:
        stored = plays[(case.id, ctx.epoch)].sample
        return stored if stored.status == "invalid" else await judge(ctx, case, stored)

    def context(gateway: Gateway) -> EvalContext:
        return EvalContext(project, run_id, suite.name, run["model"], run["arm"], gateway, traits_text, traits,
                           settings, judges=judges)  # fmt: skip

    await play_run(project, run_id, f"eval.{suite.name}.rejudge", context, todo, judge_again, result, concurrency,
                   progress, batch)  # fmt: skip
    return result
