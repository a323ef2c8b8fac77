"""Export a training dataset as files TRL (or `accelerate launch` on other machines) can read.

    files = export_train_dataset(project, "sft-mix", Path("out/sft-mix"))
    files.train_jsonl, files.validation_parquet, files.manifest

* `train.jsonl`, `validation.jsonl` — one TRL record per line, in split order (already shuffled);
  `datasets.load_dataset("json", data_files=...)` reads them.
* `train.parquet`, `validation.parquet` — the same records as Parquet (an empty validation split
  is an empty table with the train split's columns).
* `manifest.json` — the dataset's id, name, kind, row counts and manifest (recipe, traits
  versions, filters, row ids per origin, synthetic fraction, content hash over the records).

Each file is written to a temporary name and renamed, and the manifest last, so a crash never
leaves half a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.datasets.build import get_train_dataset, train_dataset_rows
from workbench.files import atomic_path, write_atomic, write_jsonl
from workbench.project import Project


@dataclass(frozen=True)
class ExportedFiles:
    """Where an exported training dataset's files are."""

    train_jsonl: Path
    validation_jsonl: Path
    train_parquet: Path
    validation_parquet: Path
    manifest: Path

    def all(self) -> list[Path]:
        """Every file, manifest last."""
        return [self.train_jsonl, self.validation_jsonl, self.train_parquet, self.validation_parquet, self.manifest]


def _write_parquet(path: Path, records: list[dict[str, Any]], schema: Any = None) -> Any:
    """Write records as Parquet, atomically; returns the table's schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(records, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return table.schema


def export_train_dataset(project: Project, ref: str, out_dir: Path) -> ExportedFiles:
    """Write a training dataset's splits (JSONL and Parquet) and manifest to `out_dir`.

    Raises:
        WorkbenchError: no such dataset.
    """
    dataset = get_train_dataset(project, ref)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ExportedFiles(*(out_dir / name for name in (
        "train.jsonl", "validation.jsonl", "train.parquet", "validation.parquet", "manifest.json")))  # fmt: skip
    train = train_dataset_rows(project, dataset.id, "train")
    validation = train_dataset_rows(project, dataset.id, "validation")
    write_jsonl(files.train_jsonl, train)
    write_jsonl(files.validation_jsonl, validation)
    schema = _write_parquet(files.train_parquet, train)
    _write_parquet(files.validation_parquet, validation, schema)
    manifest = {
        "id": dataset.id,
        "name": dataset.name,
        "kind": dataset.kind,
        "created_at": dataset.created_at.isoformat(),
        "train_rows": dataset.train_rows,
        "validation_rows": dataset.validation_rows,
        **dataset.manifest,
    }
    write_atomic(files.manifest, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return files
