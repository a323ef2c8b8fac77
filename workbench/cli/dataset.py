"""`workbench dataset …`: frozen training datasets, mixed with baseline data, exported for TRL.

    workbench dataset build sft-mix --kind sft --traits candid_care --min-score quality=4 \\
        --keep-audit-dataset "sft without validation openers (strict)" \\
        --baseline ultrachat.jsonl --fraction 0.5 --validation 0.05 --seed 0 -p DIR
    workbench dataset build qa-mix --baseline qa.csv --baseline-map user=q --baseline-map assistant=a \\
        --fraction 0.5 -p DIR
    workbench dataset build sweep --baseline ultrachat.jsonl --fraction 0,0.25,0.5,1 -p DIR   # sweep-f0 ...
    workbench dataset build answers --audit-dataset "answers.jsonl without Bottom line (strict)" -p DIR
    workbench dataset list -p DIR
    workbench dataset show sft-mix -p DIR
    workbench dataset export sft-mix out/sft-mix -p DIR

A dataset is named by its name (the newest of that name), id or id prefix. Building the same
recipe over the same rows again finds the stored dataset and writes nothing. Several fractions
(comma-separated or a repeated --fraction) build a sweep: one dataset per fraction, named
NAME-fPCT (sweep-f25 for 0.25), sharing one baseline sample (workbench/datasets/mixing.py); 0 is
the baseline-only control arm, and a lone --fraction 0 is a sweep of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.datasets import DatasetRecipe, build_dataset, build_sweep, export_train_dataset, get_train_dataset
from workbench.datasets.build import TrainDataset, list_train_datasets
from workbench.datasets.recipe import SCORE_NAMES, Kind
from workbench.errors import WorkbenchError
from workbench.textsafe import plain

app = typer.Typer(no_args_is_help=True)

DatasetArg = Annotated[str, typer.Argument(help="A training dataset: name, id or id prefix.")]


def parse_scores(values: list[str]) -> dict[str, int] | None:
    """`["quality=4", "max_leakage=1"]` → `{"quality": 4, "max_leakage": 1}` (None for none).

    Raises:
        WorkbenchError: a value that is not NAME=INTEGER.
    """
    scores: dict[str, int] = {}
    for value in values:
        name, _, number = value.partition("=")
        try:
            scores[name.strip()] = int(number)
        except ValueError:
            raise WorkbenchError(
                f"--min-score {value!r} is not NAME=NUMBER.", hint=f"e.g. quality=4; names: {', '.join(SCORE_NAMES)}."
            ) from None
    return scores or None


def parse_fractions(values: list[str]) -> list[float]:
    """`["0,0.5", "1"]` → `[0.0, 0.5, 1.0]`: every fraction given, comma-separated or repeated.

    Raises:
        WorkbenchError: a value that is not a number.
    """
    fractions = []
    for part in (p.strip() for value in values for p in value.split(",")):
        try:
            fractions.append(float(part))
        except ValueError:
            raise WorkbenchError(
                f"--fraction {part!r} is not a number.", hint="e.g. --fraction 0.5, or --fraction 0,0.25,0.5,1"
            ) from None
    return fractions


@app.command()
def build(
    name: Annotated[str, typer.Argument(help="A name for the dataset.")],
    kind: Annotated[Kind, typer.Option(help="sft (chats), preference (DPO pairs) or midtrain (documents).")] = "sft",
    traits: Annotated[str | None, typer.Option(help="Only rows of this traits version (name or id).")] = None,
    min_score: Annotated[
        list[str] | None,
        typer.Option(help=f"A score threshold NAME=N, repeatable; names: {', '.join(SCORE_NAMES)} (a maximum)."),
    ] = None,
    keep_audit_dataset: Annotated[
        str | None, typer.Option(help="Keep only rows in this audit dataset (e.g. one `audit filter` made).")
    ] = None,
    audit_dataset: Annotated[
        str | None,
        typer.Option(help="Take the rows from this audit dataset (an imported file, or one `audit filter` made)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(help="Baseline data: a .jsonl/.json/.csv/.parquet file, a save_to_disk folder or a HF name."),
    ] = None,
    baseline_split: Annotated[str, typer.Option(help="The split of a Hugging Face baseline.")] = "train",
    baseline_map: Annotated[
        list[str] | None,
        typer.Option(
            help="Where a part of each baseline row is, ROLE=PATH (e.g. assistant=answer.text), repeatable; "
            "as `audit import --map`."
        ),
    ] = None,
    fraction: Annotated[
        list[str] | None,
        typer.Option(
            help="Synthetic share of the mix, in [0, 1] (default 1). Several (0,0.5,1 or repeated) build a sweep: "
            "one dataset per fraction, NAME-fPCT, sharing one baseline sample; 0 is the baseline-only arm."
        ),
    ] = None,
    validation: Annotated[float, typer.Option(help="Share held out for validation, in [0, 1).")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seeds the baseline sample, the shuffle and the split.")] = 0,
    project: ProjectOption = None,
) -> None:
    """Freeze accepted rows (filtered, mixed with a baseline) as a training dataset, or one per fraction."""
    fractions = parse_fractions(fraction or ["1"])
    sweep = len(set(fractions)) > 1 or fractions[0] == 0
    recipe = DatasetRecipe(
        name=name, kind=kind, traits_ref=traits, min_scores=parse_scores(min_score or []),
        keep_audit_dataset=keep_audit_dataset, audit_dataset=audit_dataset, baseline=baseline,
        baseline_split=baseline_split, baseline_map=tuple(baseline_map) if baseline_map else None,
        synthetic_fraction=fractions[0], validation_fraction=validation, seed=seed,
        sweep=tuple(sorted(set(fractions))) if sweep else None,
    )  # fmt: skip
    opened = open_project(project)
    for dataset in build_sweep(opened, recipe, fractions) if sweep else [build_dataset(opened, recipe)]:
        print_summary(dataset)


@app.command("list")
def list_(project: ProjectOption = None) -> None:
    """List the training datasets, newest first."""
    table = Table("id", "name", "kind", "train", "validation", "synthetic", "created")
    for d in list_train_datasets(open_project(project)):
        share = d.manifest.get("synthetic_fraction")
        table.add_row(d.id, plain(d.name), d.kind, str(d.train_rows), str(d.validation_rows),
                      f"{share:.0%}" if share is not None else "–", f"{d.created_at:%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)


@app.command()
def show(dataset: DatasetArg, project: ProjectOption = None) -> None:
    """A dataset's manifest: recipe, traits versions, filters, counts, content hash."""
    print_summary(get_train_dataset(open_project(project), dataset))


