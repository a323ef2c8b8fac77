"""`workbench batch`: the batch jobs stages submitted with `--batch` or held with `--batch-export`.

    workbench batch list                      # every batch, newest first, as the store last saw it
    workbench batch status [ID …]             # ask the provider where each open batch stands
    workbench batch collect [ID …] [--wait]   # store the answers of the ended ones (priced at batch rates)
    workbench batch cancel ID …
    workbench batch export sft.scenario --out requests.jsonl
    workbench batch import output.jsonl

Collecting is also done by every stage command before it runs, so running the stage again is
enough; these commands are for looking, for waiting, and for batches run elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.llm.batch import collect as batch_collect
from workbench.llm.batch import records
from workbench.llm.batch.collect import BatchReport
from workbench.llm.batch.export import export_requests, import_results
from workbench.project import Project
from workbench.views.style import status_colour

app = typer.Typer(no_args_is_help=True)

IdsArg = Annotated[list[str] | None, typer.Argument(help="Batch ids (or the provider's ids); default: every open one.")]


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Also the collected and cancelled batches.")] = False,
    project: ProjectOption = None,
) -> None:
    """Every batch (the open ones unless --all), as the store last saw it; asks no provider."""
    proj = open_project(project)
    rows = records.batches(proj.store, open_only=not all_)
    if not rows:
        console.print(Text("No batches." if all_ else "No open batches (--all lists the collected ones too)."))
        return
    console.print(batch_table(rows))


@app.command()
def status(ids: IdsArg = None, project: ProjectOption = None) -> None:
    """Ask each provider where the open batches (or those named) stand; stores no answers."""
    proj = open_project(project)
    asyncio.run(batch_collect.refresh(proj, ids or (), collect=False))
    _print(proj, ids)


@app.command()
def collect(
    ids: IdsArg = None,
    wait: Annotated[bool, typer.Option("--wait", help="Poll until every one has ended, collecting each.")] = False,
    project: ProjectOption = None,
) -> None:
    """Store the answers of the batches that ended (with their ledger rows, at batch prices)."""
    proj = open_project(project)
    if wait:
        wanted = ids or [b.id for b in records.batches(proj.store, open_only=True) if b.provider != "export"]
        reports = asyncio.run(batch_collect.wait_for(proj, wanted, on_poll=_print_reports))
    else:
        reports = asyncio.run(batch_collect.refresh(proj, ids or ()))
    _print_reports(reports)
    _print(proj, [r.batch_id for r in reports])
    if any(r.collected for r in reports):
        console.print(Text("Run the stage's command again: it uses the collected answers and goes on."))


@app.command()
def cancel(
    ids: Annotated[list[str], typer.Argument(help="Batch ids to cancel.")], project: ProjectOption = None
) -> None:
    """Cancel batches. What the provider already answered is still collected, and paid for."""
    proj = open_project(project)
    _print_reports(asyncio.run(batch_collect.cancel(proj, ids)))
    _print(proj, ids)


@app.command("export")
def export(
    step: Annotated[str, typer.Argument(help="The stage its calls belong to (e.g. sft.scenario), or a batch id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The OpenAI batch JSONL file to write.")],
    project: ProjectOption = None,
) -> None:
    """Write the requests a `--batch-export` run held as OpenAI batch JSONL (the input of vLLM run-batch)."""
    proj = open_project(project)
    count = export_requests(proj, step, out)
    console.print(Text(f"{count} request(s) written to {out}."))
    console.print(Text(f"Run them, e.g. vllm run-batch -i {out} -o output.jsonl --model MODEL, then:"))
    console.print(Text(f"  workbench batch import output.jsonl -p {proj.root}"))


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="An OpenAI-style batch output file (OpenAI Batch API, vLLM run-batch).")],
    project: ProjectOption = None,
) -> None:
    """Store the answers of a batch run elsewhere; requests it has no answer for are asked again."""
    proj = open_project(project)
    report = import_results(proj, path)
    console.print(
        Text(
            f"Stored {report.answered} answer(s) and {report.failed} failure(s) for {len(report.batches)} batch(es)"
            f"{'' if not report.unmatched else f'; {report.unmatched} line(s) matched no waiting request'}."
        )
    )
    if report.batches:
        console.print(Text("Run the stage's command again: it uses the imported answers and goes on."))


def batch_table(rows: Sequence[records.BatchRow]) -> Table:
    """Batches as a table: where each stands and what it holds."""
    table = Table(title_justify="left")
    for column in (
        "batch",
        "provider",
        "model",
        "stage",
        "state",
        "requests",
        "answered",
        "failed",
        "created",
        "remote",
    ):
        table.add_column(column, justify="right" if column in ("requests", "answered", "failed") else "left")
    for b in rows:
        state = b.state + ("" if b.open else ", collected")
        table.add_row(
            b.id, b.provider, Text(b.model), Text(b.stage), Text(state, style=status_colour(b.state)),
            str(b.requests), _count(b.answered), _count(b.failed), f"{b.created_at:%Y-%m-%d %H:%M}",
            Text(b.remote_id or "–"),
        )  # fmt: skip
    return table


def _print(proj: Project, ids: Sequence[str] | None) -> None:
    rows = records.batches(proj.store, ids=ids or ()) if ids else records.batches(proj.store, open_only=True)
    console.print(batch_table(rows) if rows else Text("No open batches (`workbench batch list --all` lists them all)."))


def _print_reports(reports: list[BatchReport]) -> None:
    for r in reports:
        done = " (answers stored)" if r.collected else ""
        console.print(Text(f"{r.batch_id}: {r.state}{done}" + (f" – {r.detail}" if r.detail else "")))


def _count(value: int | None) -> str:
    return "–" if value is None else str(value)
