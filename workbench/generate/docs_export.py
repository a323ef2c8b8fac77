"""Export accepted midtraining documents as a plain-text dataset, with a manifest for lineage.

    result = export_docs(project, out_dir, traits_ref="candid_care")

* `documents.jsonl` — one `{"text": ...}` per accepted document (what continued pretraining reads).
* `documents.parquet` — the same rows, one `text` column.
* `manifest.json` — traits version(s), chunk ids, document types, and the row ids in file order.

Files are written under a temporary name and renamed (`export.atomic_path`), so a crash never
leaves half a file.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.files import atomic_path, write_atomic, write_jsonl
from workbench.generate.export import accepted_rows
from workbench.project import Project


@dataclass(frozen=True)
class DocsExportResult:
    """Where the files went and how many documents they hold."""

    jsonl_path: Path
    parquet_path: Path
    manifest_path: Path
    rows: int


def export_docs(project: Project, out_dir: Path, *, traits_ref: str | None = None) -> DocsExportResult:
    """Write the accepted documents (of one traits version, or all) to `out_dir`.

    Raises:
        WorkbenchError: there is no accepted document to export.
    """
    rows = accepted_rows(
        project, "documents", "id, traits_version, chunk_id, doc_type, text", traits_ref,
        hint="Accept documents with `workbench docs review accept ...` (or set [docs] auto_accept).",
    )  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    result = DocsExportResult(
        out_dir / "documents.jsonl", out_dir / "documents.parquet", out_dir / "manifest.json", len(rows)
    )
    texts = [row[4] for row in rows]
    write_jsonl(result.jsonl_path, [{"text": t} for t in texts])
    with atomic_path(result.parquet_path) as tmp:
        pq.write_table(pa.table({"text": texts}), tmp)
    manifest = {
        "traits_versions": sorted({r[1] for r in rows}),
        "chunk_ids": sorted({r[2] for r in rows}),
        "doc_types": dict(sorted(Counter(r[3] for r in rows).items())),
        "document_ids": [r[0] for r in rows],
        "counts": {"documents": len(rows)},
    }
    write_atomic(result.manifest_path, json.dumps(manifest, indent=2) + "\n")
    return result