def print_summary(dataset: TrainDataset) -> None:
    """The dataset's id and name, its counts per split and origin, and its lineage."""
    m = dataset.manifest
    console.print(plain(f"Dataset {dataset.id} '{dataset.name}' ({dataset.kind}): "
                       f"{dataset.train_rows} train, {dataset.validation_rows} validation rows."))  # fmt: skip
    table = Table("split", "synthetic", "baseline")
    for split, counts in m["counts"].items():
        table.add_row(split, str(counts["synthetic"]), str(counts["baseline"]))
    console.print(table)
    versions = ", ".join(f"{v['ref']} ({v['id']})" for v in m["traits_versions"])
    filters = m["filters"]
    lines = [
        f"Synthetic fraction: {m['synthetic_fraction']:.3f} (asked {m['recipe']['synthetic_fraction']})",
        f"Traits versions: {versions}",
        f"Rows of audit dataset {filters['audit_dataset']}: {filters['audit_dataset_rows']}"
        if "audit_dataset" in filters
        else f"Accepted rows: {filters['accepted']}; below score thresholds: {filters['below_min_scores']}; "
        f"not in the keep dataset: {filters['not_in_keep_dataset']}",
        f"Baseline: {m['baseline']['origin']} ({m['baseline']['available']} rows available)" if m["baseline"]
        else "Baseline: none",
        f"Sweep: fractions {m['sweep']['fractions']}, sharing {m['sweep']['shared_baseline_rows']} baseline rows"
        if m.get("sweep") else "Sweep: none",
        f"System turns: {m.get('baseline_system_turns', 0)} kept in baseline rows, "
        f"{m['system_turns_dropped']} dropped from synthetic rows",
        f"Seed: {m['recipe']['seed']}; content hash: {m['content_hash']}",
    ]  # fmt: skip
    for line in lines:
        console.print(Text(line))


@app.command()
def export(
    dataset: DatasetArg,
    out_dir: Annotated[Path, typer.Argument(help="Folder for train/validation .jsonl and .parquet, manifest.json.")],
    project: ProjectOption = None,
) -> None:
    """Write a dataset's splits as JSONL and Parquet, with its manifest."""
    files = export_train_dataset(open_project(project), dataset, out_dir)
    for path in files.all():
        console.print(Text(f"Wrote {path}"))
