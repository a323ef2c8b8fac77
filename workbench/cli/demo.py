"""`workbench demo …`: load, inspect and remove the hand-written demo data set (data/demo)."""

from __future__ import annotations

import typer
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.demo import DEMO_DIR, demo_counts, has_demo, load_demo, remove_demo

app = typer.Typer(no_args_is_help=True)


def _print_counts(counts: dict[str, int]) -> None:
    for table, n in counts.items():
        if n:
            console.print(Text(f"  {table}: {n}"))


@app.command()
def load(project: ProjectOption = None) -> None:
    """Load the hand-written demo data into the project (a second load adds nothing)."""
    proj = open_project(project)
    summary = load_demo(proj)
    if summary.created:
        console.print(Text(f"Loaded the demo data from {DEMO_DIR} into {proj.root} (traits {summary.traits_ref}):"))
    else:
        console.print(Text(f"The demo data was already loaded in {proj.root}; nothing was added:"))
    _print_counts(summary.counts)
    console.print(Text("It is hand-written, not model output; `workbench demo remove` deletes it."))


@app.command()
def remove(project: ProjectOption = None) -> None:
    """Delete every demo row from the project, and nothing else."""
    proj = open_project(project)
    removed = remove_demo(proj)
    console.print(Text(f"Removed {removed} demo rows from {proj.root}." if removed else "No demo data to remove."))


@app.command()
def status(project: ProjectOption = None) -> None:
    """Whether the project holds the demo data, and its rows per table."""
    proj = open_project(project)
    if not has_demo(proj.store):
        console.print(Text(f"No demo data in {proj.root}. `workbench demo load` adds it."))
        return
    console.print(Text(f"{proj.root} holds the hand-written demo data:"))
    _print_counts(demo_counts(proj.store))
