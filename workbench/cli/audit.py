"""`workbench audit …`: find over-represented superficial patterns in a whole dataset.

    workbench audit import chats.jsonl --name chats -p DIR      # or: workbench audit snapshot sft -p DIR
    workbench audit import qa.json --map user=question --map assistant=answer.text -p DIR
    workbench audit plan chats -p DIR                           # projected calls, tokens, cost
    workbench audit run chats -p DIR                            # scan, cluster, rate; prints prevalence
    workbench audit run chats --until cluster -p DIR            # stop to edit criteria, then `audit rate`
    workbench audit lexical chats --reference baseline -p DIR   # ranked openers, closers, n-grams (free)
    workbench audit run chats --scanner lexical --reference baseline -p DIR   # as patterns, rated: no calls
    workbench audit run chats --scanner both -p DIR             # lexical and LLM patterns in one report
    workbench audit patterns chats -p DIR                       # criteria; `audit pattern add|edit|remove`
    workbench audit report chats --by-group -p DIR
    workbench audit filter chats -P "Opens with validation" --level strict --out clean.jsonl -p DIR

A dataset or audit is named by its name, id or id prefix; an audit also by its dataset's name
(the newest audit of it). Every run does only what is missing, so the same command after a
crash, a budget stop or an edit of the criteria continues where things stand.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.audit.audits import list_audits
from workbench.audit.cost import plan_audit
from workbench.audit.datasets import StoreSource, get_dataset, list_datasets, snapshot_store
from workbench.audit.formats import Format
from workbench.audit.funnel import candidate_funnel, no_patterns_line
from workbench.audit.imports import import_file
from workbench.audit.lexical import finding_table, lexical_findings
from workbench.audit.mapping import ROLES as MAP_ROLES
from workbench.audit.mapping import parse_map
from workbench.audit.prevalence import AuditReport, Proportion, audit_report
from workbench.audit.run import ROLES, STEPS, Scanner, run_audit
from workbench.cli import audit_patterns
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
from workbench.cli.sft import (
    BudgetOption,
    RetryFailedOption,
    announce_budget,
    exit_if_unanswered,
    print_budget_stop,
    print_outliers,
    print_steps,
    projection_table,
)
from workbench.progress import RichProgress
from workbench.project import Project
from workbench.textsafe import plain

app = typer.Typer(no_args_is_help=True)
app.add_typer(audit_patterns.pattern_app, name="pattern", help="Add, edit or remove a pattern by hand.")
audit_patterns.register(app)

DatasetArg = Annotated[str, typer.Argument(help="A dataset: name, id or id prefix.")]
AuditArg = Annotated[str, typer.Argument(help="An audit: id, id prefix, or its dataset's name.")]


@app.command("import")
def import_(
    path: Annotated[
        str,
        typer.Argument(help="JSONL, a JSON array, CSV, Parquet, a save_to_disk folder, or a Hugging Face name."),
    ],
    name: Annotated[str | None, typer.Option(help="A name for the dataset (default: the file's stem).")] = None,
    format: Annotated[Format | None, typer.Option(help="The rows' format (default: detected).")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Where a part of each row is, ROLE=PATH (e.g. assistant=answer.text), repeatable; "
            f"roles: {', '.join(MAP_ROLES)}.",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="The split of a Hugging Face name or a saved DatasetDict.")] = "train",
    project: ProjectOption = None,
) -> None:
    """Import a dataset; every row is checked first, and a bad file imports nothing."""
    column_map = parse_map(map_ or [])
    dataset = import_file(open_project(project), path, name=name, format=format, column_map=column_map, split=split)
    console.print(plain(f"Dataset {dataset.id} '{dataset.name}': {dataset.row_count} {dataset.format} rows."))


@app.command()
def snapshot(
    source: Annotated[StoreSource, typer.Argument(help="sft, preference or documents: their accepted rows.")],
    traits: Annotated[str | None, typer.Option(help="Only this traits version (name or id).")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the dataset (default: the source).")] = None,
    project: ProjectOption = None,
) -> None:
    """Freeze the store's accepted SFT examples, preference pairs or documents as a dataset to audit."""
    dataset = snapshot_store(open_project(project), source, traits_ref=traits, name=name)
    console.print(plain(f"Dataset {dataset.id} '{dataset.name}': {dataset.row_count} {dataset.format} rows."))


