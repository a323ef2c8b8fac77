"""`workbench sft …`: the SFT and preference data pipeline from the command line.

    workbench sft run candid_care --pilot 2 -p DIR            # a pilot: 2 scenarios per trait, no projection
    workbench sft plan candid_care --scenarios 50 -p DIR      # what the full run would cost, from the pilot
    workbench sft run candid_care --scenarios 50 -p DIR       # the full run (projection, then confirmation)
    workbench sft critique candid_care -p DIR                 # one step alone (scenarios, critique, respond …)
    workbench sft list scenarios --status needs_review -p DIR # then `sft show ID`, `sft review …`
    workbench sft export out/ -p DIR                          # accepted examples as TRL chat / preference files

Every run works on what is missing, so running the same command again after a crash, a budget
stop or a round of review continues where things stand. Review, listing and lineage live in
`workbench/cli/sft_review.py`.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.budget import budget_line, budget_stop_message
from workbench.cli import sft_review
from workbench.cli.batch_options import (
    LIVE,
    BatchExportOption,
    BatchOption,
    BatchRun,
    WaitOption,
    advance,
    batch_mode,
    print_waiting,
    steps_deferred,
)
from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.generate.cost import CostProjection, project_sft_cost
from workbench.generate.export import export_sft
from workbench.generate.pipeline import ROLES, STEPS, SFTReport, run_sft
from workbench.generate.steps import StepReport, unanswered_problem
from workbench.progress import RichProgress
from workbench.project import Project
from workbench.runs import WorkBudget, work_budget

app = typer.Typer(no_args_is_help=True)

TraitsArg = Annotated[str, typer.Argument(help="Traits version: name, name@N or an id prefix.", show_default=False)]
ChunkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--chunk", "-c", help="A trait to work on (key, title or id prefix); repeat for several. Default: all traits."
    ),
]
ScenariosOption = Annotated[
    int | None,
    typer.Option(
        "--scenarios", "-n", min=1, help="Scenario slots per trait (default: the sft.scenarios_per_chunk setting)."
    ),
]
BudgetOption = Annotated[
    float | None,
    typer.Option(
        "--budget",
        min=0,
        metavar="USD",
        help="Cap in USD on this piece of work over all its runs; later runs of it keep this cap. "
        "Default: the cap an earlier run set, else [budget] max_cost_usd_per_run.",
    ),
]
RetryFailedOption = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Send again the calls earlier runs ended `failed` (bad request, auth, unknown model), "
        "e.g. once the key is fixed. Without it they are not paid for again.",
    ),
]

# One line of help per step command; the commands themselves are generated from STEPS below.
STEP_HELP = {
    "scenarios": "Fill the empty scenario slots (near-duplicates and sent-back scenarios are regenerated).",
    "critique": "Baseline answers and the critic's verdict on new scenarios, with revision rounds.",
    "respond": "Conditioned answers for approved scenarios and for sent-back examples.",
    "refine": "Refine the conditioned answers towards the trait, in a fresh context.",
    "reject": "Rejected answers and their check (only when the sft.preference setting is on).",
    "rate": "Assemble examples from refined answers and score them with the autorater.",
    "dedup": "Mark examples whose user prompt nearly repeats an earlier one.",
}


def announce_budget(proj: Project, roles: Sequence[str]) -> Callable[[WorkBudget], None]:
    """What a run calls before it sends anything: print its cap, the spend so far and the worst case."""
    return lambda budget: console.print(Text(budget_line(proj.config, budget, roles)))


def _run(
    proj: Project, traits: str, chunks: Sequence[str] | None, scenarios: int | None, steps: list[str] | None,
    budget: float | None = None, retry_failed: bool = False, batch: BatchRun = LIVE,
) -> SFTReport:  # fmt: skip
    """Run the pipeline (or some steps of it) with a progress bar per batch of model calls."""

    async def go() -> SFTReport:
        with RichProgress(console) as progress:
            return await advance(proj, batch, lambda mode: run_sft(
                proj, traits, chunk_keys=chunks or None, scenarios=scenarios, steps=steps, progress=progress,
                budget_usd=budget, on_start=announce_budget(proj, ROLES), retry_failed=retry_failed, batch=mode,
            ), lambda report: steps_deferred(report.steps))  # fmt: skip

    return asyncio.run(go())


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def _cap(budget: float | None) -> str:
    return "no cap" if budget is None else f"${budget:,.2f} per piece of work"


def projection_table(projection: CostProjection) -> Table:
    """The projection as a table: one row per ledger stage, then the totals."""
    table = Table(caption=f"Budget cap: {_cap(projection.budget_usd)}", caption_justify="left")
    table.add_column("stage")
    for column in ("calls", "tokens in", "tokens out", "cost (USD)"):
        table.add_column(column, justify="right")
    for s in projection.stages:
        table.add_row(s.stage, f"{s.calls:,.1f}", f"{s.tokens_in:,.0f}", f"{s.tokens_out:,.0f}", _usd(s.cost_usd))
    table.add_section()
    tokens_in = sum(s.tokens_in for s in projection.stages)
    tokens_out = sum(s.tokens_out for s in projection.stages)
    table.add_row(
        "total", f"{projection.calls:,.1f}", f"{tokens_in:,.0f}", f"{tokens_out:,.0f}", _usd(projection.cost_usd)
    )
    return table


def print_projection(projection: CostProjection, slots: str = "scenario slot(s)") -> None:
    """Print the projection, warning when it is over the per-run cap (the run would stop there)."""
    console.print(
        Text(
            f"Projection: {projection.remaining_slots} {slots} to fill, "
            f"from per-slot averages over the {projection.measured_slots} measured so far."
        )
    )
    console.print(projection_table(projection))
    if projection.largest_call is not None:
        big = projection.largest_call
        trait = f"trait {big.trait!r}" if big.trait else "any trait"
        console.print(Text(f"Largest call: ~{big.tokens_in:,.0f} input tokens ({big.stage}, {trait})."))
    print_outliers(projection)
    if projection.unmeasured:
        console.print(
            Text(
                f"Not measured yet, so not in the totals: {', '.join(projection.unmeasured)}. The pilot stopped "
                "before them (at the human gate?): review its scenarios and run the pilot again for a full figure.",
                style="yellow",
            )
        )
    cost, cap = projection.cost_usd, projection.budget_usd
    if cost is not None and cap is not None and cost > cap:
        console.print(
            Text(
                f"The projected cost is over the cap: the run will stop cleanly at {_cap(cap)}, counted over all "
                "runs of this work; to go on, run it again with a higher --budget.",
                style="yellow",
            )
        )


def print_outliers(projection: CostProjection) -> None:
    """Warn about rows far longer than the median, or over the row cap, and what share of the tokens they are."""
    for o in projection.outliers:
        parts = []
        if o.outliers:
            parts.append(f"{o.outliers} of {o.rows} are over {o.factor:g}x the median ({o.median:,.0f} {o.unit})")
        if o.over_cap:
            parts.append(
                f"{o.over_cap} are over the {o.cap:,}-character cap ([limits] max_row_chars), so never sent whole"
            )
        console.print(
            Text(
                f"Outliers in the {o.what}: {'; '.join(parts)}. The longest, {o.longest_id}, is {o.longest:,} "
                f"{o.unit}. They are {o.share:.0%} of the projected input tokens.",
                style="yellow",
            )
        )


def print_awaiting(proj: Project, count: int, noun: str, command: str, kind: str = "") -> None:
    """Say how many rows wait for review, with commands that work as printed to list them and accept them all.

    Args:
        proj: The project (its folder goes into the commands).
        count: Rows awaiting review; nothing is printed for 0.
        noun: What they are, singular ("example").
        command: The command group ("sft", "docs").
        kind: The KIND argument its list and review commands take ("examples"), if any.
    """
    if not count:
        return
    where = f"-p {shlex.quote(str(proj.root))}"
    kind = f" {kind}" if kind else ""
    console.print(Text(f"{count} {noun}{'' if count == 1 else 's'} awaiting review: "
                       f"workbench {command} list{kind} --status needs_review {where}"))  # fmt: skip
    # --yes: the bulk review asks first, and a copied command must also work where nobody can answer.
    console.print(Text(f"  accept them all: workbench {command} review accept{kind} --all-with-status needs_review "
                       f"--yes {where}"))  # fmt: skip


def _next_steps(proj: Project, report: SFTReport) -> None:
    print_awaiting(proj, report.scenarios_awaiting_review, "scenario", "sft", "scenarios")
    print_awaiting(proj, report.examples_awaiting_review, "example", "sft", "examples")


def print_steps(title: str, steps: Sequence[StepReport]) -> None:
    """One row per step pass: jobs, fresh calls, rows written by status."""
    table = Table(title=title, title_justify="left")
    table.add_column("step")
    table.add_column("jobs", justify="right")
    table.add_column("fresh calls", justify="right")
    table.add_column("rows by status")
    for step in steps:
        written = ", ".join(f"{status} {n}" for status, n in sorted(step.written.items())) or "–"
        table.add_row(step.step, str(step.jobs), str(step.fresh_calls), Text(written))
    console.print(table if steps else Text("Nothing to do: every selected step is up to date."))


def print_budget_stop(proj: Project, run_id: str, stopped: bool) -> None:
    """Say so when the budget cap stopped the run: the work, its spend and cap, and how to go on."""
    if stopped:
        console.print(Text(budget_stop_message(work_budget(proj.store, run_id)), style="bold yellow"))


def exit_if_unanswered(steps: Sequence[StepReport]) -> None:
    """End the command with status 1 and one line of why: calls failed for good, none answered, or some incomplete."""
    problem = unanswered_problem(steps)
    if problem:
        console.print(Text(problem, style="bold red"))
        raise typer.Exit(1)


def print_report(proj: Project, report: SFTReport) -> None:
    """What each step did, what waits for a person, whether the budget stopped the run, and whether it failed."""
    print_steps(f"SFT run {report.run_id}", report.steps)
    print_waiting(proj, steps_deferred(report.steps), [b for s in report.steps for b in s.batches])
    _next_steps(proj, report)
    print_budget_stop(proj, report.run_id, report.stopped_budget)
    exit_if_unanswered(report.steps)


@app.command()
def run(
    traits: TraitsArg,
    chunk: ChunkOption = None,
    scenarios: ScenariosOption = None,
    pilot: Annotated[
        int | None, typer.Option(min=1, help="A pilot: K scenarios per trait, no projection or confirmation.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; run without a projection if none.")] = False,
    budget: BudgetOption = None,
    retry_failed: RetryFailedOption = False,
    batch: BatchOption = False,
    batch_export: BatchExportOption = False,
    wait: WaitOption = False,
    project: ProjectOption = None,
) -> None:
    """Run every step: scenarios, critique, respond, refine, reject, rate, dedup."""
    proj = open_project(project)
    if pilot is not None and scenarios is not None:
        raise WorkbenchError("Give --pilot K or --scenarios N, not both.", hint="A pilot's K is its scenarios.")
    if pilot is None:
        _confirm_full_run(proj, traits, chunk, scenarios, yes)
    mode = batch_mode(batch, batch_export, wait)
    report = _run(proj, traits, chunk, pilot if pilot is not None else scenarios, None, budget, retry_failed, mode)
    print_report(proj, report)


def _confirm_full_run(
    proj: Project, traits: str, chunk: Sequence[str] | None, scenarios: int | None, yes: bool
) -> None:
    """Show what a full run would cost, then ask (unless --yes)."""
    try:
        projection = project_sft_cost(proj, traits, chunk_keys=chunk or None, scenarios=scenarios)
    except WorkbenchError:
        if not yes:
            raise
        console.print(Text("No pilot has been measured: running without a cost projection (--yes).", style="yellow"))
        return
    print_projection(projection)
    if not yes:
        typer.confirm("Run it?", abort=True)


@app.command()
def plan(
    traits: TraitsArg, chunk: ChunkOption = None, scenarios: ScenariosOption = None, project: ProjectOption = None
) -> None:
    """Project the calls, tokens and cost of a run from what the pilot measured; sends nothing."""
    proj = open_project(project)
    print_projection(project_sft_cost(proj, traits, chunk_keys=chunk or None, scenarios=scenarios))


def _step_command(step: str) -> Callable[..., None]:
    """A command that runs the one pipeline step `step` (the same body for every step)."""

    def command(
        traits: TraitsArg, chunk: ChunkOption = None, scenarios: ScenariosOption = None,
        retry_failed: RetryFailedOption = False, batch: BatchOption = False, batch_export: BatchExportOption = False,
        wait: WaitOption = False, project: ProjectOption = None,
    ) -> None:  # fmt: skip
        proj = open_project(project)
        mode = batch_mode(batch, batch_export, wait)
        print_report(proj, _run(proj, traits, chunk, scenarios, [step], retry_failed=retry_failed, batch=mode))

    command.__name__ = command.__qualname__ = f"step_{step}"
    return command


for _step in STEPS:
    app.command(name=_step, help=STEP_HELP.get(_step, f"Run the {_step} step alone."))(_step_command(_step))


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for chat.jsonl, preference.jsonl and manifest.json.")],
    traits: Annotated[
        str | None, typer.Option("--traits", help="Only this traits version (name, name@N or id prefix).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Write the accepted examples as TRL conversational files (no system prompt)."""
    result = export_sft(open_project(project), out_dir, traits_ref=traits)
    for label, path, rows in (
        ("chat", result.chat_path, result.chat_rows),
        ("preference", result.preference_path, result.preference_rows),
    ):
        console.print(Text(f"{label + ':':<12}{path} ({rows} row{'' if rows == 1 else 's'})"))
    console.print(Text(f"{'manifest:':<12}{result.manifest_path}"))


# Registered last so that `workbench sft --help` lists the pipeline commands first.
app.command("list")(sft_review.list_)
app.command()(sft_review.show)
app.add_typer(
    sft_review.review_app, name="review", help="Accept, reject, annotate, send back or edit scenarios and examples."
)
