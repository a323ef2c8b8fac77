"""Build a frozen training dataset from a recipe, and read stored ones back.

    dataset = build_dataset(project, DatasetRecipe(name="mix", kind="sft", baseline="chat.jsonl",
                                                   synthetic_fraction=0.5, seed=0))
    dataset.manifest["counts"]             # {"train": {"synthetic": .., "baseline": ..}, "validation": .., "total": ..}
    records = train_dataset_rows(project, "mix", "validation")      # TRL records; *_entries: with lineage
    get_train_dataset(project, "mix"); list_train_datasets(project)

Steps: the accepted synthetic rows, filtered (`sources.py`), or the rows of an audit dataset
(`imported.py`); baseline rows at the recipe's fraction (`baseline.py`); the leak check over
every row (`leaks.py`); a seeded shuffle; the first `max(1, round(n × validation_fraction))`
rows (when the fraction is above 0 and there are at least 2 rows, never all of them) become the
validation split. Nothing is written unless every step passes, and then everything in one
transaction.

The id hashes the recipe, the rows' origins and ids and the records, so building the same
recipe over the same rows again returns the stored dataset and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from workbench.datasets.baseline import Baseline, baseline_rows
from workbench.datasets.imported import audit_dataset_rows
from workbench.datasets.leaks import check_leaks, traits_ngrams
from workbench.datasets.recipe import DatasetRecipe
from workbench.datasets.sources import MixRow, Synthetic, nothing_left, synthetic_rows
from workbench.errors import WorkbenchError
from workbench.generate.steps import stable_id
from workbench.project import Project
from workbench.store.traits import version_chunks

Split = Literal["train", "validation"]
SPLITS: tuple[Split, ...] = ("train", "validation")
CONTENT_HASH_OF = "sha256 of each record as JSON (sorted keys, UTF-8), one per line: train, then validation"


class TrainDataset(BaseModel):
    """A stored training dataset."""

    id: str = Field(description="Hash of the recipe, the rows' origins and ids, and the records.")
    name: str = Field(description="The recipe's name; several datasets may share one (the newest wins).")
    kind: str = Field(description="sft, preference or midtrain.")
    recipe: dict[str, Any] = Field(description="The recipe it was built from (DatasetRecipe.as_json).")
    manifest: dict[str, Any] = Field(
        description="Lineage: traits versions, filters, counts per origin and split, row ids, the actual "
        "synthetic fraction, system turns dropped, content hash."
    )
    train_rows: int = Field(description="Rows in the train split.")
    validation_rows: int = Field(description="Rows in the validation split.")
    created_at: datetime = Field(description="When it was built.")


class TrainRow(BaseModel):
    """A row of a stored training dataset."""

    split: str = Field(description="train or validation.")
    position: int = Field(description="Order within the split, from 0 (already shuffled).")
    origin: str = Field(description="synthetic or baseline.")
    source_id: str | None = Field(description="The store row's id, or the baseline row's id.")
    record: dict[str, Any] = Field(description="TRL's format: {messages} | {prompt, chosen, rejected} | {text}.")


_COLUMNS = "id, name, kind, recipe, manifest, train_rows, validation_rows, created_at"


def _dataset(row: tuple[Any, ...]) -> TrainDataset:
    values = dict(zip(_COLUMNS.split(", "), row, strict=True))
    values["recipe"], values["manifest"] = json.loads(values["recipe"]), json.loads(values["manifest"])
    return TrainDataset.model_validate(values)


def canonical(record: dict[str, Any]) -> str:
    """A record as canonical JSON: what the content hash covers."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def content_hash(records: Sequence[dict[str, Any]]) -> str:
    """sha256 of the records as canonical JSON, one per line (see `CONTENT_HASH_OF`)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update((canonical(record) + "\n").encode("utf-8"))
    return digest.hexdigest()


def split_rows(rows: Sequence[MixRow], recipe: DatasetRecipe) -> tuple[list[MixRow], list[MixRow]]:
    """Shuffle with the seed; the first rows are the validation split. Returns (train, validation)."""
    mixed = list(rows)
    random.Random(f"{recipe.seed}/shuffle").shuffle(mixed)
    n_val = 0
    if recipe.validation_fraction > 0 and len(mixed) >= 2:
        n_val = min(max(1, round(len(mixed) * recipe.validation_fraction)), len(mixed) - 1)
    return mixed[n_val:], mixed[:n_val]


def _chunk_texts(project: Project, version_ids: Sequence[str]) -> list[str]:
    return [chunk.text for v in version_ids for chunk in version_chunks(project.store, v)]


def _version_refs(project: Project, version_ids: Sequence[str]) -> list[dict[str, str]]:
    with project.store.connect() as con:
        found = con.execute(
            "SELECT id, document || '@' || number FROM traits_versions WHERE id IN (SELECT unnest(?)) ORDER BY id",
            [list(version_ids)],
        ).fetchall()
    return [{"id": i, "ref": ref} for i, ref in found]


def _counts(train: Sequence[MixRow], validation: Sequence[MixRow]) -> dict[str, dict[str, int]]:
    counts = {}
    for split, rows in (("train", train), ("validation", validation), ("total", [*train, *validation])):
        counts[split] = {o: sum(r.origin == o for r in rows) for o in ("synthetic", "baseline")}
    return counts


def _manifest(
    project: Project, recipe: DatasetRecipe, synthetic: Synthetic, base: Baseline | None,
    train: list[MixRow], validation: list[MixRow], digest: str,
) -> dict[str, Any]:  # fmt: skip
    """The dataset's lineage (see `TrainDataset.manifest`)."""
    total = len(train) + len(validation)
    return {
        "recipe": recipe.as_json(),
        "traits_versions": _version_refs(project, synthetic.traits_versions),
        "chunk_ids": synthetic.chunk_ids,
        "filters": synthetic.filters,
        "counts": _counts(train, validation),
        "synthetic_fraction": len(synthetic.rows) / total,
        "synthetic_row_ids": [r.source_id for r in synthetic.rows],
        "baseline_row_ids": [r.source_id for r in base.rows] if base else [],
        "baseline": None if base is None else {
            "origin": base.origin, "format": base.format, "available": base.available, "used": len(base.rows),
        },
        "system_turns_dropped": base.system_turns_dropped if base else 0,
        "content_hash": digest,
        "content_hash_of": CONTENT_HASH_OF,
    }  # fmt: skip


