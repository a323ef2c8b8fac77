"""Export accepted examples as training files in TRL's conversational formats.

    paths = export_sft(project, out_dir, traits_ref="candid_care")

* `chat.jsonl` — one `{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}` per
  accepted example. No system prompt: the trait must live in the weights, not the context.
* `preference.jsonl` — `{"prompt": [user turn], "chosen": [assistant turn], "rejected": [...]}`
  for accepted examples that have a checked rejected answer.
* `manifest.json` — the traits version(s), example ids and counts, for lineage.

Each file is written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.files import write_atomic, write_jsonl
from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.store.traits import get_version


@dataclass(frozen=True)
class ExportResult:
    """Where the files went and how many rows each has."""

    chat_path: Path
    preference_path: Path
    manifest_path: Path
    chat_rows: int
    preference_rows: int


def accepted_rows(project: Project, table: str, columns: str, traits_ref: str | None, hint: str) -> list[Any]:
    """`columns` of the accepted (`ok`) rows of `table`, of one traits version or all, oldest first.

    Raises:
        WorkbenchError: there is no accepted row; `hint` says how to accept some.
    """
    sql = f"SELECT {columns} FROM {table} WHERE status = 'ok' AND run_id IS DISTINCT FROM ?"
    params: list[Any] = [DEMO_RUN]
    if traits_ref:
        sql += " AND traits_version = ?"
        params.append(get_version(project.store, traits_ref).id)
    with project.store.connect() as con:
        rows = con.execute(sql + " ORDER BY created_at, id", params).fetchall()
    if not rows:
        raise WorkbenchError(f"Nothing accepted to export from {table}.", hint=hint)
    return rows


def export_sft(project: Project, out_dir: Path, *, traits_ref: str | None = None) -> ExportResult:
    """Write the accepted examples (of one traits version, or all) to `out_dir`.

    Raises:
        WorkbenchError: there is no accepted example to export.
    """
    rows = accepted_rows(
        project, "sft_examples", "id, traits_version, user_prompt, response, rejected, chunk_id", traits_ref,
        hint="Accept examples with `workbench sft review accept ...` (or set [sft] auto_accept_examples).",
    )  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    chat = [
        {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]}
        for _, _, prompt, response, _, _ in rows
    ]
    preference = [
        {
            "prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": response}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
        for _, _, prompt, response, rejected, _ in rows
        if rejected
    ]
    result = ExportResult(
        out_dir / "chat.jsonl", out_dir / "preference.jsonl", out_dir / "manifest.json", len(chat), len(preference)
    )
    write_jsonl(result.chat_path, chat)
    write_jsonl(result.preference_path, preference)
    manifest = {
        "traits_versions": sorted({v for _, v, *_ in rows}),
        "chunk_ids": sorted({r[5] for r in rows}),
        "chat_example_ids": [r[0] for r in rows],
        "preference_example_ids": [r[0] for r in rows if r[4]],
        "counts": {"chat": len(chat), "preference": len(preference)},
    }
    write_atomic(result.manifest_path, json.dumps(manifest, indent=2) + "\n")
    return result
