"""`workbench traits …`: add versions of a traits document, list them, show one, diff two.

Document text is user input: it reaches the terminal only as `rich.text.Text`, so a title like
"[red]x" prints as written instead of being read as console markup, and with its control
characters escaped (`workbench.textsafe`), so an escape sequence in it is shown, not obeyed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.store.traits import (
    TraitsVersion,
    add_traits_file,
    diff_refs,
    get_version,
    list_versions,
    version_chunks,
)
from workbench.textsafe import plain, printable
from workbench.traits import Chunk

app = typer.Typer(no_args_is_help=True)


def _version_label(v: TraitsVersion) -> Text:
    return Text.assemble((printable(v.ref), "bold"), f" ({v.id})")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _print_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        console.print(Text.assemble(("warning: ", "yellow"), printable(warning)))


@app.command()
def add(
    file: Annotated[Path, typer.Argument(help="Markdown traits document.", show_default=False)],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Document name (default: file stem).")] = None,
    project: ProjectOption = None,
) -> None:
    """Store FILE as a new version of its traits document (nothing if the text is unchanged)."""
    store = open_project(project).store
    result = add_traits_file(store, file, name=name)
    _print_warnings(result.parsed.warnings)
    if not result.created:
        console.print(Text.assemble("unchanged: identical to ", _version_label(result.version)))
        latest = list_versions(store, result.version.document)[-1]
        if latest.id != result.version.id:
            # Versions are content-addressed, so a reverted file maps to its old version.
            console.print(
                plain(
                    f"note: the latest version of {latest.document} is {latest.ref}; refer to "
                    f"{result.version.ref} to use this text."
                )
            )
        return
    parsed = result.parsed
    console.print(Text.assemble("added ", _version_label(result.version)))
    counts = f"{_plural(parsed.count('trait'), 'trait')}, {_plural(parsed.count('guidance'), 'guidance chunk')}"
    console.print(Text(counts))


@app.command("list")
def list_(project: ProjectOption = None) -> None:
    """List traits documents and their versions."""
    versions = list_versions(open_project(project).store)
    if not versions:
        console.print("No traits documents yet. Add one with `workbench traits add FILE`.", markup=False)
        return
    table = Table("version", "id", "title", "chunks", "created", "source")
    for column in table.columns[:2] + table.columns[3:5]:
        column.no_wrap = True  # refs and ids are copied into other commands: keep them whole
    for v in versions:
        table.add_row(
            plain(v.ref),
            Text(v.id),
            plain(v.title or ""),
            Text(str(v.chunk_count)),
            Text(f"{v.created_at:%Y-%m-%d %H:%M}"),
            plain(v.source_path or ""),
        )
    console.print(table)


def _chunk_table(chunks: list[Chunk]) -> Table:
    table = Table("#", "kind", "key", "title", "line")
    table.columns[2].overflow = "fold"  # keys are identifiers: fold, never truncate
    table.columns[2].ratio = 1
    table.columns[3].ratio = 1
    for c in chunks:
        table.add_row(Text(str(c.position)), Text(c.kind), plain(c.key), plain(c.title), Text(str(c.line)))
    return table


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="name, name@N or an id prefix.", show_default=False)],
    text: Annotated[bool, typer.Option("--text", help="Print each chunk's full text.")] = False,
    project: ProjectOption = None,
) -> None:
    """Show the chunks of one version."""
    store = open_project(project).store
    version = get_version(store, ref)
    chunks = version_chunks(store, version.id)
    console.print(Text.assemble(_version_label(version), printable(f"  {version.title or ''}")))
    if not text:
        console.print(_chunk_table(chunks))
        return
    for c in chunks:
        where = " > ".join(c.heading_path)
        header = f"\n#{c.position} {c.kind} {c.key} (line {c.line}{', ' + where if where else ''})"
        console.print(plain(header, style="bold"))
        console.print(plain(c.text))


def _print_section(label: str, rows: list[tuple[str, str]], style: str) -> None:
    console.print(Text(f"{label}: {len(rows)}", style=style))
    for key, title in rows:
        console.print(Text.assemble("  ", (printable(key), style), printable(f"  {title}")))


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="Old version ref.", show_default=False)],
    b: Annotated[str, typer.Argument(help="New version ref.", show_default=False)],
    project: ProjectOption = None,
) -> None:
    """Compare two versions chunk by chunk."""
    old, new, result = diff_refs(open_project(project).store, a, b)
    console.print(Text.assemble(_version_label(old), " -> ", _version_label(new)))
    _print_section("added", [(c.key, c.title) for c in result.added], "green")
    _print_section("removed", [(c.key, c.title) for c in result.removed], "red")
    _print_section("changed", [(c.key, c.new.title) for c in result.changed], "yellow")
    console.print(Text(f"unchanged: {result.unchanged_count}"))
