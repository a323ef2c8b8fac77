"""`workbench train …`: fine-tune a model on a training dataset, and manage its checkpoints.

    workbench train midtrain --dataset docs-mix --base-model Qwen/Qwen2.5-0.5B -p DIR
    workbench train sft --dataset chat-mix --base-model checkpoint:midtrain-2026…@120 -p DIR
    workbench train sft --dataset chat-mix -p DIR              # from the latest finished midtraining
    workbench train dpo --dataset prefs --base-model checkpoint:sft-2026… --set beta=0.2 -p DIR
    workbench train bdpo --dataset prefs --base-model … --config train.toml --set bdpo_lambda=0.3 -p DIR
    workbench train runs -p DIR ; workbench train metrics RUN -p DIR ; workbench train checkpoints -p DIR
    workbench train merge CHECKPOINT -p DIR                     # a LoRA adapter merged into its base
    workbench train sft … --launcher accelerate --num-processes 4 -p DIR     # DDP over 4 GPUs (docs/multi-gpu.md)
    workbench train sft … --launcher accelerate --accelerate-config fsdp.yaml --dry-run -p DIR
    workbench train import checkpoints/sft-… -p DIR            # a run folder trained on another machine
    workbench train serve CKPT_A CKPT_B --name arm-a --name arm-b -p DIR   # the `vllm serve` command for evals

Settings come from the method's config dataclass (`workbench/train/config.py`): a TOML file
(`--config`, its `[sft]` / `[midtrain]` / `[dpo]` / `[bdpo]` table) with `--set KEY=VALUE` on top.
Defaults follow the seed method (`workbench/train/defaults.py`): midtraining warns when its base
looks post-trained, and SFT without a base model continues from the midtrained checkpoint.
`--launcher accelerate` trains through `accelerate launch` (workbench/train/distributed.py) and
prints the command it runs; `--dry-run` writes the run folder's inputs and prints it without running.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.textsafe import plain, printable
from workbench.train.config import METHODS, TrainConfig, load_train_config

if TYPE_CHECKING:
    from workbench.train.run import TrainResult

app = typer.Typer(no_args_is_help=True)

DatasetOption = Annotated[str | None, typer.Option(help="The training dataset (`workbench dataset list`).")]
BaseOption = Annotated[
    str | None,
    typer.Option(help="A hub name, a model folder, or checkpoint:ID (sft: default the latest midtrained checkpoint)."),
]
ConfigOption = Annotated[Path | None, typer.Option(help="A TOML file with the method's settings.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE, e.g. --set learning_rate=1e-4.")]
BackendOption = Annotated[str | None, typer.Option(help="auto, unsloth or trl.")]
LauncherOption = Annotated[
    str, typer.Option(help="local (this process) or accelerate (`accelerate launch`: several processes, GPUs, nodes).")
]
ProcessesOption = Annotated[
    int | None, typer.Option(min=1, help="With --launcher accelerate: processes in all (default: one per GPU).")
]
AccelerateConfigOption = Annotated[
    Path | None, typer.Option(help="With --launcher accelerate: an accelerate config file (FSDP, DeepSpeed, nodes).")
]
DryRunOption = Annotated[
    bool, typer.Option(help="With --launcher accelerate: write the run's inputs and print the command, run nothing.")
]


@dataclasses.dataclass(frozen=True)
class Launch:
    """How `workbench train METHOD` runs: in this process, or through `accelerate launch`."""

    launcher: str = "local"
    num_processes: int | None = None
    accelerate_config: Path | None = None
    dry_run: bool = False

    def check(self) -> None:
        if self.launcher not in ("local", "accelerate"):
            raise WorkbenchError(f"Unknown launcher {self.launcher!r}.", hint="Use local or accelerate.")
        if self.launcher == "local" and (self.num_processes or self.accelerate_config or self.dry_run):
            raise WorkbenchError(
                "--num-processes, --accelerate-config and --dry-run go with --launcher accelerate.",
                hint="Add --launcher accelerate.",
            )


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


def _train(method: str, project: Path | None, config: Path | None, overrides: dict[str, Any], launch: Launch) -> None:
    from workbench.train.defaults import default_sft_base
    from workbench.train.run import train

    launch.check()
    proj = open_project(project)
    # SFT may leave the base out: it then continues from the midtrained checkpoint, as the seed method does.
    settings = load_train_config(method, path=config, overrides=overrides, require_base_model=method != "sft")
    if not settings.base_model:
        settings = dataclasses.replace(settings, base_model=default_sft_base(proj, settings.dataset))
        console.print(Text(f"No --base-model: continuing from the latest finished midtraining, {settings.base_model}."))
    result = train(proj, settings, warn=_warn) if launch.launcher == "local" else _accelerate(proj, settings, launch)
    if result is None:
        return
    loss = f", last training loss {result.final_loss:.4f}" if result.final_loss is not None else ""
    console.print(Text(f"Run {result.run_id} done on {result.backend}{loss}."))
    console.print(Text(f"Checkpoint {result.checkpoint.id} ({result.checkpoint.kind}): {result.checkpoint.path}"))


def _accelerate(proj: Project, settings: TrainConfig, launch: Launch) -> TrainResult | None:
    """Train through `accelerate launch`, printing the command; with --dry-run only print it (returns None)."""
    from workbench.train.distributed import AccelerateOptions, prepare_run, train_distributed

    options = AccelerateOptions(launch.num_processes, launch.accelerate_config)
    if launch.dry_run:
        prepared = prepare_run(proj, settings, options, warn=_warn)
        console.print(Text(f"Inputs written to {prepared.folder.root}/inputs. To train (and import the result):"))
        typer.echo(shlex.join(prepared.command))  # unwrapped: it is for copying
        typer.echo(shlex.join(["workbench", "train", "import", str(prepared.folder.root), "--project", str(proj.root)]))
        return None

    def announce(command: list[str], log: Path) -> None:
        console.print(Text(f"Running (output in {log}):"))
        typer.echo(shlex.join(command))

    return train_distributed(proj, settings, options, warn=_warn, announce=announce)


def _register(method: str) -> None:
    def command(
        dataset: DatasetOption = None, base_model: BaseOption = None, config: ConfigOption = None,
        set_: SetOption = None, backend: BackendOption = None, launcher: LauncherOption = "local",
        num_processes: ProcessesOption = None, accelerate_config: AccelerateConfigOption = None,
        dry_run: DryRunOption = False, project: ProjectOption = None,
    ) -> None:  # fmt: skip
        launch = Launch(launcher, num_processes, accelerate_config, dry_run)
        _train(method, project, config, _overrides(dataset, base_model, backend, set_ or []), launch)

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


@app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="A run folder trained with the command --dry-run printed.")],
    project: ProjectOption = None,
) -> None:
    """Record a run trained elsewhere from its folder: metrics, checkpoints, the final one."""
    from workbench.train.distributed import import_run

    result = import_run(open_project(project), folder)
    console.print(Text(f"Run {result.run_id} imported. Checkpoint {result.checkpoint.id}: {result.checkpoint.path}"))


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


@app.command()
def serve(
    checkpoints: Annotated[list[str], typer.Argument(help="Checkpoint ids (or prefixes, or run ids).")],
    name: Annotated[
        list[str] | None, typer.Option(help="The served name of each checkpoint, in order (default: from its id).")
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="The vLLM server's port on 127.0.0.1.")] = 8000,
    project: ProjectOption = None,
) -> None:
    """Print the `vllm serve` command that serves checkpoints for evals, and their model specs."""
    from workbench.train.serving import serve_plan

    plan = serve_plan(open_project(project), checkpoints, names=name, port=port)

    def say(line: str) -> None:
        console.print(Text(printable(line)), soft_wrap=True)  # unwrapped: these lines are copied into a shell

    say("Run on the machine with the GPU (pip install vllm), and leave it running:\n")
    say(plan.shell() + "\n")
    say("Model specs for evals:")
    width = max(len(m.name) for m in plan.specs())
    for model in plan.specs():
        say(f"  {model.name:<{width}}  {model.spec}  ({model.source})")
    say(f"\nFor example:\n  workbench eval run --suite knowledge --model {plan.specs()[0].spec} --traits NAME")
    say(f'More calls at once to this server, in workbench.toml: [concurrency] servers = {{"{plan.base_url}" = 64}}')
