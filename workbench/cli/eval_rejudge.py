"""`workbench eval rejudge RUN --judge SPEC`: score a run's transcripts again, without replaying the target.

    workbench eval rejudge 3f2a --judge gemini:gemini-2.5-pro --judge openai:gpt-4.1@https://api.openai.com/v1 -p DIR
    workbench eval compare NEW_RUN 3f2a -p DIR      # what the judges changed, on the same transcripts

Registered on `workbench eval` by `workbench/cli/evals.py`; the method is in `workbench/evals/rejudge.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from workbench.cli.batch_options import (
    BatchExportOption,
    BatchOption,
    WaitOption,
    advance,
    batch_mode,
    print_waiting,
)
from workbench.cli.common import ProjectOption, console, open_project
from workbench.evals.rejudge import rejudge_run
from workbench.progress import RichProgress


def rejudge(
    run_id: Annotated[str, typer.Argument(help="The eval run whose transcripts to judge again (id or prefix).")],
    judge: Annotated[list[str], typer.Option(help="A judge of the new panel, a model spec (repeatable).")],
    cases: Annotated[
        Path | None, typer.Option(help="The run's cases file (only for runs older than the stored cases).")
    ] = None,
    batch: BatchOption = False,
    batch_export: BatchExportOption = False,
    wait: WaitOption = False,
    project: ProjectOption = None,
) -> None:
    """Judge a run's stored transcripts again with other judges, as a new run linked to it."""
    proj = open_project(project)
    mode = batch_mode(batch, batch_export, wait)

    async def go() -> None:
        with RichProgress(console) as progress:
            result = await advance(proj, mode, lambda batch: rejudge_run(
                proj, run_id, judges=tuple(judge), cases_path=cases, progress=progress, batch=batch
            ), lambda result: result.deferred)  # fmt: skip
        console.print(Text(f"Run {result.run_id} (re-judged from {run_id}): {result.finished_now} play(s) judged "
                           f"now, {result.skipped} already done."))  # fmt: skip
        print_waiting(proj, result.deferred, result.batches)
        console.print(Text(f"Compare them: workbench eval compare {result.run_id} {run_id}"))

    asyncio.run(go())
