"""`workbench eval …`: run eval suites against any model, and compare the runs.

    workbench eval suites
    workbench eval run --suite knowledge --model hf:/ckpt --traits candid_care -p DIR
    workbench eval run --suite knowledge --model hf:Qwen/Qwen2.5-0.5B-Instruct --arm ceiling --traits candid_care
    workbench eval run --suite audit --model openai:my-model@http://127.0.0.1:8000/v1 --traits candid_care \\
        --set max_turns=5 --limit 20
    workbench eval run --suite odcv --model hf:/ckpt --epochs 5 --judge gemini:gemini-2.5-pro \\
        --judge gemini:gemini-2.5-flash
    workbench eval power RUN [RUN_B] ; workbench eval rejudge RUN --judge SPEC
    workbench eval agreement RUN ; workbench eval calibrate RUN --reference human_scores.csv
    workbench eval list -p DIR ; workbench eval show RUN [--case ID] -p DIR
    workbench eval compare RUN_A RUN_B --html compare.html -p DIR

The same `run` command again resumes the run: finished cases are kept, the rest are played.
Transcripts, case ids and judges' words are printed as `Text` with control characters escaped
(`workbench.textsafe.printable`): never read as markup, never obeyed by the terminal.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli import eval_io, eval_judges, eval_power, eval_rejudge
from workbench.cli.batch_options import (
    BatchExportOption,
    BatchOption,
    WaitOption,
    advance,
    batch_mode,
    print_waiting,
)
from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.evals.agreement import run_agreement
from workbench.evals.base import suites
from workbench.evals.report import Comparison, compare_runs, comparison_figure, list_runs, run_summary, samples
from workbench.evals.runner import parse_settings, run_eval
from workbench.evals.stats import Estimate
from workbench.evals.suites.capability_opponent import opponent_spec, recognise
from workbench.progress import RichProgress
from workbench.textsafe import plain, printable

app = typer.Typer(no_args_is_help=True)
app.command("import", epilog=eval_io.formats_help())(eval_io.import_)
app.command("export")(eval_io.export_)
app.command("import-log")(eval_io.import_log_)
app.command()(eval_power.power)
app.command()(eval_rejudge.rejudge)
app.command("agreement")(eval_judges.agreement)
app.command("calibrate")(eval_judges.calibrate)
RunArg = Annotated[str, typer.Argument(help="An eval run id (or prefix).")]


def _estimate(e: Estimate) -> str:
    if e.mean is None:
        return "–"
    interval = f" [{e.low:.3g}, {e.high:.3g}]" if e.low is not None and e.high is not None else ""
    return f"{e.mean:.3g}{interval} (n={e.n})"


@app.command("suites")
def list_suites() -> None:
    """The eval suites and what they measure."""
    table = Table("suite", "score", "better", "what it measures")
    for suite in sorted(suites().values(), key=lambda s: s.name):
        low, high = suite.score_range
        table.add_row(suite.name, f"{low:g}–{high:g}", "higher" if suite.higher_is_better else "lower",
                      Text(suite.description))  # fmt: skip
    console.print(table)


@app.command()
def run(
    suite: Annotated[str, typer.Option(help="The suite (`workbench eval suites`).")],
    model: Annotated[str, typer.Option(help="The target's model spec: gemini:…, openai:…@URL, hf:PATH.")],
    traits: Annotated[str | None, typer.Option(help="The traits document to judge against.")] = None,
    arm: Annotated[str, typer.Option(help="target, floor, or ceiling (the traits document in context).")] = "target",
    cases: Annotated[Path | None, typer.Option(help="A cases file instead of data/evals/SUITE.yaml.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="A suite setting, KEY=VALUE.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Plays per case (default: the suite's).")] = None,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, help="The target's temperature (default: 1.0 with several epochs).")
    ] = None,
    judge: Annotated[
        list[str] | None, typer.Option(help="A judge of the panel (repeatable; default: the `judge` role).")
    ] = None,
    batch: BatchOption = False,
    batch_export: BatchExportOption = False,
    wait: WaitOption = False,
    project: ProjectOption = None,
) -> None:
    """Run (or resume, or add epochs to) a suite against a model and print its summary.

    With --batch the judges answer through the provider's batch API; the target always answers live.
    """
    proj = open_project(project)
    mode = batch_mode(batch, batch_export, wait)
    settings = parse_settings(set_ or [])
    if suite == "capability":  # said before anything is paid for: the comparison may not be the one wanted
        opponent = recognise(proj, opponent_spec(proj, settings, target=model), target=model)
        if opponent.warning:
            console.print(plain(f"Warning: {opponent.warning}", "yellow"))

    async def go() -> None:
        with RichProgress(console) as progress:
            result = await advance(proj, mode, lambda batch: run_eval(
                proj, suite, model, arm=arm, traits_ref=traits, cases_path=cases, limit=limit, settings=settings,
                epochs=epochs, temperature=temperature, judges=tuple(judge or ()), progress=progress, batch=batch,
            ), lambda result: result.deferred)  # fmt: skip
        console.print(Text(f"Run {result.run_id}: {result.cases} cases × {result.epochs} epochs; "
                           f"{result.finished_now} play(s) now, {result.skipped} already done."))  # fmt: skip
        print_waiting(proj, result.deferred, result.batches)
        if result.stopped_budget:
            console.print(Text("Stopped at the budget cap; run the same command again to go on.", style="yellow"))
        _print_summaries([result.run_id], proj)

    asyncio.run(go())


def _print_summaries(run_ids: list[str], proj: Any) -> None:
    table = Table("run", "suite", "model", "arm", "score (95% CI)", "CI width", "cases × epochs", "ok", "invalid",
                  "judge failed", "tool protocol", "status")  # fmt: skip
    besides = []
    for run_id in run_ids:
        s = run_summary(proj, run_id)
        width = "–" if s.score.width is None else f"{s.score.width:.3g}"
        tools = "–" if s.tool_protocol_valid is None else f"{s.tool_protocol_valid:.0%} valid"
        counts = [str(s.counts.get(status, 0)) for status in ("ok", "invalid", "judge_failed")]
        table.add_row(s.run_id, s.suite, plain(s.model), s.arm, _estimate(s.score), width,
                      f"{s.score.clusters or 0} × {s.epochs}", *counts, tools, s.status)  # fmt: skip
        besides += [f"{s.run_id[:8]} {key}: {_estimate(value)}" for key, value in s.beside.items()]
        agreement = run_agreement(proj, s.run_id)
        if len(agreement.judges) >= 2:  # a panel: how far its judges can be trusted to agree
            found = f"{agreement.alpha:.3g}" if agreement.alpha is not None else f"none ({agreement.reason})"
            besides.append(f"{s.run_id[:8]} judges' agreement: α ({agreement.level}) = {found} over "
                           f"{agreement.units} plays, {len(agreement.judges)} judges")  # fmt: skip
    console.print(table)
    for line in besides:
        console.print(Text(line))


@app.command("list")
def list_(project: ProjectOption = None) -> None:
    """Eval runs, newest first, with their scores and counts."""
    proj = open_project(project)
    _print_summaries([s.run_id for s in list_runs(proj)], proj)


@app.command()
def show(
    run_id: RunArg,
    case: Annotated[str | None, typer.Option(help="Show this case's transcript in full.")] = None,
    epoch: Annotated[int, typer.Option(min=0, help="With --case: which play of the case (0 is the first).")] = 0,
    project: ProjectOption = None,
) -> None:
    """A run's samples (plays); with --case, one transcript with its scores and the judge's rationale."""
    proj = open_project(project)
    summary = run_summary(proj, run_id)
    found = samples(proj, summary.run_id)
    if case is None:
        table = Table("case", "epoch", "status", "score", "reason")
        for s in found:
            table.add_row(
                plain(s["case_id"]),
                str(s["epoch"]),
                s["status"],
                "" if s["score"] is None else f"{s['score']:.3g}",
                plain(s["reason"] or ""),
            )
        console.print(table)
        return
    chosen = next((s for s in found if s["case_id"] == case and s["epoch"] == epoch), None)
    if chosen is None:
        raise WorkbenchError(f"Run {summary.run_id} has no play {epoch} of case {case!r}.")
    for turn in chosen["transcript"]:
        role, content = printable(f"{turn.get('role', '?')}: "), printable(str(turn.get("content", "")))
        console.print(Text.assemble((role, "bold"), content))
    console.print(Text(f"\nscore {chosen['score']} ({chosen['status']}); scores {json.dumps(chosen['scores'])}"))
    console.print(plain(f"rationale: {chosen['rationale'] or chosen['reason'] or '–'}"))


@app.command()
def compare(
    run_a: RunArg,
    run_b: RunArg,
    html: Annotated[Path | None, typer.Option(help="Also write the per-case chart here.")] = None,
    project: ProjectOption = None,
) -> None:
    """Two runs of one suite, paired over the cases both scored."""
    proj = open_project(project)
    comparison: Comparison = compare_runs(proj, run_a, run_b)
    _print_summaries([comparison.a.run_id, comparison.b.run_id], proj)
    console.print(Text(f"A - B, paired over shared cases: {_estimate(comparison.difference)}"))
    if html is not None:
        comparison_figure(comparison).write_html(html, include_plotlyjs="cdn")
        console.print(Text(f"Wrote {html}"))
