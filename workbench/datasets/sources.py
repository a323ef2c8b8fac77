"""The synthetic rows of a training dataset: the store's accepted rows, filtered, as TRL records.

    found = synthetic_rows(project, recipe)
    found.rows            # [MixRow(origin="synthetic", source_id=example id, record={"messages": [...]})]
    found.filters         # how many rows each filter removed

`sft` reads the accepted (`ok`) `sft_examples` as `{"messages": [user, assistant]}`;
`preference` those with a rejected answer as `{"prompt": [user], "chosen": [assistant],
"rejected": [assistant]}`; `midtrain` the accepted `documents` as `{"text": ...}`. No record
ever has a system turn: the system prompt a response was written under stays in the store.
Rows are read in id order, so the same rows always come out the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.audit.datasets import AuditDataset, dataset_rows, get_dataset
from workbench.datasets.recipe import DatasetRecipe, passes_scores
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.store.traits import get_version

Origin = Literal["synthetic", "baseline"]

# Per kind: the table, its extra columns, and the audit dataset sources whose row ids are its ids.
_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "sft": ("sft_examples", "user_prompt, response", ("sft", "preference")),
    "preference": ("sft_examples", "user_prompt, response, rejected", ("sft", "preference")),
    "midtrain": ("documents", "text", ("documents",)),
}


@dataclass(frozen=True)
class MixRow:
    """One row on its way into a training dataset.

    Attributes:
        origin: `synthetic` (a store row) or `baseline` (the baseline data).
        source_id: The store row's id, or the baseline row's id (its own `id`, or `line N` / `row N`).
        record: The row in TRL's format for the dataset's kind.
    """

    origin: Origin
    source_id: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Synthetic:
    """The synthetic rows that passed the filters, and what the filters did.

    Attributes:
        rows: The kept rows, in id order.
        traits_versions: The traits version ids of the kept rows.
        chunk_ids: The chunk ids of the kept rows.
        filters: Counts: `accepted` rows read, removed `below_min_scores` and `not_in_keep_dataset`,
            and the keep dataset's id, if any.
        system_turns_dropped: System turns removed from the rows (only an audit dataset's rows have any).
    """

    rows: list[MixRow]
    traits_versions: list[str]
    chunk_ids: list[str]
    filters: dict[str, Any] = field(default_factory=dict)
    system_turns_dropped: int = 0


def record_for(kind: str, values: tuple[Any, ...]) -> dict[str, Any]:
    """A store row's TRL record: chat, preference pair or document (never a system turn)."""
    if kind == "midtrain":
        return {"text": values[0]}
    user, assistant = {"role": "user", "content": values[0]}, {"role": "assistant", "content": values[1]}
    if kind == "preference":
        return {"prompt": [user], "chosen": [assistant], "rejected": [{"role": "assistant", "content": values[2]}]}
    return {"messages": [user, assistant]}


def _accepted(project: Project, recipe: DatasetRecipe) -> list[tuple[Any, ...]]:
    """(id, traits_version, chunk_id, scores, *columns) of the accepted rows, in id order."""
    columns = _TABLES[recipe.kind][1]
    sql, params = _accepted_query(project, recipe, f"id, traits_version, chunk_id, scores, {columns}")
    with project.store.connect() as con:
        return con.execute(sql + " ORDER BY id", params).fetchall()


def accepted_count(project: Project, recipe: DatasetRecipe) -> int:
    """How many rows `_accepted` would read, counted without reading them (the Run page's dataset plan)."""
    sql, params = _accepted_query(project, recipe, "count(*)")
    with project.store.connect() as con:
        return int(con.execute(sql, params).fetchone()[0])  # type: ignore[index]


def _accepted_query(project: Project, recipe: DatasetRecipe, select: str) -> tuple[str, list[Any]]:
    """The accepted rows of the recipe's kind and traits version, demo rows left out."""
    sql = f"SELECT {select} FROM {_TABLES[recipe.kind][0]} WHERE status = 'ok' AND run_id IS DISTINCT FROM ?"
    params: list[Any] = [DEMO_RUN]
    if recipe.kind == "preference":
        sql += " AND rejected IS NOT NULL"
    if recipe.traits_ref:
        sql += " AND traits_version = ?"
        params.append(get_version(project.store, recipe.traits_ref).id)
    return sql, params


def _keep_dataset(project: Project, recipe: DatasetRecipe) -> tuple[AuditDataset, set[str]] | None:
    """The audit dataset to keep rows of, and its row ids; None when the recipe names none.

    Raises:
        WorkbenchError: the dataset does not descend from the store rows this kind reads.
    """
    if not recipe.keep_audit_dataset:
        return None
    dataset = root = get_dataset(project, recipe.keep_audit_dataset)
    while root.parent_id:
        root = get_dataset(project, root.parent_id)
    table, _, sources = _TABLES[recipe.kind]
    if root.source not in sources:
        raise WorkbenchError(
            f"Audit dataset {dataset.name!r} ({dataset.id}) comes from {root.source!r} rows, not from {table}, "
            f"so its row ids cannot select {recipe.kind} rows.",
            hint=f"Use a dataset made by `workbench audit snapshot {sources[0]}` (or filtered from one).",
        )
    return dataset, {r.row_id for r in dataset_rows(project, dataset.id)}


def synthetic_rows(project: Project, recipe: DatasetRecipe) -> Synthetic:
    """The accepted rows of the recipe's kind that pass its score thresholds and keep dataset.

    Raises:
        WorkbenchError: an unknown traits version or audit dataset, or one from other rows.
    """
    found = _accepted(project, recipe)
    keep = _keep_dataset(project, recipe)
    thresholds = recipe.min_scores or {}
    rows, versions, chunks = [], set(), set()
    below = outside = 0
    for row_id, version, chunk, scores, *values in found:
        if not passes_scores(json.loads(scores) if scores else None, thresholds):
            below += 1
        elif keep is not None and row_id not in keep[1]:
            outside += 1
        else:
            rows.append(MixRow("synthetic", row_id, record_for(recipe.kind, tuple(values))))
            versions.add(version)
            chunks.add(chunk)
    filters = {"accepted": len(found), "below_min_scores": below, "not_in_keep_dataset": outside,
               "keep_audit_dataset": keep[0].id if keep else None}  # fmt: skip
    return Synthetic(rows, sorted(versions), sorted(chunks), filters)


def nothing_left(recipe: DatasetRecipe, filters: dict[str, Any]) -> WorkbenchError:
    """The error for a recipe that selects no synthetic row, with a hint for the likely cause."""
    table = _TABLES[recipe.kind][0]
    if not filters["accepted"]:
        what = "with a rejected answer " if recipe.kind == "preference" else ""
        pipeline = "docs" if recipe.kind == "midtrain" else "sft"
        return WorkbenchError(
            f"Nothing accepted {what}in {table}"
            + (f" of traits {recipe.traits_ref}" if recipe.traits_ref else "")
            + "; no dataset was built.",
            hint=f"Accept some first (`workbench {pipeline} review`, or auto-accept), or choose another --traits.",
        )
    return WorkbenchError(
        f"The filters removed all {filters['accepted']} accepted rows of {table} "
        f"({filters['below_min_scores']} below the score thresholds, "
        f"{filters['not_in_keep_dataset']} not in the keep dataset); no dataset was built.",
        hint="Lower --min-score, or keep a dataset that still holds rows accepted now "
        "(an edited row has a new id: snapshot and filter again).",
    )
