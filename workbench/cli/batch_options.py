"""The batch options every stage command shares: `--batch`, `--batch-export`, `--wait`.

    mode = batch_mode(batch, batch_export, wait)
    report = await advance(proj, mode, lambda m: run_sft(..., batch=m), deferred=lambda r: steps_deferred(r.steps))
    print_waiting(proj, report.steps)

With `--batch` a stage's calls go to the provider's batch API and the command ends once it has
submitted them; the same command again collects what finished and goes on to the next step.
`--wait` does that itself: it polls the batches every `[batch] poll_s` seconds and runs the stage
again each time they are collected, until nothing waits.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

import typer
from rich.text import Text

from workbench.cli.common import console
from workbench.errors import WorkbenchError
from workbench.generate.steps import StepReport
from workbench.llm.batch import records
from workbench.llm.batch.collect import BatchReport, wait_for
from workbench.llm.batch.queue import BatchMode
from workbench.project import Project

R = TypeVar("R")

BatchOption = Annotated[
    bool,
    typer.Option(
        "--batch",
        help="Send the calls through the provider's batch API (half the price, answers within 24 h). The command "
        "ends once they are submitted; run it again (or add --wait) to collect them and go on.",
    ),
]
BatchExportOption = Annotated[
    bool,
    typer.Option(
        "--batch-export",
        help="Hold the calls for `workbench batch export` (OpenAI batch JSONL, e.g. for vLLM run-batch) "
        "instead of sending them; `workbench batch import` brings the answers back.",
    ),
]
WaitOption = Annotated[
    bool,
    typer.Option("--wait", help="With --batch: wait for each batch, collect it and go on until the run is done."),
]


@dataclass(frozen=True)
class BatchRun:
    """How a command runs its stage: the gateway's batch mode, and whether to wait for batches."""

    mode: BatchMode = "off"
    wait: bool = False


LIVE = BatchRun()
"""No batches: every call live."""


def batch_mode(batch: bool, export: bool = False, wait: bool = False) -> BatchRun:
    """The options as a `BatchRun`, refusing combinations that mean nothing."""
    if batch and export:
        raise WorkbenchError("Give --batch or --batch-export, not both.")
    if wait and not batch:
        raise WorkbenchError(
            "--wait waits on batches the provider runs, so it needs --batch.",
            hint="Exported batches come back with `workbench batch import FILE`.",
        )
    return BatchRun("submit" if batch else "export" if export else "off", wait)


async def advance(
    project: Project, run: BatchRun, go: Callable[[BatchMode], Awaitable[R]], deferred: Callable[[R], int]
) -> R:
    """Run the stage; with --wait, wait for its batches and run it again until nothing waits."""
    while True:
        result = await go(run.mode)
        waiting = [b.id for b in records.batches(project.store, open_only=True) if b.provider != "export"]
        if not (run.wait and deferred(result) and waiting):
            return result
        console.print(Text(f"Waiting on {len(waiting)} batch(es): {', '.join(waiting)}", style="cyan"))
        await wait_for(project, waiting, on_poll=_print_poll)


def steps_deferred(steps: Sequence[StepReport]) -> int:
    return sum(s.deferred for s in steps)


def print_waiting(proj: Project, deferred: int, batches: Sequence[str]) -> None:
    """Say which calls wait on batches and exactly what to run next."""
    if not deferred:
        return
    where = f"-p {shlex.quote(str(proj.root))}"
    submitted = f" Submitted now: {', '.join(batches)}." if batches else ""
    console.print(Text(f"{deferred} call(s) wait on batches.{submitted}", style="bold cyan"))
    exported = [b for b in records.batches(proj.store, open_only=True) if b.provider == "export"]
    for stage in sorted({b.stage for b in exported}):
        console.print(Text(f"  export them: workbench batch export {stage} --out {stage}.jsonl {where}"))
    if exported:
        console.print(Text(f"  then bring the answers back: workbench batch import output.jsonl {where}"))
    console.print(Text(f"  where they stand: workbench batch status {where}"))
    console.print(Text("  then run this same command again (or add --wait) to collect them and go on."))


def _print_poll(reports: list[BatchReport]) -> None:
    states = ", ".join(f"{r.batch_id} {r.state}" for r in reports)
    console.print(Text(f"  {states}", style="dim"))
