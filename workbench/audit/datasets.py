"""Datasets to audit: frozen sets of rows, from the store's own data or from a file.

    dataset = snapshot_store(project, "sft")                  # accepted SFT examples, as chat rows
    dataset = save_dataset(project, name="x", source="file", format="text", rows=[DatasetRow(...)])
    rows = dataset_rows(project, dataset.id)

A dataset's id is a hash of its source, format, parent and rows (ids, texts, groups, records), so
saving the same rows twice returns the first dataset and writes nothing. Rows are written in one
transaction: a dataset is either all there or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from workbench.audit.formats import Format, render_record
from workbench.embeddings import text_hash
from workbench.errors import WorkbenchError
from workbench.files import write_jsonl
from workbench.generate.steps import stable_id
from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.store.traits import get_version

StoreSource = Literal["sft", "preference", "documents"]


@dataclass(frozen=True)
class DatasetRow:
    """One row on its way into a dataset.

    Attributes:
        row_id: Unique within the dataset: the store row's id, or where in a file it came from.
        record: The row in its own format (what export writes back).
        text: What the auditor reads (see `formats.render_record`).
        group: What prevalence is broken down by (a trait, a file's `group` field), if anything.
    """

    row_id: str
    record: dict[str, Any]
    text: str
    group: str | None = None


class AuditDataset(BaseModel):
    """A stored dataset to audit."""

    id: str = Field(description="Hash of the source, format, parent and rows.")
    name: str = Field(description="A name for people; several datasets may share one (the newest wins).")
    source: str = Field(description="sft, preference, documents, file, outputs or filtered.")
    origin: str | None = Field(description="The file imported, or which rows of the store.")
    format: str = Field(description="The rows' format (see workbench.audit.formats).")
    parent_id: str | None = Field(description="For a filtered dataset: the dataset it was filtered from.")
    filter: dict[str, Any] | None = Field(description="For a filtered dataset: the audit, patterns and level.")
    row_count: int = Field(description="Rows in the dataset.")
    created_at: datetime = Field(description="When it was saved.")


class StoredRow(BaseModel):
    """A row of a stored dataset."""

    row_id: str = Field(description="Unique within the dataset.")
    position: int = Field(description="Order in the dataset, from 0.")
    group: str | None = Field(description="What prevalence is broken down by.")
    text: str = Field(description="What the auditor reads.")
    text_hash: str = Field(description="sha256 of text; ratings are keyed by it.")
    record: dict[str, Any] = Field(description="The row in its own format.")


_DATASET_COLUMNS = "id, name, source, origin, format, parent_id, filter, row_count, created_at"


def _dataset(row: tuple[Any, ...]) -> AuditDataset:
    values = dict(zip(_DATASET_COLUMNS.split(", "), row, strict=True))
    values["filter"] = json.loads(values["filter"]) if values["filter"] else None
    return AuditDataset.model_validate(values)


def save_dataset(
    project: Project,
    *,
    name: str,
    source: str,
    format: Format,
    rows: Sequence[DatasetRow],
    origin: str | None = None,
    parent_id: str | None = None,
    filter: dict[str, Any] | None = None,
) -> AuditDataset:
    """Store `rows` as a dataset (or return the identical one already stored).

    Raises:
        WorkbenchError: no rows, or two rows share an id.
    """
    if not rows:
        raise WorkbenchError(f"Dataset {name!r} has no rows; nothing was saved.")
    seen: set[str] = set()
    for row in rows:
        if row.row_id in seen:
            raise WorkbenchError(f"Dataset {name!r}: two rows have the id {row.row_id!r}; nothing was saved.")
        seen.add(row.row_id)
    hashes = [text_hash(r.text) for r in rows]
    # The record and group are hashed too: both are stored and exported, and a record can differ
    # outside its text (a preference row's rejected answer, extra fields).
    records = [json.dumps(r.record, sort_keys=True) for r in rows]
    dataset_id = stable_id(
        source, format, parent_id,
        *(f"{r.row_id}:{h}:{r.group}:{rec}" for r, h, rec in zip(rows, hashes, records, strict=True)),
    )  # fmt: skip
    with project.store.transaction() as con:
        if not con.execute("SELECT 1 FROM audit_datasets WHERE id = ?", [dataset_id]).fetchone():
            con.execute(
                f"INSERT INTO audit_datasets ({_DATASET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [dataset_id, name, source, origin, format, parent_id,
                 json.dumps(filter) if filter is not None else None, len(rows)],
            )  # fmt: skip
            con.execute(
                "INSERT INTO audit_rows SELECT ?, unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)",
                [dataset_id, [r.row_id for r in rows], list(range(len(rows))), [r.group for r in rows],
                 [r.text for r in rows], hashes, [json.dumps(r.record) for r in rows]],
            )  # fmt: skip
    return get_dataset(project, dataset_id)


def get_dataset(project: Project, ref: str) -> AuditDataset:
    """A dataset by id, id prefix or name (the newest of that name).

    Raises:
        WorkbenchError: nothing matches.
    """
    with project.store.connect() as con:
        row = con.execute(
            f"SELECT {_DATASET_COLUMNS} FROM audit_datasets WHERE id = ? OR name = ? OR starts_with(id, ?)"
            " ORDER BY id = ? DESC, name = ? DESC, created_at DESC LIMIT 1",
            [ref, ref, ref, ref, ref],
        ).fetchone()
    if row is None:
        raise WorkbenchError(
            f"No audit dataset {ref!r}.",
            hint="List them with `workbench audit datasets`; add one with `workbench audit import FILE` "
            "or `workbench audit snapshot sft`.",
        )
    return _dataset(row)


def list_datasets(project: Project) -> list[AuditDataset]:
    """Every stored dataset, newest first."""
    with project.store.connect() as con:
        rows = con.execute(f"SELECT {_DATASET_COLUMNS} FROM audit_datasets ORDER BY created_at DESC, id").fetchall()
    return [_dataset(r) for r in rows]


def dataset_rows(
    project: Project, dataset_id: str, row_ids: Sequence[str] | None = None, positions: Sequence[int] | None = None
) -> list[StoredRow]:
    """The rows of a dataset (all, or those named by id or by position), in dataset order."""
    sql = "SELECT row_id, position, grp, text, text_hash, record FROM audit_rows WHERE dataset_id = ?"
    params: list[Any] = [dataset_id]
    if row_ids is not None:
        sql += " AND row_id IN (SELECT unnest(?))"
        params.append(list(row_ids))
    if positions is not None:
        sql += " AND position IN (SELECT unnest(?::INTEGER[]))"
        params.append(list(positions))
    with project.store.connect() as con:
        rows = con.execute(sql + " ORDER BY position", params).fetchall()
    return [
        StoredRow(row_id=r[0], position=r[1], group=r[2], text=r[3], text_hash=r[4], record=json.loads(r[5]))
        for r in rows
    ]


# Per store source: the table and the columns a row of it is read with.
_STORE_QUERIES: dict[str, tuple[str, str]] = {
    "sft": ("sft_examples", "e.user_prompt, e.response"),
    "preference": ("sft_examples", "e.user_prompt, e.response, e.rejected"),
    "documents": ("documents", "e.text"),
}
_STORE_FORMATS: dict[str, Format] = {"sft": "messages", "preference": "preference", "documents": "text"}


def _store_record(source: StoreSource, values: tuple[Any, ...]) -> dict[str, Any]:
    if source == "documents":
        return {"text": values[0]}
    user, assistant = {"role": "user", "content": values[0]}, {"role": "assistant", "content": values[1]}
    if source == "preference":
        return {"prompt": [user], "chosen": [assistant], "rejected": [{"role": "assistant", "content": values[2]}]}
    return {"messages": [user, assistant]}


def snapshot_store(
    project: Project, source: StoreSource, *, traits_ref: str | None = None, name: str | None = None
) -> AuditDataset:
    """The accepted rows of one of the store's datasets, as a dataset to audit.

    `sft` is the accepted examples as chats, `preference` those with a rejected answer as
    prompt/chosen/rejected, `documents` the accepted midtraining documents. Each row is grouped
    by its trait.

    Raises:
        WorkbenchError: an unknown source, or nothing is accepted yet.
    """
    if source not in _STORE_QUERIES:
        raise WorkbenchError(f"Unknown store dataset {source!r}.", hint="Use sft, preference or documents.")
    table, columns = _STORE_QUERIES[source]
    sql = f"SELECT e.id, c.title, {columns} FROM {table} e JOIN chunks c ON c.id = e.chunk_id WHERE e.status = 'ok'"
    sql += " AND e.run_id IS DISTINCT FROM ?"
    params: list[Any] = [DEMO_RUN]
    if source == "preference":
        sql += " AND e.rejected IS NOT NULL"
    if traits_ref:
        sql += " AND e.traits_version = ?"
        params.append(get_version(project.store, traits_ref).id)
    with project.store.connect() as con:
        found = con.execute(sql + " ORDER BY e.created_at, e.id", params).fetchall()
    if not found:
        pipeline = "docs" if source == "documents" else "sft"
        raise WorkbenchError(
            f"Nothing accepted in {table} to audit.", hint=f"Accept some first (`workbench {pipeline} review`)."
        )
    format = _STORE_FORMATS[source]
    rows = []
    for row_id, title, *values in found:
        record = _store_record(source, tuple(values))
        rows.append(DatasetRow(row_id, record, render_record(record, format), title))
    origin = f"accepted {table}" + (f" of traits {traits_ref}" if traits_ref else "")
    return save_dataset(project, name=name or source, source=source, format=format, rows=rows, origin=origin)


def export_dataset(project: Project, ref: str, path: Path) -> int:
    """Write a dataset's records as JSONL (atomically), in their own format. Returns the row count."""
    dataset = get_dataset(project, ref)
    records = [r.record for r in dataset_rows(project, dataset.id)]
    write_jsonl(path, records)
    return len(records)
