"""Read models of the Datasets page: audit datasets with their lineage, training datasets and their make-up.

    lineage = audit_dataset_lineage(project)               # snapshots, imports, filtered (parent, filter)
    summaries = train_dataset_summaries(project)           # without reading the manifests' row id lists
    composition = dataset_composition(project, dataset.id) # rows per origin, trait and traits version
    figure = composition_figure(composition)               # rows per trait, stacked by split (themed)
    records = train_preview(project, dataset.id, "train", limit=3)
    files = export_to_project(project, dataset.id)         # <project>/exports/datasets/<id>/
    data = audit_dataset_jsonl(project, audit_dataset.id)  # bytes for a download

A training dataset's manifest lists every row id it holds (100,000 of them for a large SFT
set), so the listing reads only the manifest's small fields, in SQL, and shows the lists as counts.
"""

from __future__ import annotations

import html
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from workbench.audit.datasets import export_dataset, list_datasets
from workbench.datasets import ExportedFiles, export_train_dataset
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.style import themed

# The manifest's small fields, read as they are, and its row id lists, read as their lengths.
MANIFEST_FIELDS = ("traits_versions", "filters", "counts", "synthetic_fraction", "baseline",
                   "system_turns_dropped", "content_hash", "content_hash_of")  # fmt: skip
MANIFEST_LISTS = ("chunk_ids", "synthetic_row_ids", "baseline_row_ids")
EXPORTS = Path("exports") / "datasets"


@dataclass(frozen=True)
class AuditDatasetLineage:
    """A dataset to audit, where it came from, and (if filtered) its parent and filter.

    Attributes:
        id: The dataset's id.
        name: Its name.
        source: sft, preference, documents, file, outputs or filtered.
        origin: The file imported, or which rows of the store.
        format: The rows' format.
        rows: How many rows it holds.
        parent: The parent's name and id, for a filtered dataset.
        filter: The filter that made it: level, pattern names and rows removed.
        created_at: When it was saved.
    """

    id: str
    name: str
    source: str
    origin: str | None
    format: str
    rows: int
    parent: str | None
    filter: str | None
    created_at: datetime


@dataclass(frozen=True)
class TrainDatasetSummary:
    """A training dataset as listed: its recipe and counts, not its row ids."""

    id: str
    name: str
    kind: str
    recipe: dict[str, Any]
    train_rows: int
    validation_rows: int
    synthetic_fraction: float | None
    created_at: datetime


@dataclass(frozen=True)
class CompositionRow:
    """Rows of a training dataset from one origin, trait (chunk title) and traits version, per split.

    `trait` and `traits_version` are None for baseline rows.
    """

    origin: str
    trait: str | None
    traits_version: str | None
    train: int
    validation: int

    @property
    def total(self) -> int:
        return self.train + self.validation


@dataclass(frozen=True)
class Composition:
    """What a training dataset is made of, grouped in SQL by origin, trait and traits version."""

    dataset_id: str
    rows: list[CompositionRow]

    def total(self) -> int:
        """Rows in both splits."""
        return sum(r.total for r in self.rows)

    def by_origin(self) -> dict[str, int]:
        """Rows per origin (synthetic, baseline)."""
        return self._count(lambda r: r.origin)

    def by_trait(self) -> dict[str, int]:
        """Synthetic rows per trait (chunk title)."""
        return self._count(lambda r: r.trait)

    def by_traits_version(self) -> dict[str, int]:
        """Synthetic rows per traits version (`document@N`)."""
        return self._count(lambda r: r.traits_version)

    def synthetic_fraction(self) -> float | None:
        """Synthetic rows over all rows (None for an empty dataset)."""
        total = self.total()
        return self.by_origin().get("synthetic", 0) / total if total else None

    def _count(self, key: Callable[[CompositionRow], str | None]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for row in self.rows:
            if (name := key(row)) is not None:
                counts[name] += row.total
        return dict(counts)


def audit_dataset_lineage(project: Project) -> list[AuditDatasetLineage]:
    """Every dataset to audit, newest first, with its parent and filter spelled out."""
    datasets = list_datasets(project)
    names = {d.id: d.name for d in datasets}
    found = []
    for d in datasets:
        parent = f"{names.get(d.parent_id, '(missing)')} ({d.parent_id})" if d.parent_id else None
        described = None
        if d.filter:
            patterns = ", ".join(p["name"] for p in d.filter.get("patterns", []))
            described = f"{d.filter.get('level')}: {patterns}; removed {d.filter.get('removed')}"
        found.append(AuditDatasetLineage(d.id, d.name, d.source, d.origin, d.format, d.row_count, parent,
                                         described, d.created_at))  # fmt: skip
    return found


def audit_dataset_jsonl(project: Project, dataset_ref: str) -> bytes:
    """A dataset's records as JSONL, as `workbench audit export` writes them.

    Raises:
        WorkbenchError: no such dataset.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dataset.jsonl"
        export_dataset(project, dataset_ref, path)
        return path.read_bytes()


def train_dataset_summaries(project: Project) -> list[TrainDatasetSummary]:
    """Every training dataset, newest first, read without parsing its manifest's row id lists."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT id, name, kind, recipe, train_rows, validation_rows,"
            " CAST(manifest->>'$.synthetic_fraction' AS DOUBLE), created_at"
            " FROM train_datasets ORDER BY created_at DESC, id"
        ).fetchall()
    return [TrainDatasetSummary(i, n, k, json.loads(r), t, v, s, c) for i, n, k, r, t, v, s, c in rows]


