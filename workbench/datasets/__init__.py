"""Training datasets: frozen snapshots of accepted rows, mixed with a baseline, ready for TRL.

    recipe = DatasetRecipe(name="sft-mix", kind="sft", traits_ref="candid_care", min_scores={"quality": 4},
                           baseline="ultrachat.jsonl", synthetic_fraction=0.5, seed=0)
    dataset = build_dataset(project, recipe)          # same recipe over the same rows: the same dataset
    records = train_dataset_rows(project, dataset.id, "train")     # TRL records, in order
    files = export_train_dataset(project, dataset.id, Path("out"))
    arms = build_sweep(project, recipe, [0, 0.25, 0.5, 1.0])     # one dataset per fraction, NAME-fPCT

* `recipe.py`  — `DatasetRecipe`: what goes in (kind, filters, baseline, fraction, split, seed).
* `sources.py` — the accepted synthetic rows of the store, filtered by scores and an audit dataset.
* `baseline.py` — baseline SFT rows from a file, a saved HF dataset or the Hub, sampled and cleaned
  (their own system and tool turns kept).
* `mixing.py`  — each dataset's rows at its fraction; a sweep's arms share one baseline sample.
* `leaks.py`   — the check that no row mentions the traits document and no synthetic row has a system turn.
* `build.py`   — `build_dataset`, look-ups, and the rows; `export.py` — JSONL, Parquet, manifest.
"""

from workbench.datasets.build import (
    TrainDataset,
    TrainRow,
    build_dataset,
    build_sweep,
    get_train_dataset,
    list_train_datasets,
    train_dataset_entries,
    train_dataset_rows,
)
from workbench.datasets.export import ExportedFiles, export_train_dataset
from workbench.datasets.recipe import DatasetRecipe

__all__ = [
    "DatasetRecipe",
    "ExportedFiles",
    "TrainDataset",
    "TrainRow",
    "build_dataset",
    "build_sweep",
    "export_train_dataset",
    "get_train_dataset",
    "list_train_datasets",
    "train_dataset_entries",
    "train_dataset_rows",
]
