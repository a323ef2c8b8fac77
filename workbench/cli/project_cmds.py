"""`workbench init`, `status` and `app`: create, inspect and open a project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.project import Project, init_project
from workbench.status import ProjectStatus, TraitsSummary, project_status
from workbench.store.traits import version_chunks


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (created if missing).")],
    name: Annotated[str | None, typer.Option(help="Project name (default: the folder's name).")] = None,
) -> None:
    """Create a project: a commented workbench.toml and an empty store."""
    project = init_project(directory, name=name or directory.resolve().name)
    console.print(f"Project ready in {project.root}", highlight=False)
    console.print(f"  config: {project.root / 'workbench.toml'}\n  store:  {project.store.path}", highlight=False)
    console.print(f"Next: workbench traits add data/traits/mvp_bullets.md --project {directory}", highlight=False)


def _spend_table(status: ProjectStatus) -> Table:
    table = Table(title="Model calls by stage")
    for col in ("stage", "requests", "ok", "retried", "failed", "tokens in", "tokens out", "cost (USD)"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in status.spend:
        cost = f"{s.cost_usd:.4f}" + (f" (+{s.unpriced} unpriced)" if s.unpriced else "")
        table.add_row(s.stage, *map(str, (s.requests, s.ok, s.retried, s.failed, s.tokens_in, s.tokens_out)), cost)
    return table


def _chunks_table(project: Project, summary: TraitsSummary) -> Table:
    table = Table(
        title=f"{summary.document}@{summary.version} ({summary.version_id}): "
        f"{summary.traits} traits, {summary.guidance} guidance",
        title_justify="left",
    )
    for col in ("#", "kind", "section", "title", "line"):
        table.add_column(col)
    for chunk in version_chunks(project.store, summary.version_id):
        section = Text(" › ".join(chunk.heading_path))
        table.add_row(str(chunk.position), chunk.kind, section, Text(chunk.title), str(chunk.line))
    return table


def _print_reasons(reasons: dict[str, str]) -> None:
    """The most common reason of each non-ok status, one short line each (model text: never markup)."""
    for status_, reason in sorted(reasons.items()):
        if status_ != "ok":
            flat = " ".join(reason.split())
            console.print(Text(f"  {status_}: {flat if len(flat) <= 80 else flat[:79] + '…'}", style="dim"))


def status(project: ProjectOption = None) -> None:
    """Per stage: rows by status, and the calls, tokens and cost spent so far."""
    proj = open_project(project)
    summary = project_status(proj.store)
    console.print(f"Project {proj.config.name!r} at {proj.root} (schema v{summary.schema_version})", highlight=False)
    if not summary.traits:
        console.print("No traits documents yet: `workbench traits add FILE`.")
    for t in summary.traits:
        console.print(_chunks_table(proj, t))
    for stage, counts in summary.rows.items():
        console.print(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), highlight=False)
        _print_reasons(summary.reasons.get(stage, {}))
    console.print(_spend_table(summary) if summary.spend else "No model calls yet.")
    console.print(f"Cached answers: {summary.cached_answers}   Review events: {summary.review_events}")


def app(
    project: ProjectOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it on this machine.")] = (
        "127.0.0.1"
    ),
) -> None:
    """Open the Streamlit app on a project (bound to 127.0.0.1 unless told otherwise)."""
    proj = open_project(project)
    app_file = Path(__file__).resolve().parents[2] / "app.py"
    env = {**os.environ, "WORKBENCH_PROJECT": str(proj.root)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(app_file), "--server.address", address,
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    console.print(f"Serving {proj.root} at http://{address}:{port}", highlight=False)
    raise typer.Exit(subprocess.call(command, env=env))


def register(app_: typer.Typer) -> None:
    """Attach these commands to the main app."""
    app_.command()(init)
    app_.command()(status)
    app_.command(name="app")(app)
