"""The Overview page: counts, spend, latest runs and what to do next."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest import open_page
from tests.review_rows import plant_examples
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.project import Project, load_project
from workbench.review import review_many
from workbench.runs import finish_run, start_run
from workbench.status import project_status
from workbench.store.traits import add_traits_file
from workbench.train.config import load_train_config
from workbench.train.tracking import register_checkpoint, start_train_run
from workbench.views.overview import latest_runs, next_steps, status_rows


def commands(project: Project) -> list[str | None]:
    return [step.command for step in next_steps(project, project_status(project.store))]


def test_overview_of_an_empty_project_says_what_to_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("overview", project, monkeypatch)
    assert not at.exception
    assert any("No traits documents yet" in info.value for info in at.info)
    assert [c.value for c in at.code] == [
        "workbench traits add data/traits/candid_care.md",
        "workbench sft run candid_care --pilot 3",  # no rows yet
        "workbench llm ask Hello --role generator",  # no calls yet
        "workbench sft run candid_care --pilot 3",  # no runs yet
    ]


def test_overview_names_the_model_the_documents_describe_and_warns_when_unset(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("overview", project, monkeypatch)
    assert any("No target model identity" in w.value for w in at.warning)
    monkeypatch.setenv("WORKBENCH_IDENTITY__MODEL_NAME", "Kite*")
    monkeypatch.setenv("WORKBENCH_IDENTITY__MAKER_NAME", "Lab_X")
    at = open_page("overview", load_project(project.root), monkeypatch)
    assert not any("No target model identity" in w.value for w in at.warning)
    assert any(r"Kite\* by Lab\_X" in c.value for c in at.caption)  # the names, literally (no Markdown)


def test_next_steps_follow_the_data_flow(project: Project, tmp_path: Path) -> None:
    assert commands(project) == ["workbench traits add data/traits/candid_care.md"]
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks.\n")
    add_traits_file(project.store, doc, name="my doc")
    assert commands(project) == ["workbench sft run 'my doc' --pilot 3", "workbench docs run 'my doc' --pilot 3"]

    ids = plant_examples(project, 5)  # scenarios accepted, examples waiting for review
    steps = next_steps(project, project_status(project.store))
    assert [s.text for s in steps][-1] == "Review 5 examples on the Review page."
    assert steps[-1].command == "workbench sft list examples --status needs_review"
    assert not any("sft run" in (c or "") for c in commands(project))  # scenarios exist now

    review_many(project.store, "sft_examples", ids[:3], "accept", reviewer="test")
    steps = next_steps(project, project_status(project.store))
    assert [s.text for s in steps][-2:] == [
        "Review 2 examples on the Review page.",
        "Build a training dataset (sft) from the 3 accepted rows.",
    ]
    assert steps[-1].command == "workbench dataset build 'my doc-sft' --kind sft --traits 'my doc'"

    dataset = build_dataset(project, DatasetRecipe(name="mix", kind="sft", validation_fraction=0.0))
    base = "Qwen/Qwen2.5-0.5B-Instruct"  # the project's baseline role, without its hf: prefix
    assert commands(project)[-1] == f"workbench train sft --dataset {dataset.id} --base-model {base}"

    config = load_train_config("sft", overrides={"dataset": "mix", "base_model": "tiny"})
    run_id = start_train_run(project, config, backend="trl", base_model="tiny", parent=None, output_dir="out",
                             dataset_id=dataset.id)  # fmt: skip
    assert not any("workbench train" in (c or "") for c in commands(project))
    register_checkpoint(project, run_id, 2, "/ckpt/step-2", kind="adapter", base_model="tiny", manifest={})
    register_checkpoint(project, run_id, 4, "/ckpt/final", kind="adapter", base_model="tiny", manifest={})
    assert commands(project)[-1] == "workbench eval run --suite knowledge --model hf:/ckpt/final --traits 'my doc'"

    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status)"
            " VALUES ('e1', 'knowledge', 'hf:/ckpt/final', 'target', 'h', '{}', 'done')"
        )
    assert not any("workbench eval run" in (c or "") for c in commands(project))


def test_status_rows_and_latest_runs(project: Project) -> None:
    plant_examples(project, 4)
    rows = {(r.stage, r.status): r.rows for r in status_rows(project_status(project.store))}
    assert rows == {("sft.examples", "needs_review"): 4, ("sft.scenarios", "ok"): 4}

    first = start_run(project.store, "sft")
    finish_run(project.store, first, "done")
    second = start_run(project.store, "docs")
    with project.store.transaction() as con:
        con.execute("UPDATE runs SET started_at = started_at + INTERVAL 1 MINUTE WHERE id = ?", [second])
        for i, cost in enumerate([0.5, 0.25]):
            con.execute(
                "INSERT INTO llm_calls (id, run_id, stage, model, cache_key, attempt, purpose, status, cost_usd)"
                " VALUES (?, ?, 'docs.draft', 'm', ?, 1, 'call', 'ok', ?)",
                [f"c{i}", second, f"k{i}", cost],
            )
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status, created_at)"
            " VALUES ('e1', 'audit', 'hf:m', 'target', 'h', '{}', 'running', now() + INTERVAL 1 HOUR)"
        )
    runs = latest_runs(project, limit=2)
    assert [(r.kind, r.id, r.what, r.status) for r in runs] == [
        ("eval", "e1", "audit · hf:m (target)", "running"),
        ("generation", second, "docs", "running"),
    ]
    assert runs[1].cost_usd == 0.75
    assert [r.id for r in latest_runs(project)][-1] == first


def test_overview_page_shows_counts_steps_and_runs(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_examples(project, 3)
    start_run(project.store, "sft")
    at = open_page("overview", project, monkeypatch)
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Awaiting review"] == "3"
    assert any(info.value == "Review 3 examples on the Review page." for info in at.info)
    assert "workbench sft list examples --status needs_review" in [c.value for c in at.code]
    tables = [d.value for d in at.dataframe]
    counts = next(t for t in tables if "reason" in t.columns)
    assert counts.set_index(["stage", "status"]).loc[("sft.examples", "needs_review"), "rows"] == 3
    runs = next(t for t in tables if "kind" in t.columns)
    assert list(runs["what"]) == ["sft"]