@app.command()
def datasets(project: ProjectOption = None) -> None:
    """List the datasets to audit, newest first."""
    table = Table("id", "name", "source", "format", "rows", "parent", "created")
    for d in list_datasets(open_project(project)):
        table.add_row(
            d.id,
            plain(d.name),
            d.source,
            d.format,
            str(d.row_count),
            d.parent_id or "–",
            f"{d.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command("list")
def list_(project: ProjectOption = None) -> None:
    """List the audits, newest first."""
    proj = open_project(project)
    table = Table("audit", "dataset", "scans", "sample", "created")
    for a in list_audits(proj):
        dataset = get_dataset(proj, a.dataset_id)
        table.add_row(a.id, plain(dataset.name), str(a.settings.get("scans")), str(a.settings.get("sample_size")),
                      f"{a.created_at:%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)


@app.command()
def plan(
    dataset: DatasetArg,
    patterns: Annotated[int, typer.Option(min=1, help="Patterns you expect the audit to rate.")] = 10,
    project: ProjectOption = None,
) -> None:
    """Project an audit's calls, tokens and cost before running it."""
    print_plan(open_project(project), dataset, patterns)


def print_plan(proj: Project, dataset: str, patterns: int) -> None:
    projection = plan_audit(proj, dataset, patterns=patterns)
    console.print(Text(f"Projection: {projection.rows} rows, {projection.sample} rated against {patterns} patterns."))
    console.print(projection_table(projection.cost))
    print_outliers(projection.cost)
    if projection.assumptions:
        console.print(Text("Assumed, not measured: " + "; ".join(projection.assumptions) + ".", style="yellow"))


ScannerOption = Annotated[
    Scanner,
    typer.Option(help="llm: scan and cluster with the rater (calls); lexical: count openers, closers, n-grams "
                 "and structure exactly (no calls); both: both kinds of pattern in one report."),
]  # fmt: skip
ReferenceOption = Annotated[
    str | None,
    typer.Option(help="Lexical scanner: a dataset to compare against (e.g. the baseline data); phrases "
                 "common in both score low. Default: rank by document frequency."),
]  # fmt: skip


@app.command()
def lexical(dataset: DatasetArg, reference: ReferenceOption = None, project: ProjectOption = None) -> None:
    """Show the lexical scanner's ranked findings for a dataset (no model call; nothing is saved)."""
    findings = finding_table(lexical_findings(open_project(project), dataset, reference=reference))
    title = f"Over-represented in '{dataset}'" + (f" against '{reference}'" if reference else "")
    table = Table("kind", "finding", "rows", "share", "reference", "score", title=plain(title), title_justify="left")
    for f in findings:
        ref = "–" if f["reference share"] is None else f"{f['reference rows']} ({f['reference share']:.1%})"
        table.add_row(f["kind"], plain(f["finding"]), str(f["rows"]), f"{f['share']:.1%}", ref, f"{f['score']:.3g}")
    console.print(table if findings else Text("Nothing over-represented passes the thresholds."))


@app.command()
def run(
    dataset: DatasetArg,
    until: Annotated[str, typer.Option(help="The last step to run: lexical, scan, cluster or rate.")] = "rate",
    scanner: ScannerOption = "llm",
    reference: ReferenceOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not show the projection and ask.")] = False,
    budget: BudgetOption = None,
    retry_failed: RetryFailedOption = False,
    batch: BatchOption = False,
    batch_export: BatchExportOption = False,
    wait: WaitOption = False,
    project: ProjectOption = None,
) -> None:
    """Find patterns in a dataset (or resume its audit), rate them on its sample, print each one's prevalence.

    The llm scanner scans and clusters with the rater; the lexical one counts phrases and structure in the
    store with no model call (and needs no model or key); both puts both kinds of pattern in the same audit.
    """
    proj = open_project(project)
    mode = batch_mode(batch, batch_export, wait)
    names = list(STEPS)
    steps = names[: names.index(until) + 1] if until in names else [until]
    if not yes and scanner != "lexical":
        print_plan(proj, dataset, 10)
        typer.confirm("Run it?", abort=True)
    _run(proj, dataset, steps, new=True, scanner=scanner, reference=reference, budget=budget, retry_failed=retry_failed,
         batch=mode)  # fmt: skip


@app.command()
def rate(
    audit: AuditArg, retry_failed: RetryFailedOption = False, batch: BatchOption = False,
    batch_export: BatchExportOption = False, wait: WaitOption = False, project: ProjectOption = None,
) -> None:  # fmt: skip
    """Rate the audit's sample against every active pattern not yet rated under its current criteria."""
    mode = batch_mode(batch, batch_export, wait)
    _run(open_project(project), audit, ["rate"], new=False, retry_failed=retry_failed, batch=mode)


def _run(proj: Project, ref: str, steps: list[str], *, new: bool, scanner: Scanner = "llm",
         reference: str | None = None, budget: float | None = None, retry_failed: bool = False,
         batch: BatchRun = LIVE) -> None:  # fmt: skip
    async def go() -> None:
        with RichProgress(console) as progress:
            result = await advance(proj, batch, lambda mode: run_audit(
                proj, ref, steps=steps, new=new, progress=progress, scanner=scanner, reference=reference,
                budget_usd=budget, on_start=announce_budget(proj, ROLES), retry_failed=retry_failed, batch=mode,
            ), lambda result: steps_deferred(result.steps))  # fmt: skip
        print_steps(f"Audit {result.audit_id}, run {result.run_id}", result.steps)
        print_waiting(proj, steps_deferred(result.steps), [b for s in result.steps for b in s.batches])
        print_report(proj, result.report, by_group=False)
        print_budget_stop(proj, result.run_id, result.stopped_budget)
        exit_if_unanswered(result.steps)

    asyncio.run(go())


@app.command()
def report(
    audit: AuditArg,
    by_group: Annotated[bool, typer.Option("--by-group", help="Also break prevalence down by group (trait).")] = False,
    project: ProjectOption = None,
) -> None:
    """Each pattern's prevalence on the audit's sample: broad and strict, with 95% Wilson intervals."""
    proj = open_project(project)
    print_report(proj, audit_report(proj, audit), by_group=by_group)


def _proportion(p: Proportion) -> str:
    if p.rate is None:
        return "–"
    return f"{p.rate:.0%} [{p.low:.0%}, {p.high:.0%}]  {p.k}/{p.n}"


def print_report(proj: Project, report: AuditReport, *, by_group: bool) -> None:
    """The prevalence table (and, with `by_group`, one row per group under each pattern), then what the scans found."""
    table = Table(title=plain(f"Audit {report.audit_id} of '{report.dataset.name}', sample of {report.sample_size}"),
                  title_justify="left")  # fmt: skip
    for column in ("pattern", "kind", "found by", "broad", "strict", "unrated"):
        table.add_column(column)
    for p in report.patterns:
        table.add_row(plain(p.pattern.name), p.pattern.kind, p.pattern.found_by, _proportion(p.broad),
                      _proportion(p.strict), str(p.unrated or ""))  # fmt: skip
        if by_group:
            for group, g in p.by_group.items():
                table.add_row(plain(f"  {group}", style="dim"), "", "", _proportion(g.broad), _proportion(g.strict), "")
    if report.patterns:
        console.print(table)
        funnel = candidate_funnel(proj, report.audit_id).summary()  # None: no LLM scan has run
        if funnel:
            console.print(Text(funnel))
    else:
        console.print(Text(no_patterns_line(proj, report.audit_id)))
