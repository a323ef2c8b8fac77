"""Run a suite against a model: cases concurrently, each sample stored the moment it is finished.

    result = asyncio.run(run_eval(project, "audit", "hf:/ckpt", traits_ref="candid_care", limit=20))
    result = asyncio.run(run_eval(project, "knowledge", "hf:/ckpt", traits_ref="candid_care", epochs=5))

Each case is played `epochs` times (default: the suite's), each play a sample numbered by its
epoch; with more than one epoch the target samples at `DEFAULT_TEMPERATURE` unless a temperature
is given, so the plays differ (each epoch is its own cache entry). The run's id is a hash of
suite, model, arm, traits version, cases, settings, temperature and judges (not of the epochs:
the same command with more epochs adds plays to the run), so the same command again resumes it:
finished plays are skipped, and an unfinished conversation replays from the gateway's cache (the
calls it had made are answered instantly and free) before going on. A play that raises, or that
the budget cap cut short, writes nothing and is retried next time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.base import Case, Sample, get_suite
from workbench.evals.cases import load_cases
from workbench.evals.context import BatchDeferred, EvalContext
from workbench.generate.steps import stable_id
from workbench.llm.batch.collect import collect_ready
from workbench.llm.batch.queue import BatchMode
from workbench.llm.gateway import Gateway
from workbench.progress import ProgressCallback, ProgressUpdate
from workbench.project import Project
from workbench.runs import mark_interrupted
from workbench.store.owner import current_owner
from workbench.store.traits import get_version, version_chunks

Play = tuple[str, int]  # (case id, epoch)
PlayFunction = Callable[[EvalContext, Any], Awaitable[Sample]]

DEFAULT_CONCURRENCY = 8  # cases in flight; the gateway bounds the calls per backend on top
# Several epochs measure the model's distribution of behaviour, so each play samples from the
# model's own distribution (temperature 1) unless the user picks another temperature.
DEFAULT_TEMPERATURE = 1.0


@dataclass
class EvalRunResult:
    """What one invocation did."""

    run_id: str
    cases: int
    finished_now: int
    skipped: int
    stopped_budget: bool
    epochs: int = 1
    statuses: dict[str, int] = field(default_factory=dict)
    deferred: int = 0  # plays that wait on a batch (`--batch`); they are played on when it is collected
    batches: list[str] = field(default_factory=list)  # the batches this invocation submitted


def traits_of_version(project: Project, version_id: str | None) -> tuple[str, list[tuple[str, str]]]:
    """A traits version's text as judges read it, and (title, text) per trait; empty for no version."""
    if version_id is None:
        return "", []
    chunks = version_chunks(project.store, version_id)
    text = "\n\n".join(f"## {c.title}\n\n{c.text}" if c.kind == "trait" else c.text for c in chunks)
    return text, [(c.title, c.text) for c in chunks if c.kind == "trait"]


def _traits(project: Project, traits_ref: str | None) -> tuple[str | None, str, list[tuple[str, str]]]:
    version_id = None if traits_ref is None else get_version(project.store, traits_ref).id
    return version_id, *traits_of_version(project, version_id)


def start_run(project: Project, run_id: str, values: dict[str, Any], source_run: str | None = None) -> set[Play]:
    """Register the run as this process's (or reopen it); the (case id, epoch) plays it has finished."""
    mark_interrupted(project.store)
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, traits_version, cases_hash, config, status, owner,"
            " budget_usd, source_run) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET status = 'running', owner = excluded.owner, budget_usd = excluded.budget_usd,"
            " config = excluded.config",
            [run_id, values["suite"], values["model"], values["arm"], values["traits_version"],
             values["cases_hash"], json.dumps(values["settings"] | {"epochs": values["epochs"]}), current_owner(),
             project.config.budget.max_cost_usd_per_run, source_run],
        )  # fmt: skip
        found = con.execute("SELECT case_id, epoch FROM eval_samples WHERE run_id = ?", [run_id]).fetchall()
    return {(case_id, int(epoch or 0)) for case_id, epoch in found}


def sample_id(run_id: str, case_id: str, epoch: int) -> str:
    """A sample's id; a first play keeps the id it had before epochs existed (hash of run and case)."""
    return stable_id(run_id, case_id) if epoch == 0 else stable_id(run_id, case_id, epoch)


def save_sample(project: Project, run_id: str, case: Case, epoch: int, sample: Sample) -> None:
    """Store one finished play (a play already stored is kept as it is)."""
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_samples (id, run_id, case_id, epoch, status, reason, score, scores, transcript,"
            " rationale, details, case_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [sample_id(run_id, case.id, epoch), run_id, case.id, epoch, sample.status, sample.reason,
             sample.score if sample.status == "ok" else None, json.dumps(sample.scores),
             json.dumps(sample.transcript), sample.rationale, json.dumps(sample.details), case.model_dump_json()],
        )  # fmt: skip


def finish_run(project: Project, run_id: str, status: str) -> None:
    with project.store.transaction() as con:
        con.execute("UPDATE eval_runs SET status = ?, finished_at = current_timestamp WHERE id = ?", [status, run_id])


