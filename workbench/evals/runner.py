"""Run a suite against a model: cases concurrently, each sample stored the moment it is finished.

    result = asyncio.run(run_eval(project, "audit", "hf:/ckpt", traits_ref="candid_care", limit=20))

The run's id is a hash of suite, model, arm, traits version and cases, so the same command
again resumes it: finished cases are skipped, and an unfinished conversation replays from the
gateway's cache (the calls it had made are answered instantly and free) before going on. A case
that raises, or that the budget cap cut short, writes nothing and is retried next time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Sample, get_suite
from workbench.evals.cases import load_cases
from workbench.evals.context import EvalContext
from workbench.generate.steps import stable_id
from workbench.llm.gateway import Gateway
from workbench.progress import ProgressCallback, ProgressUpdate
from workbench.project import Project
from workbench.runs import mark_interrupted
from workbench.store.owner import current_owner
from workbench.store.traits import get_version, version_chunks

DEFAULT_CONCURRENCY = 8  # cases in flight; the gateway bounds the calls per backend on top


@dataclass
class EvalRunResult:
    """What one invocation did."""

    run_id: str
    cases: int
    finished_now: int
    skipped: int
    stopped_budget: bool
    statuses: dict[str, int] = field(default_factory=dict)


def _traits(project: Project, traits_ref: str | None) -> tuple[str | None, str, list[tuple[str, str]]]:
    if traits_ref is None:
        return None, "", []
    version = get_version(project.store, traits_ref)
    chunks = version_chunks(project.store, version.id)
    text = "\n\n".join(f"## {c.title}\n\n{c.text}" if c.kind == "trait" else c.text for c in chunks)
    return version.id, text, [(c.title, c.text) for c in chunks if c.kind == "trait"]


def _start_run(project: Project, run_id: str, values: dict[str, Any]) -> set[str]:
    """Register the run as this process's (or reopen it); the case ids it has already finished."""
    mark_interrupted(project.store)
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, traits_version, cases_hash, config, status, owner,"
            " budget_usd) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET status = 'running', owner = excluded.owner, budget_usd = excluded.budget_usd",
            [run_id, values["suite"], values["model"], values["arm"], values["traits_version"],
             values["cases_hash"], json.dumps(values["settings"]), current_owner(),
             project.config.budget.max_cost_usd_per_run],
        )  # fmt: skip
        return {r[0] for r in con.execute("SELECT case_id FROM eval_samples WHERE run_id = ?", [run_id]).fetchall()}


def _save_sample(project: Project, run_id: str, case_id: str, sample: Sample) -> None:
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_samples (id, run_id, case_id, status, reason, score, scores, transcript, rationale,"
            " details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [stable_id(run_id, case_id), run_id, case_id, sample.status, sample.reason,
             sample.score if sample.status == "ok" else None, json.dumps(sample.scores),
             json.dumps(sample.transcript), sample.rationale, json.dumps(sample.details)],
        )  # fmt: skip


def _finish_run(project: Project, run_id: str, status: str) -> None:
    with project.store.transaction() as con:
        con.execute("UPDATE eval_runs SET status = ?, finished_at = current_timestamp WHERE id = ?", [status, run_id])


async def run_eval(
    project: Project, suite_name: str, model: str, *, arm: str = "target", traits_ref: str | None = None,
    cases_path: Path | None = None, limit: int | None = None, settings: dict[str, Any] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY, progress: ProgressCallback | None = None,
) -> EvalRunResult:  # fmt: skip
    """Run (or resume) `suite_name` against `model`.

    Raises:
        WorkbenchError: an unknown suite, bad cases, or a suite that needs the traits and got none.
    """
    suite = get_suite(suite_name)
    cases, cases_hash = load_cases(project, suite, cases_path)
    cases = cases[:limit] if limit else cases
    version_id, traits_text, traits = _traits(project, traits_ref)
    settings = settings or {}
    values = {"suite": suite.name, "model": model, "arm": arm, "traits_version": version_id,
              "cases_hash": stable_id(cases_hash, limit), "settings": settings}  # fmt: skip
    run_id = stable_id("eval", *(json.dumps(values[k], sort_keys=True) for k in sorted(values)))
    done = _start_run(project, run_id, values)
    todo = [c for c in cases if str(c.id) not in done]
    result = EvalRunResult(run_id, len(cases), 0, len(cases) - len(todo), False)
    limiter = asyncio.Semaphore(concurrency)
    try:
        async with Gateway(project, stage=f"eval.{suite.name}", run_id=run_id) as gateway:
            ctx = EvalContext(project, run_id, suite.name, model, arm, gateway, traits_text, traits, settings)

            async def one(case: Case) -> None:
                async with limiter:
                    if gateway.budget_exhausted:
                        result.stopped_budget = True
                        return
                    sample = await suite.run_case(ctx, case)
                    if gateway.budget_exhausted:  # some of its calls may not have been sent
                        result.stopped_budget = True
                        return
                    await gateway.flush()  # cache first: a stored sample always has its calls cached
                    await asyncio.to_thread(_save_sample, project, run_id, case.id, sample)
                    result.finished_now += 1
                    result.statuses[sample.status] = result.statuses.get(sample.status, 0) + 1
                    if progress is not None:
                        progress(ProgressUpdate(done=result.finished_now, total=len(todo), stage=f"eval.{suite.name}"))

            await asyncio.gather(*(one(case) for case in todo))
    except BaseException:
        _finish_run(project, run_id, "failed")
        raise
    _finish_run(project, run_id, "stopped_budget" if result.stopped_budget else "done")
    return result


def parse_settings(items: Iterable[str]) -> dict[str, Any]:
    """Suite settings from `KEY=VALUE` items: the CLI's `--set`s, or the lines of the notebook's field.

    Blank items are skipped. Values that parse as JSON (numbers, true, lists) are taken as such,
    others as text without surrounding spaces.

    Raises:
        WorkbenchError: an item that is not KEY=VALUE.
    """
    settings: dict[str, Any] = {}
    for item in items:
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise WorkbenchError(f"The setting {item.strip()!r} is not KEY=VALUE.")
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value.strip()
    return settings


def require_traits(ctx: EvalContext) -> None:
    """For suites that judge against the traits: fail clearly when the run has none."""
    if not ctx.traits_text:
        raise WorkbenchError(
            f"The {ctx.suite} suite judges against a traits document.",
            hint="Pass --traits NAME (workbench traits list).",
        )
