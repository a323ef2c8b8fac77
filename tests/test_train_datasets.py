"""Training datasets: accepted rows, filters, a baseline mix, the leak check, export and the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.sft_setup import rows, run
from workbench.audit.datasets import DatasetRow, dataset_rows, save_dataset, snapshot_store
from workbench.cli import app
from workbench.datasets import DatasetRecipe, build_dataset, export_train_dataset, train_dataset_rows
from workbench.datasets.build import get_train_dataset, list_train_datasets, train_dataset_entries
from workbench.datasets.leaks import LEAK_PHRASES, find_leaks, traits_ngrams, words
from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError
from workbench.generate.docs_pipeline import run_docs
from workbench.project import Project, load_project
from workbench.review import review

# Eight words of the test traits document (tests/sft_setup.py DOC), with other case and punctuation.
QUOTE = "Honestly, THE assistant names the real-risks of a plan plainly!"


def chat(i: int, *, system: bool = True, answer: str | None = None) -> dict[str, Any]:
    """A baseline chat row with its own id, a system turn (kept by the builder) and an extra field."""
    turns = [{"role": "user", "content": f"How do I repot cactus number {i}?"},
             {"role": "assistant", "content": answer or f"Use gritty soil for cactus {i}, and gloves."}]  # fmt: skip
    if system:
        turns.insert(0, {"role": "system", "content": "You are a helpful gardening assistant."})
    return {"id": f"b{i}", "source": "garden", "messages": turns}


def write_baseline(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ok_examples(project: Project, extra: str = "") -> dict[str, tuple[str, str, str | None]]:
    found = rows(project, f"SELECT id, user_prompt, response, rejected FROM sft_examples WHERE status = 'ok' {extra}")
    return {r[0]: (r[1], r[2], r[3]) for r in found}


def stored(project: Project) -> tuple[int, int]:
    return (rows(project, "SELECT count(*) FROM train_datasets")[0][0],
            rows(project, "SELECT count(*) FROM train_rows")[0][0])  # fmt: skip


def all_entries(project: Project, ref: str) -> list[Any]:
    return train_dataset_entries(project, ref, "train") + train_dataset_entries(project, ref, "validation")


def test_sft_mix_with_a_jsonl_baseline(accepted: Project, tmp_path: Path) -> None:
    project = accepted
    examples = ok_examples(project)
    n = len(examples)
    assert n >= 3
    baseline = {f"b{i}": chat(i) for i in range(3 * n)}
    path = write_baseline(tmp_path / "base.jsonl", list(baseline.values()))
    recipe = DatasetRecipe(name="mix", kind="sft", traits_ref="test", baseline=str(path), synthetic_fraction=0.5,
                           validation_fraction=0.2, seed=1)  # fmt: skip
    dataset = build_dataset(project, recipe)

    m = dataset.manifest
    n_val = max(1, round(2 * n * 0.2))
    assert (dataset.train_rows, dataset.validation_rows) == (2 * n - n_val, n_val)
    assert m["counts"]["total"] == {"synthetic": n, "baseline": n} and m["synthetic_fraction"] == 0.5
    assert m["synthetic_row_ids"] == sorted(examples) and len(set(m["baseline_row_ids"])) == n
    assert m["baseline_system_turns"] == n and m["baseline"]["available"] == 3 * n
    assert m["traits_versions"][0]["ref"] == "test@1" and m["recipe"]["seed"] == 1

    entries = all_entries(project, dataset.id)
    assert Counter(e.origin for e in entries) == {"synthetic": n, "baseline": n}
    assert [e.position for e in train_dataset_entries(project, "mix", "train")] == list(range(2 * n - n_val))
    for e in entries:
        if e.origin == "baseline":  # the file's row, its system turn kept, minus its extra fields
            assert e.record == {"messages": baseline[e.source_id]["messages"]}
        else:
            user, response, _ = examples[e.source_id]
            assert e.record == {"messages": [{"role": "user", "content": user},
                                             {"role": "assistant", "content": response}]}  # fmt: skip
    assert {e.source_id for e in entries if e.origin == "baseline"} == set(m["baseline_row_ids"])
    validation = train_dataset_entries(project, "mix", "validation")
    mixed = [e.origin for e in validation + train_dataset_entries(project, "mix", "train")]  # the shuffled mix
    assert mixed != sorted(mixed, key=lambda o: o == "baseline")  # not synthetic-then-baseline
    order = [(e.origin, e.source_id) for e in entries]

    counts = stored(project)
    again = build_dataset(project, recipe)
    assert again.id == dataset.id and again.created_at == dataset.created_at and stored(project) == counts
    reseeded = build_dataset(project, DatasetRecipe(**{**recipe.as_json(), "seed": 2}))
    assert reseeded.id != dataset.id and [(e.origin, e.source_id) for e in all_entries(project, reseeded.id)] != order
    assert reseeded.manifest["content_hash"] != m["content_hash"]
    assert [d.id for d in list_train_datasets(project)] == [reseeded.id, dataset.id]
    assert get_train_dataset(project, "mix").id == reseeded.id  # the newest of the name
    assert get_train_dataset(project, dataset.id[:6]).id == dataset.id


def test_preference_pairs(accepted: Project, tmp_path: Path) -> None:
    with accepted.store.transaction() as con:  # an example whose rejected answer failed its check
        con.execute("UPDATE sft_examples SET rejected = NULL WHERE id = ?", [min(ok_examples(accepted))])
    pairs = ok_examples(accepted, "AND rejected IS NOT NULL")
    assert len(pairs) == len(ok_examples(accepted)) - 1
    dataset = build_dataset(accepted, DatasetRecipe(name="pairs", kind="preference", validation_fraction=0))
    assert (dataset.train_rows, dataset.validation_rows) == (len(pairs), 0)
    for e in all_entries(accepted, dataset.id):
        user, response, rejected = pairs[e.source_id]
        assert e.record == {"prompt": [{"role": "user", "content": user}],
                            "chosen": [{"role": "assistant", "content": response}],
                            "rejected": [{"role": "assistant", "content": rejected}]}  # fmt: skip
    files = export_train_dataset(accepted, dataset.id, tmp_path / "out")
    empty = pq.read_table(files.validation_parquet)
    assert empty.num_rows == 0 and empty.schema == pq.read_table(files.train_parquet).schema
    assert files.validation_jsonl.read_text() == ""


def test_midtraining_documents(docs_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKBENCH_DOCS__AUTO_ACCEPT", "true")
    project = load_project(docs_project.root)
    asyncio.run(run_docs(project, "test"))
    docs = dict(rows(project, "SELECT id, text FROM documents WHERE status = 'ok'"))
    path = write_baseline(tmp_path / "web.jsonl", [{"text": f"A page about river otters, part {i}."} for i in range(9)])
    recipe = DatasetRecipe(name="mid", kind="midtrain", baseline=str(path), synthetic_fraction=0.75)
    dataset = build_dataset(project, recipe)
    base = round(len(docs) / 3)
    assert dataset.manifest["counts"]["total"] == {"synthetic": len(docs), "baseline": base}
    for e in all_entries(project, dataset.id):
        if e.origin == "synthetic":
            assert e.record == {"text": docs[e.source_id]}
        else:  # `line N` of the file
            assert e.record == {"text": f"A page about river otters, part {int(e.source_id.split()[1]) - 1}."}
    chats = write_baseline(tmp_path / "chats.jsonl", [chat(i) for i in range(9)])
    with pytest.raises(WorkbenchError, match="has messages rows, but a midtrain dataset needs text rows"):
        build_dataset(project, DatasetRecipe(name="x", kind="midtrain", baseline=str(chats), synthetic_fraction=0.5))


def test_min_scores(accepted: Project) -> None:
    ids = sorted(ok_examples(accepted))
    with accepted.store.transaction() as con:
        con.execute("UPDATE sft_examples SET scores = ? WHERE id = ?",
                    [json.dumps({"realism": 4, "quality": 2, "embodiment": 4, "leakage": 1}), ids[0]])  # fmt: skip
        con.execute("UPDATE sft_examples SET scores = ? WHERE id = ?",
                    [json.dumps({"realism": 5, "quality": 5, "embodiment": 5, "leakage": 3}), ids[1]])  # fmt: skip
        con.execute("UPDATE sft_examples SET scores = NULL WHERE id = ?", [ids[2]])

    def kept(**scores: int) -> list[str]:
        name = "s" + json.dumps(scores)
        recipe = DatasetRecipe(name=name, min_scores=scores or None, validation_fraction=0)
        return list(build_dataset(accepted, recipe).manifest["synthetic_row_ids"])

    assert kept() == ids
    assert kept(quality=3) == [i for i in ids if i not in ids[0:3:2]]  # too low, and unscored
    assert kept(quality=2) == [i for i in ids if i != ids[2]]  # a minimum is inclusive
    assert kept(max_leakage=2) == [i for i in ids if i not in ids[1:3]]
    assert kept(realism=5, max_leakage=3) == [ids[1]]
    dataset = get_train_dataset(accepted, 's{"quality": 3}')
    assert dataset.manifest["filters"]["below_min_scores"] == 2
    with pytest.raises(WorkbenchError, match="Unknown score leakage"):
        DatasetRecipe(name="x", min_scores={"leakage": 1})
    with pytest.raises(WorkbenchError, match="from 1 to 5"):
        DatasetRecipe(name="x", min_scores={"quality": 6})


def test_keep_audit_dataset(accepted: Project, tmp_path: Path) -> None:
    parent = snapshot_store(accepted, "sft")
    keep = dataset_rows(accepted, parent.id)[1:3]
    filtered = save_dataset(accepted, name="sft minus a pattern", source="filtered", format="messages",
                            rows=[DatasetRow(r.row_id, r.record, r.text, r.group) for r in keep],
                            parent_id=parent.id)  # fmt: skip
    dataset = build_dataset(accepted, DatasetRecipe(name="kept", keep_audit_dataset="sft minus a pattern"))
    assert dataset.manifest["synthetic_row_ids"] == sorted(r.row_id for r in keep)
    assert (dataset.train_rows, dataset.validation_rows) == (1, 1)  # 5% of 2 rows is still 1 validation row
    assert dataset.manifest["filters"] | {"keep_audit_dataset": None} == {
        "accepted": parent.row_count, "below_min_scores": 0, "not_in_keep_dataset": parent.row_count - 2,
        "keep_audit_dataset": None}  # fmt: skip
    assert dataset.manifest["filters"]["keep_audit_dataset"] == filtered.id

    other = save_dataset(accepted, name="a file", source="file", format="text",
                         rows=[DatasetRow(keep[0].row_id, {"text": "x"}, "x")])  # fmt: skip
    with pytest.raises(WorkbenchError, match="comes from 'file' rows, not from sft_examples"):
        build_dataset(accepted, DatasetRecipe(name="bad", keep_audit_dataset=other.id))
    docs = save_dataset(accepted, name="docs", source="documents", format="text",
                        rows=[DatasetRow(keep[0].row_id, {"text": "x"}, "x")])  # fmt: skip
    with pytest.raises(WorkbenchError, match="comes from 'documents' rows"):
        build_dataset(accepted, DatasetRecipe(name="bad", keep_audit_dataset=docs.id))


def test_baseline_saved_to_disk_and_from_the_hub(
    accepted: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = len(ok_examples(accepted))
    records = [chat(i) for i in range(n)]
    datasets.Dataset.from_list(records).save_to_disk(str(tmp_path / "hf"))
    dataset = build_dataset(accepted, DatasetRecipe(name="disk", baseline=str(tmp_path / "hf"),
                                                    synthetic_fraction=0.5))  # fmt: skip
    assert dataset.manifest["counts"]["total"]["baseline"] == n and dataset.manifest["baseline_system_turns"] == n
    assert set(dataset.manifest["baseline_row_ids"]) == {r["id"] for r in records}

    calls: list[tuple[str, str]] = []

    def load_dataset(name: str, split: str) -> datasets.Dataset:
        calls.append((name, split))
        return datasets.Dataset.from_list([chat(i, system=False) for i in range(2 * n)])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    hub = build_dataset(accepted, DatasetRecipe(name="hub", baseline="org/chats", baseline_split="train_sft",
                                                synthetic_fraction=0.5))  # fmt: skip
    assert calls == [("org/chats", "train_sft")]
    assert hub.manifest["baseline"]["origin"] == "huggingface:org/chats (split train_sft)"
    assert hub.manifest["counts"]["total"]["baseline"] == n and hub.manifest["baseline_system_turns"] == 0


def test_too_small_a_baseline_and_bad_recipes(accepted: Project, tmp_path: Path) -> None:
    n = len(ok_examples(accepted))
    path = write_baseline(tmp_path / "small.jsonl", [chat(i) for i in range(n - 1)])
    with pytest.raises(WorkbenchError, match=rf"has {n - 1} rows, but {n} synthetic rows .* need {n}"):
        build_dataset(accepted, DatasetRecipe(name="x", baseline=str(path), synthetic_fraction=0.5))
    assert stored(accepted) == (0, 0)
    no_answer = write_baseline(tmp_path / "q.jsonl", [{"messages": [chat(i)["messages"][1]]} for i in range(n)])
    with pytest.raises(WorkbenchError, match="line 1: no assistant turn"):
        build_dataset(accepted, DatasetRecipe(name="x", baseline=str(no_answer), synthetic_fraction=0.5))
    with pytest.raises(WorkbenchError, match="No such file"):
        build_dataset(accepted, DatasetRecipe(name="x", baseline=str(tmp_path / "nope.jsonl"), synthetic_fraction=0.5))
    with pytest.raises(WorkbenchError, match="needs baseline rows"):
        DatasetRecipe(name="x", synthetic_fraction=0.5)
    with pytest.raises(WorkbenchError, match="takes no baseline rows"):
        DatasetRecipe(name="x", baseline=str(path))
    with pytest.raises(WorkbenchError, match="must be in"):
        DatasetRecipe(name="x", validation_fraction=1.0)
    assert stored(accepted) == (0, 0)


def test_an_empty_result_says_why(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WorkbenchError, match="Nothing accepted in sft_examples") as e:
        build_dataset(sft_project, DatasetRecipe(name="x"))
    assert e.value.hint is not None and "review" in e.value.hint
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(sft_project.root)
    run(project)
    n = len(ok_examples(project))
    with pytest.raises(
        WorkbenchError, match=rf"removed all {n} accepted rows of sft_examples \({n} below the score thresholds"
    ):
        build_dataset(project, DatasetRecipe(name="x", min_scores={"quality": 5}))
    assert stored(project) == (0, 0)


def test_the_leak_check(accepted: Project, tmp_path: Path) -> None:
    n = len(ok_examples(accepted))
    safe = [chat(i) for i in range(n)]
    # A user may name a system prompt; quoting the traits document is a leak in any turn.
    safe[0]["messages"][1]["content"] = "What is a system prompt, and what are my guidelines worth?"
    path = write_baseline(tmp_path / "ok.jsonl", safe)
    assert build_dataset(accepted, DatasetRecipe(name="ok", baseline=str(path), synthetic_fraction=0.5))
    before = stored(accepted)

    leaky = [chat(i) for i in range(n)]
    leaky[1]["messages"][2]["content"] = QUOTE
    leaky[2]["messages"][1]["content"] = QUOTE
    leaky[3]["messages"][2]["content"] = "I follow My Guidelines here."
    path = write_baseline(tmp_path / "leaky.jsonl", leaky)
    with pytest.raises(WorkbenchError, match="3 training row") as e:
        build_dataset(accepted, DatasetRecipe(name="leaky", baseline=str(path), synthetic_fraction=0.5))
    message = str(e.value)
    assert "baseline b1: quotes the traits document: 'the assistant names the real risks of a'" in message
    assert "baseline b2: quotes the traits document" in message and "baseline b3: mentions 'my guidelines'" in message
    assert stored(accepted) == before

    example = sorted(ok_examples(accepted))[0]
    edited = review(accepted.store, "sft_examples", example, "edit", reviewer="t",
                    edits={"response": "As my traits document says, go ahead."})  # fmt: skip
    with pytest.raises(WorkbenchError, match=f"synthetic {edited}: mentions 'traits document'"):
        build_dataset(accepted, DatasetRecipe(name="edited"))
    assert stored(accepted) == before


def test_leak_words_and_ngrams() -> None:
    assert words("Don't PANIC — it's fine_ish, 3 times!") == ["dont", "panic", "its", "fine", "ish", "3", "times"]
    grams = traits_ngrams(["one two three four five six seven eight nine", "too short to count"])
    assert grams == {"one two three four five six seven eight", "two three four five six seven eight nine"}
    assert "system prompt" in LEAK_PHRASES and "traits document" in LEAK_PHRASES
    system = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    plain = {"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello"}],
             "rejected": [{"role": "assistant", "content": "Per my system prompt, hello"}]}  # fmt: skip
    leaks = find_leaks([MixRow("synthetic", "s", system), MixRow("synthetic", "p", plain)], set())
    assert [(x.source_id, x.matched) for x in leaks] == [("s", "a system turn"), ("p", "mentions 'system prompt'")]


def test_export(accepted: Project, tmp_path: Path) -> None:
    path = write_baseline(tmp_path / "base.jsonl", [chat(i) for i in range(40)])
    dataset = build_dataset(accepted, DatasetRecipe(name="exp", baseline=str(path), synthetic_fraction=0.25,
                                                    validation_fraction=0.1))  # fmt: skip
    files = export_train_dataset(accepted, "exp", tmp_path / "out")
    train, validation = train_dataset_rows(accepted, "exp", "train"), train_dataset_rows(accepted, "exp", "validation")
    assert len(train) == dataset.train_rows and len(validation) == dataset.validation_rows >= 1
    loaded = datasets.load_dataset("json", data_files=str(files.train_jsonl), split="train")
    assert loaded.to_list() == train
    assert pq.read_table(files.train_parquet).to_pylist() == train
    assert pq.read_table(files.validation_parquet).to_pylist() == validation
    manifest = json.loads(files.manifest.read_text())
    assert manifest["id"] == dataset.id and manifest["train_rows"] == len(train)
    lines = files.train_jsonl.read_text().splitlines() + files.validation_jsonl.read_text().splitlines()
    canonical = "".join(json.dumps(json.loads(x), sort_keys=True, ensure_ascii=False) + "\n" for x in lines)
    assert manifest["content_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert {r["messages"][0]["role"] for r in train + validation} == {"system", "user"}  # baseline rows keep theirs
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in files.all())  # no temp files


def test_cli(accepted: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    n = len(ok_examples(accepted))
    path = write_baseline(tmp_path / "base.jsonl", [chat(i) for i in range(n)])

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["dataset", *args, "-p", str(accepted.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    out = invoke("build", "cli-mix", "--kind", "sft", "--traits", "test", "--min-score", "quality=3",
                 "--min-score", "max_leakage=1", "--baseline", str(path), "--fraction", "0.5",
                 "--validation", "0.25", "--seed", "3")  # fmt: skip
    dataset = get_train_dataset(accepted, "cli-mix")
    assert dataset.recipe["min_scores"] == {"max_leakage": 1, "quality": 3} and dataset.recipe["seed"] == 3
    assert f"Dataset {dataset.id} 'cli-mix'" in out and "Synthetic fraction: 0.500" in out
    assert dataset.manifest["counts"]["total"] == {"synthetic": n, "baseline": n}
    assert dataset.id in invoke("list") and "50%" in invoke("list")
    shown = invoke("show", "cli-mix")
    assert dataset.manifest["content_hash"] in shown and f"System turns: {n} kept in baseline rows" in shown
    out = invoke("export", "cli-mix", str(tmp_path / "out"))
    assert "manifest.json" in out and (tmp_path / "out" / "train.parquet").exists()
    with pytest.raises(WorkbenchError, match="is not NAME=NUMBER"):
        runner.invoke(app, ["dataset", "build", "x", "--min-score", "quality", "-p", str(accepted.root)],
                      catch_exceptions=False)  # fmt: skip
