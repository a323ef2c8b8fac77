"""Training datasets whose rows come from an audit dataset (an imported file, or a filtered child of one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from workbench.audit.datasets import DatasetRow, dataset_rows, save_dataset
from workbench.audit.imports import import_file
from workbench.cli import app
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.datasets.build import train_dataset_entries
from workbench.errors import WorkbenchError
from workbench.project import Project


def chat(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": f"How tall is tree {i}?"},
                         {"role": "assistant", "content": f"Tree {i} is {i + 2} metres tall."}]}  # fmt: skip


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def records_of(project: Project, ref: str) -> dict[str, dict[str, Any]]:
    entries = train_dataset_entries(project, ref, "train") + train_dataset_entries(project, ref, "validation")
    return {e.source_id or "": e.record for e in entries}


def test_an_imported_file_and_its_filtered_child(project: Project, tmp_path: Path) -> None:
    imported = import_file(project, write_jsonl(tmp_path / "answers.jsonl", [chat(i) for i in range(10)]))
    full = build_dataset(project, DatasetRecipe(name="full", audit_dataset=imported.name, validation_fraction=0.2))
    records = records_of(project, "full")
    assert sorted(records) == sorted(f"line {i + 1}" for i in range(10))
    # The system turn never reaches training text; user and assistant turns come through unchanged.
    assert records["line 4"] == {"messages": chat(3)["messages"][1:]}
    assert (full.train_rows, full.validation_rows) == (8, 2)
    assert full.manifest["filters"] == {"audit_dataset": imported.id, "audit_dataset_rows": 10}
    assert full.manifest["synthetic_fraction"] == 1.0

    kept = [r for r in dataset_rows(project, imported.id) if r.row_id not in ("line 1", "line 2", "line 3")]
    child = save_dataset(project, name="answers minus three", source="filtered", format="messages",
                         rows=[DatasetRow(r.row_id, r.record, r.text, r.group) for r in kept],
                         parent_id=imported.id)  # fmt: skip
    filtered = build_dataset(project, DatasetRecipe(name="filtered", audit_dataset=child.id))
    assert sorted(records_of(project, "filtered")) == sorted(f"line {i}" for i in range(4, 11))
    assert filtered.manifest["filters"]["audit_dataset"] == child.id
    # The same recipe over the same rows is the same dataset.
    assert build_dataset(project, DatasetRecipe(name="filtered", audit_dataset=child.id)).id == filtered.id


def test_prompt_completion_rows_become_chats(project: Project, tmp_path: Path) -> None:
    rows = [{"prompt": f"Name colour {i}.", "completion": [{"role": "assistant", "content": f"Colour {i}."}]}
            for i in range(3)]  # fmt: skip
    imported = import_file(project, write_jsonl(tmp_path / "pc.jsonl", rows))
    build_dataset(project, DatasetRecipe(name="pc", audit_dataset=imported.id, validation_fraction=0))
    assert records_of(project, "pc")["line 2"] == {
        "messages": [{"role": "user", "content": "Name colour 1."}, {"role": "assistant", "content": "Colour 1."}]
    }


def test_bad_sources_are_refused(project: Project, tmp_path: Path) -> None:
    docs = import_file(project, write_jsonl(tmp_path / "docs.jsonl", [{"text": "A memo."}, {"text": "A post."}]))
    with pytest.raises(WorkbenchError, match="holds text rows; a sft dataset trains on messages or prompt_completion"):
        build_dataset(project, DatasetRecipe(name="x", audit_dataset=docs.id))
    assert build_dataset(project, DatasetRecipe(name="d", kind="midtrain", audit_dataset=docs.id)).train_rows == 1
    questions = [{"messages": [{"role": "user", "content": f"Why {i}?"}]} for i in range(2)]
    only_users = import_file(project, write_jsonl(tmp_path / "q.jsonl", questions))
    with pytest.raises(WorkbenchError, match=r"2 row\(s\) .* nothing to train on: line 1: no assistant turn"):
        build_dataset(project, DatasetRecipe(name="x", audit_dataset=only_users.id))
    with pytest.raises(WorkbenchError, match="supplies the rows itself; traits_ref, min_scores select store rows"):
        DatasetRecipe(name="x", audit_dataset="a", traits_ref="t", min_scores={"quality": 3})
    with pytest.raises(WorkbenchError, match=r"No .*dataset"):
        build_dataset(project, DatasetRecipe(name="x", audit_dataset="nothing-by-this-name"))


def test_cli_builds_from_an_audit_dataset(project: Project, tmp_path: Path) -> None:
    imported = import_file(project, write_jsonl(tmp_path / "answers.jsonl", [chat(i) for i in range(4)]))
    result = CliRunner().invoke(
        app, ["dataset", "build", "cli", "--audit-dataset", imported.id, "--validation", "0", "-p", str(project.root)]
    )
    assert result.exit_code == 0, result.output
    assert "4 train, 0 validation rows" in result.output
    assert f"Rows of audit dataset {imported.id}: 4" in result.output
