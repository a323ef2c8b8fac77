"""The dataset an audit starts from, as notebooks/04_pattern_audit.py's form chooses and shows it.

    source = mo.ui.radio(SOURCES, value=STORED if known else IMPORT)
    dataset = chosen_dataset(project, DatasetForm(source.value, picked_id, **form.value))
    mo.md(dataset_line(dataset))
    reference = mo.ui.dropdown(dataset_options(known, excluding=dataset.id))

A dataset comes from the store's datasets, from a snapshot of the store's accepted rows
(`snapshot_store`), or from a file (`import_file`); the form's text is trimmed here and an empty
optional field means "not given", as on the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

from workbench.audit.datasets import AuditDataset, StoreSource, get_dataset, snapshot_store
from workbench.audit.formats import Format
from workbench.audit.imports import import_file
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.datasets import AuditDatasetLineage

STORED, SNAPSHOT, IMPORT = SOURCES = ("A dataset in the store", "Snapshot the accepted rows", "Import a file")
STORE_KINDS: tuple[StoreSource, ...] = get_args(StoreSource)
DETECT: Literal["detect"] = "detect"  # the format option that leaves it to `import_file` (from the first row)
FILE_FORMATS: tuple[Format | Literal["detect"], ...] = (
    DETECT, "messages", "prompt_completion", "sharegpt", "text", "preference",
)  # fmt: skip


@dataclass(frozen=True)
class DatasetForm:
    """The form's answers: which dataset to audit, or how to add it.

    Attributes:
        source: STORED, SNAPSHOT or IMPORT.
        stored_id: For STORED: the id of the dataset picked in the table (None: none picked).
        store_kind: For a snapshot: sft, preference or documents.
        traits_ref: For a snapshot: only rows of this traits version ("" for every version).
        path: For an import: the JSONL / Parquet file or `save_to_disk` folder.
        file_format: For an import: one of FILE_FORMATS (DETECT: from the first row).
        name: The dataset's name ("" for the default).
    """

    source: str
    stored_id: str | None = None
    store_kind: str = "sft"
    traits_ref: str = ""
    path: str = ""
    file_format: str = DETECT
    name: str = ""


def chosen_dataset(project: Project, form: DatasetForm) -> AuditDataset:
    """The stored dataset picked, or a new one: the store's accepted rows snapshotted, or a file imported.

    Raises:
        WorkbenchError: no dataset picked; an unknown source, kind or format; no path to import; or
            what `get_dataset`, `snapshot_store` and `import_file` raise (a missing file, a bad row, ...).
    """
    if form.source == STORED:
        if form.stored_id is None:
            raise WorkbenchError("No dataset is picked.", hint="Choose a dataset in the table.")
        return get_dataset(project, form.stored_id)
    name = form.name.strip() or None
    if form.source == SNAPSHOT:
        kind = _one_of(form.store_kind, STORE_KINDS, "kind of rows")
        return snapshot_store(project, cast(StoreSource, kind), traits_ref=form.traits_ref.strip() or None, name=name)
    if form.source != IMPORT:
        raise WorkbenchError(f"Unknown dataset source {form.source!r}.", hint=f"Choose one of: {', '.join(SOURCES)}.")
    if not form.path.strip():
        raise WorkbenchError("No file to import.", hint="Give the file's path.")
    fmt = _one_of(form.file_format, FILE_FORMATS, "format")
    chosen = None if fmt == DETECT else cast(Format, fmt)
    return import_file(project, Path(form.path.strip()).expanduser(), name=name, format=chosen)


def _one_of(value: str, allowed: Iterable[str], what: str) -> str:
    if value not in allowed:
        raise WorkbenchError(f"Unknown {what} {value!r}.", hint=f"Choose one of: {', '.join(allowed)}.")
    return value


def dataset_line(dataset: AuditDataset) -> str:
    """The dataset chosen, in Markdown: id, rows, format and source (name and origin are data: `origin_text`)."""
    return f"Dataset `{dataset.id}`: **{dataset.row_count}** {dataset.format} rows ({dataset.source})."


def origin_text(dataset: AuditDataset) -> str:
    """The dataset's name and where it came from, as plain text."""
    return f"{dataset.name} · from {dataset.origin or '-'}"


def dataset_options(known: Iterable[AuditDatasetLineage], excluding: str) -> dict[str, str]:
    """The other stored datasets as dropdown options: "name · id prefix" -> id (names may repeat)."""
    return {f"{d.name} · {d.id[:8]}": d.id for d in known if d.id != excluding}
