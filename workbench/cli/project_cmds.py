"""`workbench init`, `status` and `app`: create, inspect and open a project.

`workbench app` runs Streamlit as a child process and stays its parent: SIGTERM, SIGINT and SIGHUP
sent to `workbench` are passed on to Streamlit, which stops its server and frees the port; a child
that has not stopped `STOP_GRACE_S` seconds later is killed. The exit status is then 128 + the
signal's number, as a shell reports a process the signal stopped.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from workbench.cli.batch import batch_table
from workbench.cli.common import ProjectOption, console, open_project
from workbench.identity import identity_line, identity_warnings
from workbench.llm.batch import records
from workbench.project import CONFIG_FILE, Project, init_project
from workbench.runs import mark_interrupted
from workbench.status import ProjectStatus, project_status
from workbench.textsafe import plain
from workbench.views.runs import budget_rows


def _ask(value: str | None, question: str) -> str | None:
    """`value`, else the answer to `question` when a person is at the terminal (Enter leaves it unset)."""
    # Both ends a terminal: a script or a test that captures the output is never left waiting for an answer.
    if value is not None or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return value
    return typer.prompt(question, default="", show_default=False).strip() or None


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (created if missing).")],
    name: Annotated[str | None, typer.Option(help="Project name (default: the folder's name).")] = None,
    model_name: Annotated[
        str | None, typer.Option(help="The model being trained, as documents name it (identity.model_name; asked).")
    ] = None,
    maker_name: Annotated[
        str | None, typer.Option(help="Its maker, as documents name it (identity.maker_name; asked).")
    ] = None,
) -> None:
    """Create a project: a commented workbench.toml (with the model being trained) and an empty store."""
    if (directory / CONFIG_FILE).exists():
        if model_name or maker_name:
            console.print(plain(f"{directory / CONFIG_FILE} exists and is kept: set [identity] in it by hand."))
    else:
        model_name = _ask(model_name, "Name of the model being trained (what its documents call it; Enter: later)")
        maker_name = _ask(maker_name, "Name of its maker (Enter: later)") if model_name else maker_name
    project = init_project(directory, name=name or directory.resolve().name, model_name=model_name,
                           maker_name=maker_name)  # fmt: skip
    console.print(f"Project ready in {project.root}", highlight=False)
    console.print(f"  config: {project.root / CONFIG_FILE}\n  store:  {project.store.path}", highlight=False)
    console.print(plain(f"  model being trained: {identity_line(project.config)}"))
    console.print(f"Next: workbench traits add data/traits/mvp_bullets.md --project {directory}", highlight=False)


def _spend_table(status: ProjectStatus) -> Table:
    table = Table(title="Model calls by stage")
    for col in ("stage", "requests", "ok", "retried", "failed", "tokens in", "tokens out", "cost (USD)"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in status.spend:
        cost = f"{s.cost_usd:.4f}" + (f" (+{s.unpriced} unpriced)" if s.unpriced else "")
        table.add_row(s.stage, *map(str, (s.requests, s.ok, s.retried, s.failed, s.tokens_in, s.tokens_out)), cost)
    return table


def _budget_table(status: ProjectStatus) -> Table:
    table = Table(title="Budgets by piece of work (spend over all its runs)", title_justify="left")
    rows = budget_rows(status.budgets)
    for col in rows[0]:
        table.add_column(col, justify="left" if col in ("work", "cap from") else "right")
    for row in rows:
        spent, cap = row["spent (USD)"], row["cap (USD)"]
        cells = {**row, "spent (USD)": f"{spent:.4f}", "cap (USD)": "–" if cap is None else f"{cap:.4f}"}
        table.add_row(*(plain(v) for v in cells.values()))  # "[budget] …" is not markup
    return table


def _print_interrupted(status: ProjectStatus) -> None:
    if status.interrupted:
        console.print(f"Interrupted runs (their process ended without finishing): {len(status.interrupted)}")
    for run in status.interrupted:
        console.print(plain(f"  {run.kind} {run.id} ({run.what}), started {run.started_at:%Y-%m-%d %H:%M}"))


def _traits_table(status: ProjectStatus) -> Table:
    """One row per traits document (its latest version): counts, not chunks, so a long document stays one line."""
    table = Table(title="Traits documents (latest versions)", title_justify="left")
    for col in ("version", "id", "traits", "guidance", "boundaries"):
        table.add_column(col, justify="left" if col in ("version", "id") else "right", no_wrap=True)
    for t in status.traits:
        table.add_row(plain(f"{t.document}@{t.version}"), t.version_id, *map(str, (t.traits, t.guidance, t.boundaries)))
    return table


def _print_reasons(reasons: dict[str, str]) -> None:
    """The most common reason of each non-ok status, one short line each (model text: never markup)."""
    for status_, reason in sorted(reasons.items()):
        if status_ != "ok":
            flat = " ".join(reason.split())
            console.print(plain(f"  {status_}: {flat if len(flat) <= 80 else flat[:79] + '…'}", style="dim"))


def print_identity(project: Project) -> None:
    """The model the documents describe, and every warning about that name (model text: never markup)."""
    console.print(plain(f"Model being trained: {identity_line(project.config)}"))
    for warning in identity_warnings(project):
        console.print(plain(f"Warning: {warning}", style="yellow"))


def status(project: ProjectOption = None) -> None:
    """Per stage: rows by status, the calls, tokens and cost spent so far, budgets and interrupted runs."""
    proj = open_project(project)
    mark_interrupted(proj.store)
    summary = project_status(proj.store)
    console.print(plain(f"Project {proj.config.name!r} at {proj.root} (schema v{summary.schema_version})"))
    print_identity(proj)
    if not summary.traits:
        console.print("No traits documents yet: `workbench traits add FILE`.")
    else:
        console.print(_traits_table(summary))
        console.print("See a document's chunks with `workbench traits show NAME`.", markup=False)
    for stage, counts in summary.rows.items():
        console.print(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), highlight=False)
        _print_reasons(summary.reasons.get(stage, {}))
    console.print(_spend_table(summary) if summary.spend else "No model calls yet.")
    if summary.budgets:
        console.print(_budget_table(summary))
    _print_interrupted(summary)
    _print_batches(proj)
    console.print(f"Cached answers: {summary.cached_answers}   Review events: {summary.review_events}")


def _print_batches(proj: Project) -> None:
    """The open batches as the store last saw them (`workbench batch status` asks the providers)."""
    waiting = records.batches(proj.store, open_only=True) if records.has_batches(proj.store) else []
    if waiting:
        console.print(batch_table(waiting))
        console.print(f"Ask the providers where they stand: workbench batch status -p {shlex.quote(str(proj.root))}",
                      markup=False, highlight=False)  # fmt: skip


STOP_GRACE_S = 10.0
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _serve(command: list[str], env: dict[str, str]) -> int:
    """Run `command` as a child until it exits, passing our stop signals on to it; the exit status."""
    child = subprocess.Popen(command, env=env)
    signals: list[tuple[int, float]] = []  # (signal, when it came), in order

    def forward(signum: int, _frame: FrameType | None) -> None:
        signals.append((signum, time.monotonic()))
        # Streamlit stops cleanly on TERM and INT; HUP it does not handle, so it gets TERM for that.
        child.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    previous = {s: signal.signal(s, forward) for s in _FORWARDED}
    try:
        while True:
            # Short waits, not one blocking wait, so that the grace period can run out.
            try:
                returncode = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if signals and time.monotonic() - signals[0][1] > STOP_GRACE_S:
                    child.kill()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 + signals[0][0] if signals else returncode


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
    raise typer.Exit(_serve(command, env))


def register(app_: typer.Typer) -> None:
    """Attach these commands to the main app."""
    app_.command()(init)
    app_.command()(status)
    app_.command(name="app")(app)
