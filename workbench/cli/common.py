"""Pieces every CLI command shares: the --project option and opening the project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from workbench.project import Project, load_project

console = Console()

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder (default: $WORKBENCH_PROJECT, else ./data).",
        show_default=False,
    ),
]


def open_project(project: Path | None) -> Project:
    """Load the project named by --project, or the default one."""
    return load_project(project)
