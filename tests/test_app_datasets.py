"""The Datasets page and its read models: lineage, composition computed from the store, preview and export."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.apptest import open_page
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.datasets import DatasetRecipe, TrainDataset, build_dataset, train_dataset_entries
from workbench.project import Project
from workbench.store.traits import add_traits_file, version_chunks
from workbench.views.datasets import (
    audit_dataset_jsonl,
    audit_dataset_lineage,
    dataset_composition,
    export_to_project,
    manifest_summary,
    train_dataset_summaries,
)

DOC = "# Doc\n\n- **Candid.** Names the risks of a plan plainly.\n- **Curious.** Asks why before answering.\n"
PER_TRAIT = {"Candid": 3, "Curious": 2}
SCRIPT = "<script>alert('pwned')</script>"


def plant_examples(project: Project, tmp_path: Path) -> None:
    """Accepted SFT examples per trait (PER_TRAIT), plus one rejected example that no dataset takes."""
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    version = add_traits_file(project.store, doc, name="doc").version
    chunks = {c.title: c.id for c in version_chunks(project.store, version.id)}
    rows = [(f"ex-{title}-{i}", chunks[title], f"Question {i} about {title.lower()}?", f"Answer {i}. {SCRIPT}", "ok")
            for title, n in PER_TRAIT.items() for i in range(n)]  # fmt: skip
    rows.append(("ex-rejected", chunks["Candid"], "Rejected question?", "Rejected answer.", "rejected"))
    with project.store.transaction() as con:
        for row_id, chunk, prompt, answer, row_status in rows:
            con.execute(
                "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,"
                " status) VALUES (?, ?, ?, ?, 'generated', ?, ?, ?)",
                [row_id, f"sc-{row_id}", version.id, chunk, prompt, answer, row_status],
            )


def build_mix(project: Project, tmp_path: Path) -> TrainDataset:
    """The planted examples mixed half and half with a baseline file; a fifth held out."""
    plant_examples(project, tmp_path)
    baseline = tmp_path / "baseline.jsonl"
    chats = [{"messages": [{"role": "user", "content": f"Repot cactus {i}?"},
                           {"role": "assistant", "content": f"Use gritty soil {i}."}]} for i in range(8)]  # fmt: skip
    baseline.write_text("".join(json.dumps(c) + "\n" for c in chats))
    recipe = DatasetRecipe(name="mix", kind="sft", baseline=str(baseline), synthetic_fraction=0.5,
                           validation_fraction=0.2, seed=0)  # fmt: skip
    return build_dataset(project, recipe)


def test_composition_counts_rows_per_origin_trait_and_version(project: Project, tmp_path: Path) -> None:
    dataset = build_mix(project, tmp_path)
    composition = dataset_composition(project, dataset.id)
    assert composition.total() == 10
    assert composition.by_origin() == {"synthetic": 5, "baseline": 5}
    assert composition.synthetic_fraction() == 0.5
    assert composition.by_trait() == PER_TRAIT
    assert composition.by_traits_version() == {"doc@1": 5}
    assert sum(r.train for r in composition.rows) == dataset.train_rows == 8
    assert sum(r.validation for r in composition.rows) == dataset.validation_rows == 2
    per_origin: Counter[str] = Counter()
    for row in composition.rows:
        per_origin[row.origin] += row.validation
    assert +per_origin == Counter(e.origin for e in train_dataset_entries(project, dataset.id, "validation"))
    assert dataset_composition(project, "no-such-id").rows == []


def test_composition_of_a_midtraining_dataset_reads_documents(project: Project, tmp_path: Path) -> None:
    plant_examples(project, tmp_path)
    with project.store.transaction() as con:  # two accepted documents of the first example's trait and version
        con.execute(
            "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names, text,"
            " origin, status) SELECT 'doc-' || i, traits_version, chunk_id, 'blog post', 300, i, 0, '[]',"
            " 'A blog post, number ' || i, 'generated', 'ok' FROM sft_examples, range(2) t(i) WHERE id = 'ex-Curious-0'"
        )
    dataset = build_dataset(project, DatasetRecipe(name="docs", kind="midtrain", validation_fraction=0))
    composition = dataset_composition(project, dataset.id)
    assert (composition.by_trait(), composition.by_origin(), composition.synthetic_fraction()) == (
        {"Curious": 2}, {"synthetic": 2}, 1.0)  # fmt: skip


def test_summaries_manifest_preview_and_export(project: Project, tmp_path: Path) -> None:
    dataset = build_mix(project, tmp_path)
    [summary] = train_dataset_summaries(project)
    assert (summary.id, summary.name, summary.kind, summary.synthetic_fraction) == (dataset.id, "mix", "sft", 0.5)
    assert (summary.train_rows, summary.validation_rows, summary.recipe["seed"]) == (8, 2, 0)

    manifest = manifest_summary(project, dataset.id)
    assert manifest["counts"] == dataset.manifest["counts"]
    assert (manifest["synthetic_row_ids_count"], manifest["baseline_row_ids_count"]) == (5, 5)
    assert "synthetic_row_ids" not in manifest and manifest["recipe"]["name"] == "mix"

    entries = train_dataset_entries(project, dataset.id, "train")
    assert train_dataset_entries(project, dataset.id, "train", limit=3) == entries[:3]

    files = export_to_project(project, dataset.id)
    assert files.train_jsonl == project.root / "exports" / "datasets" / dataset.id / "train.jsonl"
    assert [json.loads(line) for line in files.train_jsonl.read_text().splitlines()] == [e.record for e in entries]


def test_audit_dataset_lineage_and_jsonl(project: Project) -> None:
    rows = [DatasetRow(f"r{i}", {"text": f"Text {i} {SCRIPT}"}, f"Text {i} {SCRIPT}") for i in range(3)]
    parent = save_dataset(project, name="parent", source="file", format="text", rows=rows, origin="a.jsonl")
    child = save_dataset(
        project, name="child", source="filtered", format="text", rows=rows[:2], parent_id=parent.id,
        filter={"audit_id": "a1", "level": "strict", "removed": 1, "patterns": [{"id": "p", "name": "Hedging"}]},
    )  # fmt: skip
    lineage = {d.name: d for d in audit_dataset_lineage(project)}
    assert lineage["child"].parent == f"parent ({parent.id})"
    assert lineage["child"].filter == "strict: Hedging; removed 1"
    assert (lineage["parent"].parent, lineage["parent"].filter, lineage["parent"].rows) == (None, None, 3)
    lines = audit_dataset_jsonl(project, child.id).decode().splitlines()
    assert [json.loads(line) for line in lines] == [r.record for r in rows[:2]]


def test_datasets_page_on_an_empty_project_says_how_to_fill_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("datasets", project, monkeypatch)
    assert not at.exception
    infos = [i.value for i in at.info]
    assert len(infos) == 2  # one empty state per section
    assert [c.value for c in at.code] == [
        "workbench audit snapshot sft",
        "workbench dataset build candid_care-sft --kind sft",
    ]


def metric(at: Any, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def test_datasets_page_shows_composition_preview_and_exports(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dataset = build_mix(project, tmp_path)
    at = open_page("datasets", project, monkeypatch)
    assert not at.exception
    assert (metric(at, "Rows"), metric(at, "Synthetic rows"), metric(at, "Baseline rows")) == ("10", "5", "5")
    assert metric(at, "Synthetic fraction") == "50.0%"
    table = next(d.value for d in at.dataframe if "trait" in d.value.columns)
    per_trait = table.assign(rows=table.train + table.validation).groupby("trait")["rows"].sum().to_dict()
    assert per_trait == {**PER_TRAIT, "(baseline)": 5}
    assert at.get("plotly_chart")
    # The preview shows records as JSON: a script tag in an answer stays data, never markup.
    assert at.json and all("<script>" not in m.value for m in at.markdown)

    at.button(key="export").click().run()
    assert not at.exception
    exported = project.root / "exports" / "datasets" / dataset.id
    assert str(exported / "manifest.json") in at.code[-1].value  # after the empty audit section's command
    assert json.loads((exported / "manifest.json").read_text())["id"] == dataset.id
