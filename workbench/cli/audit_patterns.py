"""`workbench audit patterns|pattern|filter|export`: an audit's patterns, by hand, as filters.

    workbench audit patterns chats -p DIR
    workbench audit pattern add chats --name "Bottom line up front" --description "..." \\
        --broad "A verdict comes before the reasons." --strict "The first sentence is the verdict." -p DIR
    workbench audit pattern edit 3f2a --strict "..." -p DIR        # then `workbench audit rate chats`
    workbench audit filter chats -P "Opens with emotional validation" --level strict --out clean.jsonl -p DIR
    workbench audit export "chats without ..." out.jsonl -p DIR

Pattern names, descriptions and criteria may be a model's words: printed as `Text`, control
characters escaped (`workbench.textsafe.printable`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from workbench.audit.audits import get_audit
from workbench.audit.datasets import export_dataset
from workbench.audit.filters import Level, filter_dataset
from workbench.audit.funnel import no_patterns_line
from workbench.audit.lexical_rules import rule_json
from workbench.audit.patterns import Pattern, add_pattern, edit_pattern, list_patterns, remove_pattern
from workbench.audit.schemas import PatternKind
from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.sft import RetryFailedOption, print_steps
from workbench.progress import RichProgress
from workbench.textsafe import plain, printable

pattern_app = typer.Typer(no_args_is_help=True)

AuditArg = Annotated[str, typer.Argument(help="An audit: id, id prefix, or its dataset's name.")]
PatternArg = Annotated[str, typer.Argument(help="A pattern: id, id prefix or exact name.")]
NameOption = Annotated[str | None, typer.Option(help="A short name.")]
DescriptionOption = Annotated[str | None, typer.Option(help="What recurs, and what it is not.")]
BroadOption = Annotated[str | None, typer.Option(help="The criterion for 'loosely present'.")]
StrictOption = Annotated[str | None, typer.Option(help="The criterion for 'unambiguously present'.")]
KindOption = Annotated[PatternKind | None, typer.Option(help="structural, rhetorical or behavioural.")]


def print_pattern(pattern: Pattern) -> None:
    """One pattern with its criteria."""
    console.print(
        Text.assemble(
            (printable(pattern.name), "bold"),
            printable(f"  {pattern.id}  {pattern.kind}, {pattern.provenance}, {pattern.status}"),
        )
    )
    for label, value in (("description", pattern.description), ("broad", pattern.broad), ("strict", pattern.strict)):
        console.print(plain(f"  {label}: {value}"))
    if pattern.rule is not None:
        console.print(plain(f"  rule: {rule_json(pattern.rule)}"))


def register(app: typer.Typer) -> None:
    """Add `patterns`, `filter` and `export` to the `audit` command group."""
    app.command("patterns")(patterns)
    app.command("filter")(filter_)
    app.command("export")(export)


def patterns(
    audit: AuditArg,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed patterns.")] = False,
    project: ProjectOption = None,
) -> None:
    """List an audit's patterns with their broad and strict criteria."""
    proj = open_project(project)
    audit_id = get_audit(proj, audit).id
    found = list_patterns(proj, audit_id, include_removed=removed)
    for pattern in found:
        print_pattern(pattern)
    if not found:
        console.print(Text(no_patterns_line(proj, audit_id)))


@pattern_app.command("add")
def add(
    audit: AuditArg,
    name: Annotated[str, typer.Option(help="A short name.")],
    description: Annotated[str, typer.Option(help="What recurs, and what it is not.")],
    broad: Annotated[str, typer.Option(help="The criterion for 'loosely present'.")],
    strict: Annotated[str, typer.Option(help="The criterion for 'unambiguously present'.")],
    kind: Annotated[PatternKind, typer.Option(help="structural, rhetorical or behavioural.")] = "behavioural",
    project: ProjectOption = None,
) -> None:
    """Add a pattern by hand; `workbench audit rate AUDIT` then measures it."""
    print_pattern(add_pattern(open_project(project), audit, name, description, broad=broad, strict=strict, kind=kind))


@pattern_app.command("edit")
def edit(
    pattern: PatternArg,
    name: NameOption = None,
    description: DescriptionOption = None,
    broad: BroadOption = None,
    strict: StrictOption = None,
    kind: KindOption = None,
    project: ProjectOption = None,
) -> None:
    """Change a pattern's name, description, kind or criteria; the next rating run rates it afresh."""
    given = {"name": name, "description": description, "broad": broad, "strict": strict, "kind": kind}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise typer.BadParameter("Give at least one of --name, --description, --broad, --strict, --kind.")
    print_pattern(edit_pattern(open_project(project), pattern, **changes))


@pattern_app.command("remove")
def remove(pattern: PatternArg, project: ProjectOption = None) -> None:
    """Stop rating and reporting a pattern (it stays in the store, marked removed)."""
    print_pattern(remove_pattern(open_project(project), pattern))


def filter_(
    audit: AuditArg,
    pattern: Annotated[list[str], typer.Option("--pattern", "-P", help="A pattern to filter out (repeatable).")],
    level: Annotated[Level, typer.Option(help="strict: drop unambiguous cases; broad: drop any form.")] = "strict",
    name: Annotated[str | None, typer.Option(help="A name for the filtered dataset.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the filtered rows here as JSONL.")] = None,
    retry_failed: RetryFailedOption = False,
    project: ProjectOption = None,
) -> None:
    """Rate every row against the patterns and save the rows without them as a new, linked dataset."""
    proj = open_project(project)

    async def go() -> None:
        with RichProgress(console) as progress:
            result = await filter_dataset(
                proj, audit, pattern, level=level, name=name, progress=progress, retry_failed=retry_failed
            )
        print_steps("Filter", result.steps)
        d = result.dataset
        console.print(
            plain(f"Dataset {d.id} '{d.name}': kept {result.kept}, removed {result.removed} (parent {d.parent_id}).")
        )
        if out is not None:
            export_dataset(proj, d.id, out)
            console.print(Text(f"Wrote {out}"))

    asyncio.run(go())


def export(
    dataset: Annotated[str, typer.Argument(help="A dataset: name, id or id prefix.")],
    out: Annotated[Path, typer.Argument(help="The JSONL file to write.")],
    project: ProjectOption = None,
) -> None:
    """Write a dataset's rows, in their own format, as JSONL."""
    count = export_dataset(open_project(project), dataset, out)
    console.print(Text(f"Wrote {count} rows to {out}"))