def build_dataset(project: Project, recipe: DatasetRecipe) -> TrainDataset:
    """Build (or find) the training dataset a recipe describes over the store's current rows.

    Raises:
        WorkbenchError: no synthetic row is left after the filters, the baseline cannot be read
            or is too small, or a row mentions the traits document (nothing is written then).
    """
    synthetic = audit_dataset_rows(project, recipe) if recipe.audit_dataset else synthetic_rows(project, recipe)
    if not synthetic.rows:
        raise nothing_left(recipe, synthetic.filters)
    base = baseline_rows(recipe, len(synthetic.rows))
    mix = synthetic.rows + (base.rows if base else [])
    check_leaks(mix, traits_ngrams(_chunk_texts(project, synthetic.traits_versions)))
    train, validation = split_rows(mix, recipe)
    digest = content_hash([r.record for r in (*train, *validation)])
    dataset_id = stable_id(
        "train_dataset", recipe.key(), digest, *(f"{r.origin}:{r.source_id}" for r in (*train, *validation))
    )
    manifest = _manifest(project, recipe, synthetic, base, train, validation, digest)
    _save(project, dataset_id, recipe, manifest, {"train": train, "validation": validation})
    return get_train_dataset(project, dataset_id)


def _save(
    project: Project, dataset_id: str, recipe: DatasetRecipe, manifest: dict[str, Any],
    splits: dict[str, list[MixRow]],
) -> None:  # fmt: skip
    """Write the dataset and its rows in one transaction, unless it is already stored."""
    rows = [(split, i, r) for split, found in splits.items() for i, r in enumerate(found)]
    with project.store.transaction() as con:
        if con.execute("SELECT 1 FROM train_datasets WHERE id = ?", [dataset_id]).fetchone():
            return
        con.execute(
            f"INSERT INTO train_datasets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            [dataset_id, recipe.name, recipe.kind, recipe.key(), json.dumps(manifest, ensure_ascii=False),
             len(splits["train"]), len(splits["validation"])],
        )  # fmt: skip
        con.execute(
            "INSERT INTO train_rows (dataset_id, split, position, origin, source_id, record)"
            " SELECT ?, unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)",
            [dataset_id, [s for s, _, _ in rows], [i for _, i, _ in rows], [r.origin for _, _, r in rows],
             [r.source_id for _, _, r in rows], [json.dumps(r.record, ensure_ascii=False) for _, _, r in rows]],
        )  # fmt: skip


def get_train_dataset(project: Project, ref: str) -> TrainDataset:
    """A training dataset by id, name (the newest of that name) or id prefix.

    Raises:
        WorkbenchError: nothing matches.
    """
    with project.store.connect() as con:
        row = con.execute(
            f"SELECT {_COLUMNS} FROM train_datasets WHERE id = ? OR name = ? OR starts_with(id, ?)"
            " ORDER BY id = ? DESC, name = ? DESC, created_at DESC LIMIT 1",
            [ref, ref, ref, ref, ref],
        ).fetchone()
    if row is None:
        raise WorkbenchError(
            f"No training dataset {ref!r}.",
            hint="List them with `workbench dataset list`; build one with `workbench dataset build NAME`.",
        )
    return _dataset(row)


def list_train_datasets(project: Project) -> list[TrainDataset]:
    """Every stored training dataset, newest first."""
    with project.store.connect() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM train_datasets ORDER BY created_at DESC, id").fetchall()
    return [_dataset(r) for r in rows]


def train_dataset_rows(project: Project, ref: str, split: Split = "train") -> list[dict[str, Any]]:
    """The records of one split of a training dataset (by id, name or id prefix), in order: what TRL reads.

    Raises:
        WorkbenchError: no such dataset, or an unknown split.
    """
    return [row.record for row in train_dataset_entries(project, ref, split)]


def train_dataset_entries(
    project: Project, ref: str, split: Split = "train", limit: int | None = None
) -> list[TrainRow]:
    """The rows of one split with their lineage (origin, source id), in order (the first `limit` if given).

    Raises:
        WorkbenchError: no such dataset, or an unknown split.
    """
    if split not in SPLITS:
        raise WorkbenchError(f"Unknown split {split!r}.", hint="Use train or validation.")
    dataset_id = get_train_dataset(project, ref).id
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT split, position, origin, source_id, record FROM train_rows"
            " WHERE dataset_id = ? AND split = ? ORDER BY position LIMIT ?",
            [dataset_id, split, limit],
        ).fetchall()
    return [TrainRow(split=s, position=p, origin=o, source_id=i, record=json.loads(r)) for s, p, o, i, r in rows]
