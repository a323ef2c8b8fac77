"""`workbench train …`: fine-tune a model on a training dataset, and manage its checkpoints.

    workbench train midtrain --dataset docs-mix --base-model Qwen/Qwen2.5-0.5B -p DIR
    workbench train sft --dataset chat-mix --base-model checkpoint:midtrain-2026…@120 -p DIR
    workbench train sft --dataset chat-mix -p DIR              # from the latest finished midtraining
    workbench train dpo --dataset prefs --base-model checkpoint:sft-2026… --set beta=0.2 -p DIR
    workbench train bdpo --dataset prefs --base-model … --config train.toml --set bdpo_lambda=0.3 -p DIR
    workbench train runs -p DIR ; workbench train metrics RUN -p DIR ; workbench train checkpoints -p DIR
    workbench train merge CHECKPOINT -p DIR                     # a LoRA adapter merged into its base

Settings come from the method's config dataclass (`workbench/train/config.py`): a TOML file
(`--config`, its `[sft]` / `[midtrain]` / `[dpo]` / `[bdpo]` table) with `--set KEY=VALUE` on top.
Defaults follow the seed method (`workbench/train/defaults.py`): midtraining warns when its base
looks post-trained, and SFT without a base model continues from the midtrained checkpoint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.textsafe import plain, printable
from workbench.train.config import METHODS, load_train_config

app = typer.Typer(no_args_is_help=True)

DatasetOption = Annotated[str | None, typer.Option(help="The training dataset (`workbench dataset list`).")]
BaseOption = Annotated[
    str | None,
    typer.Option(help="A hub name, a model folder, or checkpoint:ID (sft: default the latest midtrained checkpoint)."),
]
ConfigOption = Annotated[Path | None, typer.Option(help="A TOML file with the method's settings.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE, e.g. --set learning_rate=1e-4.")]
BackendOption = Annotated[str | None, typer.Option(help="auto, unsloth or trl.")]


def _overrides(dataset: str | None, base_model: str | None, backend: str | None, sets: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {"dataset": dataset, "base_model": base_model, "backend": backend}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise WorkbenchError(f"--set {item!r} is not KEY=VALUE.")
        values[key.strip()] = value.strip()
    return values


def _warn(message: str) -> None:
    console.print(Text.assemble(("warning: ", "yellow"), printable(message)))


def _train(method: str, project: Path | None, config: Path | None, overrides: dict[str, Any]) -> None:
    from workbench.train.defaults import default_sft_base
    from workbench.train.run import train

    proj = open_project(project)
    # SFT may leave the base out: it then continues from the midtrained checkpoint, as the seed method does.
    settings = load_train_config(method, path=config, overrides=overrides, require_base_model=method != "sft")
    if not settings.base_model:
        settings = dataclasses.replace(settings, base_model=default_sft_base(proj, settings.dataset))
        console.print(Text(f"No --base-model: continuing from the latest finished midtraining, {settings.base_model}."))
    result = train(proj, settings, warn=_warn)
    loss = f", last training loss {result.final_loss:.4f}" if result.final_loss is not None else ""
    console.print(Text(f"Run {result.run_id} done on {result.backend}{loss}."))
    console.print(Text(f"Checkpoint {result.checkpoint.id} ({result.checkpoint.kind}): {result.checkpoint.path}"))


def _register(method: str) -> None:
    def command(
        dataset: DatasetOption = None, base_model: BaseOption = None, config: ConfigOption = None,
        set_: SetOption = None, backend: BackendOption = None, project: ProjectOption = None,
    ) -> None:  # fmt: skip
        _train(method, project, config, _overrides(dataset, base_model, backend, set_ or []))

    command.__doc__ = f"Train with {method} (settings: workbench/train/config.py)."
    app.command(method)(command)


for _method in METHODS:
    _register(_method)


@app.command()
def runs(project: ProjectOption = None) -> None:
    """Training runs, newest first."""
    proj = open_project(project)
    table = Table("run", "method", "dataset", "base model", "backend", "status", "started")
    with proj.store.connect() as con:
        rows = con.execute(
            "SELECT id, method, dataset_id, base_model, backend, status, started_at, error FROM train_runs"
            " ORDER BY started_at DESC"
        ).fetchall()
    for run_id, method, dataset, base, backend, status, started, error in rows:
        shown = Text(status, style="red" if status == "failed" else "")
        if error:
            shown.append(printable(f": {error[:80]}"))
        table.add_row(run_id, method, dataset, plain(base), backend, shown, f"{started:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command()
def metrics(run: Annotated[str, typer.Argument(help="A training run id.")], project: ProjectOption = None) -> None:
    """A run's logged metrics, one row per step."""
    from workbench.train.tracking import run_metrics

    by_step: dict[tuple[int, str], dict[str, float]] = {}
    for step, split, name, value in run_metrics(open_project(project), run):
        by_step.setdefault((step, split), {})[name] = value
    if not by_step:
        raise WorkbenchError(f"No metrics for run {run!r}.", hint="See `workbench train runs`.")
    names = sorted({n for values in by_step.values() for n in values})
    table = Table("step", "split", *names)
    for (step, split), values in sorted(by_step.items()):
        table.add_row(str(step), split, *(f"{values[n]:.4g}" if n in values else "" for n in names))
    console.print(table)


@app.command()
def checkpoints(project: ProjectOption = None) -> None:
    """Registered checkpoints, newest first."""
    from workbench.train.tracking import list_checkpoints

    table = Table("checkpoint", "kind", "step", "base model", "path")
    for c in list_checkpoints(open_project(project)):
        table.add_row(c.id, c.kind, str(c.step), Text(c.base_model), Text(c.path))
    console.print(table)


@app.command()
def merge(
    checkpoint: Annotated[str, typer.Argument(help="A checkpoint id (or prefix).")],
    out: Annotated[Path | None, typer.Option(help="Where to write the merged model.")] = None,
    project: ProjectOption = None,
) -> None:
    """Merge a LoRA adapter into its base model: a full model folder for serving or export."""
    from workbench.train.merge import merge_checkpoint

    merged = merge_checkpoint(open_project(project), checkpoint, out)
    console.print(Text(f"Checkpoint {merged.id} ({merged.kind}): {merged.path}"))
