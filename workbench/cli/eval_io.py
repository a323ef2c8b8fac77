"""`workbench eval import` and `workbench eval export`: cases in, logs out, in the field's formats.

    workbench eval import odcv ~/ODCV-Bench -p DIR                 # -> DIR/evals/imported/odcv-ODCV-Bench.jsonl
    workbench eval import arena-hard question.jsonl --out my_capability.jsonl -p DIR
    workbench eval run --suite odcv --cases DIR/evals/imported/odcv-ODCV-Bench.jsonl --model SPEC -p DIR
    workbench eval export RUN --format inspect -p DIR              # -> DIR/evals/inspect/<time>_<suite>_<run>.eval
    inspect view --log-dir DIR/evals/inspect
    workbench eval import-log logs/2026-01-01T00-00-00+00-00_odcv_x.eval --suite odcv -p DIR  # arm "inspect"

Registered on `workbench eval` by `workbench/cli/evals.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.evals.importers import get_importer, import_cases, importers
from workbench.textsafe import plain


def import_(
    format_name: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="odcv, agentic-misalignment, psychosis-bench, arena-hard or inspect (`workbench eval import --help`).",
        ),
    ],
    source: Annotated[Path, typer.Argument(help="The file or folder to read (it is only read).")],
    out: Annotated[Path | None, typer.Option(help="Where to write the cases (JSONL).")] = None,
    project: ProjectOption = None,
) -> None:
    """Write a public benchmark's cases as a cases file for `workbench eval run --cases`."""
    proj = open_project(project)
    written, count = import_cases(proj, format_name, source, out)
    suite = get_importer(format_name).suite
    console.print(plain(f"Wrote {count} {suite} cases to {written}."))
    console.print(plain(f"Run them: workbench eval run --suite {suite} --cases {written} --model SPEC"))


def export_(
    run: Annotated[str, typer.Argument(help="An eval run id (or prefix).")],
    format_name: Annotated[str, typer.Option("--format", help="The log format: inspect (an Inspect eval log).")],
    out: Annotated[Path | None, typer.Option(help="The file to write: .eval (default) or .json.")] = None,
    project: ProjectOption = None,
) -> None:
    """Write an eval run as a log another tool reads: `--format inspect` for `inspect view`."""
    if format_name != "inspect":
        raise WorkbenchError(f"Unknown export format {format_name!r}.", hint="Use --format inspect.")
    proj = open_project(project)
    # Imported here: inspect_ai is an optional extra, and the module says how to install it when it is missing.
    from workbench.evals.inspect_log import export_run

    written = export_run(proj, run, out)
    console.print(plain(f"Wrote the Inspect log of run {run} to {written}."))
    console.print(plain(f"Open it: inspect view --log-dir {written.parent}"))


def import_log_(
    log: Annotated[Path, typer.Argument(help="An Inspect eval log (.eval or .json); it is only read.")],
    suite: Annotated[str | None, typer.Option(help="File the run under this suite (default: the log's task).")] = None,
    project: ProjectOption = None,
) -> None:
    """Store an Inspect eval log as an eval run (arm "inspect") to compare with the suite's runs."""
    proj = open_project(project)
    from workbench.evals.inspect_log import import_log  # optional extra, as in export_

    run_id = import_log(proj, log, suite)
    console.print(plain(f"Imported {log} as eval run {run_id} (arm inspect)."))
    console.print(plain(f"Compare it: workbench eval compare {run_id} RUN"))


def formats_help() -> str:
    """The import command's epilog: every format and what it reads."""
    return "\n\n".join(
        f"{i.format} ({i.suite}): {i.description}" for i in sorted(importers().values(), key=lambda i: i.format)
    )
