"""`workbench docs …`: midtraining documents from the command line.

    workbench docs run candid_care --pilot 1 -p DIR           # a pilot: 1 document per trait and type
    workbench docs plan candid_care --per-type 5 -p DIR       # what the full run would cost, from the pilot
    workbench docs run candid_care --per-type 5 -p DIR        # the full run (projection, then confirmation)
    workbench docs list --status needs_review -p DIR          # then `docs show ID`, `docs review …`
    workbench docs review accept --all-with-status needs_review --yes -p DIR
    workbench docs review edit 3f2a… --set text=@better.txt -p DIR
    workbench docs export out/ -p DIR                         # documents.jsonl, documents.parquet, manifest.json

Every run works on what is missing, so the same command again after a crash, a budget stop or
a round of review continues where things stand. Tables, projections and review targets are the
SFT command line's own (`cli/sft.py`, `cli/sft_review.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.batch_options import (
    BatchExportOption,
    BatchOption,
    WaitOption,
    advance,
    batch_mode,
    print_waiting,
    steps_deferred,
)
from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.project_cmds import print_identity
from workbench.cli.sft import (
    BudgetOption,
    RetryFailedOption,
    TraitsArg,
    announce_budget,
    exit_if_unanswered,
    print_awaiting,
    print_budget_stop,
    print_projection,
    print_steps,
)
from workbench.cli.sft_review import NoteOption, ReviewerOption, clip, parse_edits, print_reviewed, resolve_id, targets
from workbench.cli.sft_show import _field, _generation, _lineage_and_events, _rows
from workbench.errors import WorkbenchError
from workbench.generate.docs_export import export_docs
from workbench.generate.docs_pipeline import ROLES, project_docs_cost, run_docs
from workbench.progress import RichProgress
from workbench.review import ACTIONS, REVIEWABLE, default_reviewer, review, review_many

app = typer.Typer(no_args_is_help=True)
review_app = typer.Typer(no_args_is_help=True)
TABLE = "documents"

ChunkOption = Annotated[list[str] | None, typer.Option("--chunk", "-c", help="A trait (key, title or id prefix).")]
TypeOption = Annotated[list[str] | None, typer.Option("--type", "-t", help="A document type; default: all.")]
PerTypeOption = Annotated[
    int | None, typer.Option("--per-type", "-n", min=1, help="Documents per trait and type (default: docs.per_type).")
]


@app.command()
def run(
    traits: TraitsArg,
    chunk: ChunkOption = None,
    type_: TypeOption = None,
    per_type: PerTypeOption = None,
    pilot: Annotated[int | None, typer.Option(min=1, help="A pilot: K per trait and type, no projection.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; run without a projection if none.")] = False,
    budget: BudgetOption = None,
    retry_failed: RetryFailedOption = False,
    batch: BatchOption = False,
    batch_export: BatchExportOption = False,
    wait: WaitOption = False,
    project: ProjectOption = None,
) -> None:
    """Run every step: brainstorm, draft, critique, rewrite, rate, dedup."""
    proj = open_project(project)
    mode = batch_mode(batch, batch_export, wait)
    if pilot is not None and per_type is not None:
        raise WorkbenchError("Give --pilot K or --per-type N, not both.")
    print_identity(proj)
    count = pilot if pilot is not None else per_type
    if pilot is None:
        try:
            projection = project_docs_cost(proj, traits, chunk_keys=chunk, per_type=count, types=type_)
        except WorkbenchError:
            if not yes:
                raise
            console.print(Text("No pilot has been measured: running without a projection (--yes).", style="yellow"))
        else:
            print_projection(projection, "document slot(s)")
            if not yes:
                typer.confirm("Run it?", abort=True)

    async def go() -> None:
        with RichProgress(console) as progress:
            report = await advance(proj, mode, lambda batch: run_docs(
                proj, traits, chunk_keys=chunk, per_type=count, types=type_, progress=progress, budget_usd=budget,
                on_start=announce_budget(proj, ROLES), retry_failed=retry_failed, batch=batch,
            ), lambda report: steps_deferred(report.steps))  # fmt: skip
        print_steps(f"Documents run {report.run_id}", report.steps)
        print_waiting(proj, steps_deferred(report.steps), [b for s in report.steps for b in s.batches])
        print_awaiting(proj, report.awaiting_review, "document", "docs")
        print_budget_stop(proj, report.run_id, report.stopped_budget)
        exit_if_unanswered(report.steps)

    asyncio.run(go())


@app.command()
def plan(
    traits: TraitsArg,
    chunk: ChunkOption = None,
    type_: TypeOption = None,
    per_type: PerTypeOption = None,
    project: ProjectOption = None,
) -> None:
    """Project the calls, tokens and cost of a run from what the pilot measured; sends nothing."""
    proj = open_project(project)
    print_identity(proj)
    projection = project_docs_cost(proj, traits, chunk_keys=chunk, per_type=per_type, types=type_)
    print_projection(projection, "document slot(s)")


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only documents with this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    project: ProjectOption = None,
) -> None:
    """List documents: id, trait, type, slot, status, reason, the start of the text."""
    proj = open_project(project)
    with proj.store.connect() as con:
        rows = con.execute(
            "SELECT d.id, c.title, d.doc_type, d.slot, d.status, d.reason, d.text FROM documents d"
            " LEFT JOIN chunks c ON c.id = d.chunk_id WHERE ? IS NULL OR d.status = ?"
            " ORDER BY d.created_at, d.id LIMIT ?",
            [status, status, limit],
        ).fetchall()
    out = Table("id", "trait", "type", "slot", "status", "reason", "text")
    out.columns[0].no_wrap = True
    for item_id, title, doc_type, slot, row_status, reason, text in rows:
        out.add_row(*(Text(v) for v in (item_id, clip(title, 30), doc_type, str(slot), row_status,
                                        clip(reason, 50), clip(text, 70))))  # fmt: skip
    console.print(out if rows else Text("No documents" + (f" with status {status}." if status else " yet.")))


@app.command()
def show(
    item_id: Annotated[str, typer.Argument(help="A document id or unique prefix.")], project: ProjectOption = None
) -> None:
    """Show a document: its fields, its brainstorm, draft, critique and rewrite, and its review events."""
    proj = open_project(project)
    doc_id = resolve_id(proj, TABLE, item_id)
    with proj.store.connect() as con:
        doc = _rows(con, "SELECT * FROM documents WHERE id = ?", [doc_id])[0]
        console.print(Text(f"Document {doc_id}", style="bold"))
        for label in ("status", "reason", "doc_type", "slot", "attempt", "origin", "names", "note", "text"):
            _field(label, doc[label])
        lineage = [doc[c] for c in ("brainstorm_id", "draft_id", "critique_id", "rewrite_id") if doc[c]]
        generations = _rows(
            con,
            "SELECT id, step, model, status, reason, text, parsed, note FROM doc_generations"
            " WHERE id IN (SELECT unnest(?)) OR (subject_id = ? AND step = 'rating') ORDER BY created_at",
            [lineage, doc_id],
        )
        for g in generations:
            _generation(g)
        _lineage_and_events(con, TABLE, doc)


def _action_command(action: str) -> Callable[..., None]:
    def command(
        ids: Annotated[list[str] | None, typer.Argument(help="Document ids (or unique prefixes).")] = None,
        note: NoteOption = None,
        reviewer: ReviewerOption = None,
        all_with_status: Annotated[str | None, typer.Option("--all-with-status", help="Every document of it.")] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a bulk review.")] = False,
        project: ProjectOption = None,
    ) -> None:
        proj = open_project(project)
        chosen = targets(proj, TABLE, list(ids or []), all_with_status, action, yes)
        if chosen:
            batch = review_many(proj.store, TABLE, chosen, action, reviewer=reviewer or default_reviewer(), note=note)
            print_reviewed(proj, TABLE, action, chosen, batch.batch_id)

    command.__name__ = command.__qualname__ = f"review_{action}"
    return command


for _action in ACTIONS:
    if _action != "edit":
        review_app.command(name=_action, help=f"{_action.capitalize()} documents.")(_action_command(_action))


@review_app.command()
def edit(
    item_id: Annotated[str, typer.Argument(help="The document id (or a unique prefix).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="text=VALUE or text=@FILE.")] = None,
    note: NoteOption = None,
    reviewer: ReviewerOption = None,
    project: ProjectOption = None,
) -> None:
    """Edit a document: a new version (status ok) replaces it; the original is kept as superseded."""
    proj = open_project(project)
    edits = parse_edits(list(set_ or []), REVIEWABLE[TABLE].editable)
    original = resolve_id(proj, TABLE, item_id)
    new_id = review(
        proj.store, TABLE, original, "edit", reviewer=reviewer or default_reviewer(), note=note, edits=edits
    )
    console.print(Text(f"Edited document {original} → new document {new_id} (status ok); the original is superseded."))


app.add_typer(review_app, name="review", help="Accept, reject, annotate, send back or edit documents.")


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for documents.jsonl, documents.parquet, manifest.json.")],
    traits: Annotated[str | None, typer.Option("--traits", help="Only this traits version.")] = None,
    project: ProjectOption = None,
) -> None:
    """Write the accepted documents as a plain-text dataset with a manifest."""
    result = export_docs(open_project(project), out_dir, traits_ref=traits)
    for path in (result.jsonl_path, result.parquet_path, result.manifest_path):
        console.print(Text(str(path)))
    console.print(Text(f"{result.rows} document(s)."))