def manifest_summary(project: Project, dataset_id: str) -> dict[str, Any]:
    """A training dataset's manifest with each row id list replaced by its length (`<name>_count`).

    Raises:
        WorkbenchError: no such dataset.
    """
    paths = [f"$.{name}" for name in MANIFEST_FIELDS]
    lengths = ", ".join(f"json_array_length(manifest, '$.{name}')" for name in MANIFEST_LISTS)
    with project.store.connect() as con:
        row = con.execute(
            f"SELECT recipe, json_extract(manifest, ?), {lengths} FROM train_datasets WHERE id = ?",
            [paths, dataset_id],
        ).fetchone()
    if row is None:
        raise WorkbenchError(f"No training dataset {dataset_id!r}.", hint="List them with `workbench dataset list`.")
    recipe, values, *counts = row
    summary: dict[str, Any] = {"recipe": json.loads(recipe)}
    summary |= {name: json.loads(v) if v is not None else None for name, v in zip(MANIFEST_FIELDS, values, strict=True)}
    summary |= {f"{name}_count": n for name, n in zip(MANIFEST_LISTS, counts, strict=True)}
    return summary


def dataset_composition(project: Project, dataset_id: str) -> Composition:
    """Rows of a training dataset per origin, trait and traits version, per split (empty if unknown).

    A synthetic row's `source_id` is an SFT example or a document; both tables are joined, as
    their ids are content hashes that never collide.
    """
    with project.store.connect() as con:
        found = con.execute(
            "SELECT t.origin, c.title, v.document || '@' || v.number AS version,"
            " count(*) FILTER (WHERE t.split = 'train'), count(*) FILTER (WHERE t.split = 'validation')"
            " FROM train_rows t"
            " LEFT JOIN (SELECT id, chunk_id, traits_version FROM sft_examples"
            "            UNION ALL SELECT id, chunk_id, traits_version FROM documents) s"
            "   ON t.origin = 'synthetic' AND s.id = t.source_id"
            " LEFT JOIN chunks c ON c.id = s.chunk_id"
            " LEFT JOIN traits_versions v ON v.id = s.traits_version"
            " WHERE t.dataset_id = ? GROUP BY ALL ORDER BY t.origin DESC, c.title, version",
            [dataset_id],
        ).fetchall()
    return Composition(dataset_id, [CompositionRow(o, c, v, t, n) for o, c, v, t, n in found])


def composition_figure(composition: Composition) -> go.Figure:
    """Rows per trait as bars stacked by split; baseline rows are one bar, `(baseline)`."""
    labels = [html.escape(r.trait or "(baseline)") for r in composition.rows]  # Plotly reads tags in a title
    figure = go.Figure()
    figure.add_bar(x=labels, y=[r.train for r in composition.rows], name="train")
    figure.add_bar(x=labels, y=[r.validation for r in composition.rows], name="validation")
    figure.update_layout(barmode="stack", title="Rows per trait and split", yaxis_title="rows", legend_title="split",
                         height=340)  # beside the composition table, not towering over it  # fmt: skip
    return themed(figure)


def export_to_project(project: Project, dataset_id: str) -> ExportedFiles:
    """Export a training dataset (JSONL, Parquet, manifest) to `<project>/exports/datasets/<id>/`.

    Raises:
        WorkbenchError: no such dataset.
    """
    return export_train_dataset(project, dataset_id, project.root / EXPORTS / dataset_id)
