"""Build a frozen training dataset from a recipe, and read stored ones back.

    dataset = build_dataset(project, DatasetRecipe(name="mix", kind="sft", baseline="chat.jsonl",
                                                   synthetic_fraction=0.5, seed=0))
    dataset.manifest["counts"]             # {"train": {"synthetic": .., "baseline": ..}, "validation": .., "total": ..}
    records = train_dataset_rows(project, "mix", "validation")      # TRL records; *_entries: with lineage
    get_train_dataset(project, "mix"); list_train_datasets(project)
    arms = build_sweep(project, recipe, [0, 0.5, 1])   # mix-f0, mix-f50, mix-f100: one baseline sample

Steps: the accepted synthetic rows, filtered (`sources.py`), or the rows of an audit dataset
(`imported.py`); baseline rows at the recipe's fraction, or the sweep's shared sample
(`baseline.py`); the leak check over every row (`leaks.py`); each arm's rows (`mixing.py`); a
seeded shuffle; the first `max(1, round(n × validation_fraction))` rows (when the fraction is
above 0 and there are at least 2 rows, never all of them) become the validation split. Nothing is
written unless every step passes for every arm, and then everything in one transaction.

The id hashes the recipe, the rows' origins and ids and the records, so building the same
recipe over the same rows again returns the stored dataset and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from workbench.datasets.baseline import Baseline, baseline_rows
from workbench.datasets.imported import audit_dataset_rows
from workbench.datasets.leaks import check_leaks, traits_ngrams
from workbench.datasets.mixing import arm_rows, sweep_recipes
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
        "synthetic fraction, the sweep, system turns kept (baseline) and dropped (synthetic), content hash."
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


@dataclass(frozen=True)
class _Arm:
    """One dataset ready to write: its id, recipe, lineage and rows per split."""

    id: str
    recipe: DatasetRecipe
    manifest: dict[str, Any]
    splits: dict[str, list[MixRow]]


def _manifest(
    project: Project, recipe: DatasetRecipe, pool: Synthetic, base: Baseline | None,
    synthetic: list[MixRow], baseline: list[MixRow], splits: dict[str, list[MixRow]], digest: str,
) -> dict[str, Any]:  # fmt: skip
    """The dataset's lineage (see `TrainDataset.manifest`); traits versions and chunks are the pool's."""
    return {
        "recipe": recipe.as_json(),
        "traits_versions": _version_refs(project, pool.traits_versions),
        "chunk_ids": pool.chunk_ids,
        "filters": pool.filters,
        "counts": _counts(splits["train"], splits["validation"]),
        "synthetic_fraction": len(synthetic) / (len(synthetic) + len(baseline)),
        "synthetic_row_ids": [r.source_id for r in synthetic],
        "baseline_row_ids": [r.source_id for r in baseline],
        "baseline": None if base is None or not baseline else {
            "origin": base.origin, "format": base.format, "available": base.available, "used": len(baseline),
        },
        "sweep": None if recipe.sweep is None else {
            "fractions": list(recipe.sweep), "synthetic_rows_available": len(pool.rows),
            "shared_baseline_rows": len(base.rows) if base else 0,
        },
        "baseline_system_turns": base.system_turns if base and baseline else 0,
        "system_turns_dropped": pool.system_turns_dropped,
        "content_hash": digest,
        "content_hash_of": CONTENT_HASH_OF,
    }  # fmt: skip


def build_dataset(project: Project, recipe: DatasetRecipe) -> TrainDataset:
    """Build (or find) the training dataset a recipe describes over the store's current rows.

    Raises:
        WorkbenchError: no synthetic row is left after the filters, the baseline cannot be read
            or is too small, or a row mentions the traits document (nothing is written then).
    """
    return _build(project, [recipe])[0]


def build_sweep(project: Project, recipe: DatasetRecipe, fractions: Iterable[float]) -> list[TrainDataset]:
    """Build (or find) one dataset per synthetic fraction, named `NAME-fPCT`, sharing one baseline sample.

    `recipe` gives everything but the fraction (its own is replaced by each of `fractions`). The
    arms differ only in the fraction (see `mixing.py`); 0 is the baseline-only control arm.
    Returned in ascending fraction order.

    Raises:
        WorkbenchError: as `build_dataset`, for any arm; then no arm is written.
    """
    return _build(project, sweep_recipes(recipe, fractions))


def _build(project: Project, recipes: list[DatasetRecipe]) -> list[TrainDataset]:
    """Build arms that differ only in name and fraction: read, check and mix once, write all together."""
    first = recipes[0]
    pool = audit_dataset_rows(project, first) if first.audit_dataset else synthetic_rows(project, first)
    if not pool.rows:
        raise nothing_left(first, pool.filters)
    base = baseline_rows(first, len(pool.rows))
    sample = base.rows if base else []
    check_leaks(pool.rows + sample, traits_ngrams(_chunk_texts(project, pool.traits_versions)))
    arms = []
    for recipe in recipes:
        synthetic, baseline = arm_rows(recipe, pool.rows, sample)
        train, validation = split_rows(synthetic + baseline, recipe)
        splits = {"train": train, "validation": validation}
        digest = content_hash([r.record for r in (*train, *validation)])
        dataset_id = stable_id(
            "train_dataset", recipe.key(), digest, *(f"{r.origin}:{r.source_id}" for r in (*train, *validation))
        )
        manifest = _manifest(project, recipe, pool, base, synthetic, baseline, splits, digest)
        arms.append(_Arm(dataset_id, recipe, manifest, splits))
    with project.store.transaction() as con:
        for arm in arms:
            _save(con, arm)
    return [get_train_dataset(project, arm.id) for arm in arms]


def _save(con: duckdb.DuckDBPyConnection, arm: _Arm) -> None:
    """Write a dataset and its rows, unless it is already stored."""
    if con.execute("SELECT 1 FROM train_datasets WHERE id = ?", [arm.id]).fetchone():
        return
    rows = [(split, i, r) for split, found in arm.splits.items() for i, r in enumerate(found)]
    con.execute(
        f"INSERT INTO train_datasets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [arm.id, arm.recipe.name, arm.recipe.kind, arm.recipe.key(), json.dumps(arm.manifest, ensure_ascii=False),
         len(arm.splits["train"]), len(arm.splits["validation"])],
    )  # fmt: skip
    con.execute(
        "INSERT INTO train_rows (dataset_id, split, position, origin, source_id, record)"
        " SELECT ?, unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)",
        [arm.id, [s for s, _, _ in rows], [i for _, i, _ in rows], [r.origin for _, _, r in rows],
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