async def play_all(
    ctx: EvalContext, todo: list[tuple[Case, int]], play: PlayFunction, result: EvalRunResult,
    concurrency: int, progress: ProgressCallback | None,
) -> None:  # fmt: skip
    """Play (or judge) each (case, epoch) with `play`, storing each sample the moment it is finished."""
    limiter = asyncio.Semaphore(concurrency)
    gateway = ctx.gateway

    async def one(case: Case, epoch: int) -> None:
        async with limiter:
            if gateway.budget_exhausted:
                result.stopped_budget = True
                return
            try:
                sample = await play(ctx.for_epoch(epoch), case)
            except BatchDeferred:
                result.deferred += 1
                return
            if gateway.budget_exhausted:  # some of its calls may not have been sent
                result.stopped_budget = True
                return
            await gateway.flush()  # cache first: a stored sample always has its calls cached
            await asyncio.to_thread(save_sample, ctx.project, ctx.run_id, case, epoch, sample)
            result.finished_now += 1
            result.statuses[sample.status] = result.statuses.get(sample.status, 0) + 1
            if progress is not None:
                progress(ProgressUpdate(done=result.finished_now, total=len(todo), stage=f"eval.{ctx.suite}"))

    await asyncio.gather(*(one(case, epoch) for case, epoch in todo))


async def run_eval(
    project: Project, suite_name: str, model: str, *, arm: str = "target", traits_ref: str | None = None,
    cases_path: Path | None = None, limit: int | None = None, settings: dict[str, Any] | None = None,
    epochs: int | None = None, temperature: float | None = None, judges: tuple[str, ...] = (),
    concurrency: int = DEFAULT_CONCURRENCY, progress: ProgressCallback | None = None, batch: BatchMode = "off",
) -> EvalRunResult:  # fmt: skip
    """Run (or resume, or extend with more epochs) `suite_name` against `model`.

    Args:
        epochs: Plays per case (default: the suite's `epochs`).
        temperature: The target's temperature (default: the backend's for one epoch, else `DEFAULT_TEMPERATURE`).
        judges: Model specs of the judge panel (default: the project's `judge` role alone).
        batch: Batch mode for the judges' (and other roles') calls; the target always answers live.
            Plays waiting on a batch store nothing; the run ends `waiting`, and the same command
            again plays them on once the batch is collected.

    Raises:
        WorkbenchError: an unknown suite, bad cases, fewer than one epoch, or a suite that needs
            the traits and got none.
    """
    suite = get_suite(suite_name)
    epochs = suite.epochs if epochs is None else epochs
    if epochs < 1:
        raise WorkbenchError(f"--epochs must be at least 1, not {epochs}.")
    if temperature is None and epochs > 1:
        temperature = DEFAULT_TEMPERATURE
    cases, cases_hash = load_cases(project, suite, cases_path)
    cases = cases[:limit] if limit else cases
    version_id, traits_text, traits = _traits(project, traits_ref)
    settings = dict(settings or {})
    if temperature is not None:
        settings["temperature"] = temperature
    if judges:
        settings["judges"] = list(judges)
    values = {"suite": suite.name, "model": model, "arm": arm, "traits_version": version_id,
              "cases_hash": stable_id(cases_hash, limit), "settings": settings}  # fmt: skip
    run_id = stable_id("eval", *(json.dumps(values[k], sort_keys=True) for k in sorted(values)))
    done = start_run(project, run_id, values | {"epochs": epochs})
    todo = [(c, e) for e in range(epochs) for c in cases if (c.id, e) not in done]
    result = EvalRunResult(run_id, len(cases), 0, len(cases) * epochs - len(todo), False, epochs)

    def context(gateway: Gateway) -> EvalContext:
        return EvalContext(project, run_id, suite.name, model, arm, gateway, traits_text, traits, settings,
                           temperature=temperature, judges=judges)  # fmt: skip

    await play_run(project, run_id, f"eval.{suite.name}", context, todo, suite.run_case, result, concurrency,
                   progress, batch)  # fmt: skip
    return result


async def play_run(
    project: Project, run_id: str, stage: str, context: Callable[[Gateway], EvalContext],
    todo: list[tuple[Case, int]], play: PlayFunction, result: EvalRunResult, concurrency: int,
    progress: ProgressCallback | None, batch: BatchMode,
) -> None:  # fmt: skip
    """Play `todo` through one gateway and record how the run ended: failed, stopped_budget, waiting
    (plays wait on batches) or done. Batches that ended since the last run are collected first."""
    try:
        await collect_ready(project)
        async with Gateway(project, stage=stage, run_id=run_id, batch=batch) as gateway:
            await play_all(context(gateway), todo, play, result, concurrency, progress)
            result.batches = await gateway.submit_batches()
    except BaseException:
        finish_run(project, run_id, "failed")
        raise
    finish_run(project, run_id, "stopped_budget" if result.stopped_budget else "waiting" if result.deferred else "done")


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
