"""`workbench traits …`: add versions of a traits document, list them, show one, diff two.

Document text is user input: it reaches the terminal only as `rich.text.Text`, so a title like
"[red]x" prints as written instead of being read as console markup, and with its control
characters escaped (`workbench.textsafe`), so an escape sequence in it is shown, not obeyed.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.config import traits_variables
from workbench.errors import WorkbenchError
from workbench.store.traits import (
    TraitsVersion,
    add_traits_file,
    diff_refs,
    get_version,
    list_versions,
    version_chunks,
)
from workbench.textsafe import plain, printable
from workbench.traits import CHUNK_KINDS, FORMATS, Chunk, ReadOptions, read_traits_file
from workbench.views.traits_preview import (
    ChunkSummary,
    PreviewRow,
    TraitsPreview,
    chunk_summary,
    filter_chunks,
    page_of,
    traits_preview,
)

app = typer.Typer(no_args_is_help=True)
PER_PAGE = 40  # chunks `show` lists a page: a screenful, with the summary above it


def _version_label(v: TraitsVersion) -> Text:
    return Text.assemble((printable(v.ref), "bold"), f" ({v.id})")


def _print_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        console.print(Text.assemble(("warning: ", "yellow"), printable(warning)))


@app.command()
def add(
    file: Annotated[
        Path, typer.Argument(help="Traits document, in any shape listed under --format.", show_default=False)
    ],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Document name (default: file stem).")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help=f"Read it as {' | '.join(FORMATS)} (default: detected).")
    ] = None,
    level: Annotated[
        int | None, typer.Option("--level", min=1, max=6, help="Heading level of the traits in a spec document.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Keep only matching traits: a title, `A > B` path or glob.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Leave out matching traits (as --only).")
    ] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Show what it becomes; store nothing.")] = False,
    project: ProjectOption = None,
) -> None:
    """Store FILE as a new version of its traits document (nothing if the text is unchanged)."""
    proj = open_project(project)
    options = ReadOptions(
        format=format_,
        trait_level=level,
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
        variables=traits_variables(proj.config),
    )
    if preview:
        _print_preview(traits_preview(read_traits_file(file, options), str(file)))
        return
    result = add_traits_file(proj.store, file, name=name, options=options)
    _print_warnings(result.parsed.warnings)
    if not result.created:
        console.print(Text.assemble("unchanged: identical to ", _version_label(result.version)))
        latest = list_versions(proj.store, result.version.document)[-1]
        if latest.id != result.version.id:
            # Versions are content-addressed, so a reverted file maps to its old version.
            console.print(
                plain(
                    f"note: the latest version of {latest.document} is {latest.ref}; refer to "
                    f"{result.version.ref} to use this text."
                )
            )
        return
    console.print(Text.assemble("added ", _version_label(result.version)))
    console.print(Text(traits_preview(result.parsed).counts_line))


def _print_rows(heading: str, rows: list[PreviewRow], style: str = "bold") -> None:
    console.print(Text(f"\n{heading} ({len(rows)})", style=style))
    for row in rows:
        console.print(Text.assemble(f"  line {row.line:<5} ", printable(row.path)))
    if not rows:
        console.print("  none", markup=False)


def _print_preview(preview: TraitsPreview) -> None:
    _print_warnings(preview.warnings)
    console.print(Text.assemble((printable(preview.source), "bold"), printable(f"  {preview.title or ''}")))
    console.print(Text(preview.format_line))
    console.print(Text(preview.counts_line))
    _print_rows("Traits: each is instilled", preview.rows_of("trait"))
    _print_rows("Guidance: context every generation step sees", preview.rows_of("guidance"))
    _print_rows(
        "Boundaries: never instilled; the generator respects them and the critic checks them",
        preview.rows_of("boundary"),
        style="bold red",
    )
    if preview.excluded:
        _print_rows("Excluded traits: left out by --only/--exclude", preview.excluded, style="bold yellow")
    console.print("\nNothing stored (preview). Run the same command without --preview to add it.", markup=False)


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


def _print_texts(chunks: list[Chunk]) -> None:
    for c in chunks:
        where = " > ".join(c.heading_path)
        header = f"\n#{c.position} {c.kind} {c.key} (line {c.line}{', ' + where if where else ''})"
        console.print(plain(header, style="bold"))
        console.print(plain(c.text))


def _show_command(ref: str, args: dict[str, object], project: Path | None) -> str:
    """The `workbench traits show` command line with these options (unset ones left out)."""
    parts = ["workbench", "traits", "show", shlex.quote(ref)]
    for option, value in args.items():
        if value not in (None, "", False):
            parts += [option] if value is True else [option, shlex.quote(str(value))]
    return " ".join(parts + (["--project", shlex.quote(str(project))] if project else []))


def _print_summary(summary: ChunkSummary, version: TraitsVersion) -> None:
    console.print(Text(f"{summary.counts_line} · read as {version.format}"))
    if summary.traits_by_heading:
        console.print(Text("Traits per top-level heading:"))
    for heading, count in summary.traits_by_heading:
        console.print(Text.assemble(f"  {count:>4}  ", printable(heading)))


def _print_page(listed: list[Chunk], number: int, per_page: int, text: bool, next_page: Callable[[int], str]) -> None:
    """Page `number` of `listed` as a table (or full texts), then where it is and how to see the next."""
    at = page_of(len(listed), number, per_page)
    shown = listed[at.start - 1 : at.end]
    if text:
        _print_texts(shown)
    else:
        console.print(_chunk_table(shown))
    more = f"; next: {next_page(at.number + 1)}" if at.number < at.pages else ""
    console.print(plain(f"showing {at.start}-{at.end} of {at.total}{more}"))


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="name, name@N or an id prefix.", show_default=False)],
    text: Annotated[bool, typer.Option("--text", help="Print each chunk's full text.")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="List only trait | guidance | boundary.")] = None,
    grep: Annotated[str, typer.Option("--grep", help="List only chunks whose title, headings or text hold this.")] = "",
    page: Annotated[int, typer.Option("--page", help="Which page of the list.")] = 1,
    per_page: Annotated[int, typer.Option("--per-page", help="Chunks a page.")] = PER_PAGE,
    project: ProjectOption = None,
) -> None:
    """Summarise one version, then list its chunks a page at a time (boundaries in a section of their own)."""
    if kind is not None and kind not in CHUNK_KINDS:
        raise WorkbenchError(f"--kind {kind!r} is not a chunk kind.", hint=f"Use one of: {', '.join(CHUNK_KINDS)}.")
    store = open_project(project).store
    version = get_version(store, ref)
    chunks = version_chunks(store, version.id)
    console.print(Text.assemble(_version_label(version), printable(f"  {version.title or ''}")))
    _print_summary(chunk_summary(chunks), version)
    filters = {"--grep": grep, "--per-page": per_page if per_page != PER_PAGE else None, "--text": text}

    def next_page(of_kind: str | None) -> Callable[[int], str]:
        return lambda n: _show_command(ref, {"--kind": of_kind, **filters, "--page": n}, project)

    listed = filter_chunks(chunks, (kind,) if kind else ("trait", "guidance"), grep)
    if listed:
        _print_page(listed, page, per_page, text, next_page(kind))
    else:
        console.print(plain(f"No {kind or 'trait or guidance'} chunks{' hold ' + repr(grep) if grep else ''}."))
    boundaries = filter_chunks(chunks, ("boundary",), grep) if kind is None else []
    if boundaries:
        # Never instilled, so never listed among the traits: a section of their own, first page only.
        console.print(Text(f"\nBoundaries ({len(boundaries)}): never instilled; the critic checks them", style="bold"))
        _print_page(boundaries, 1, per_page, text, next_page("boundary"))


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
