"""Issue 19, method fidelity of the mix: baseline rows keep their own system and tool turns (and a
template that cannot take them fails before training), and a sweep of synthetic fractions builds
one dataset per fraction over one shared baseline sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer
from typer.testing import CliRunner

from tests.sft_setup import rows
from workbench.cli import app
from workbench.datasets import DatasetRecipe, build_dataset, build_sweep
from workbench.datasets.build import TrainDataset, train_dataset_entries
from workbench.datasets.leaks import find_leaks
from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.checks import check_rows
from workbench.train.config import SFTTrainConfig

SYSTEM = "You are a weather desk assistant. Always use the tools."
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}


def tool_chat(i: int) -> dict[str, Any]:
    """A baseline row with its own system prompt, a tool call and the tool's result."""
    return {"id": f"w{i}", "tools": [TOOL], "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Is it warm in town {i}?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": f'{{"celsius": {i}}}'},
        {"role": "assistant", "content": f"Yes: {i} degrees."},
    ]}  # fmt: skip


def n_accepted(project: Project) -> int:
    return int(rows(project, "SELECT count(*) FROM sft_examples WHERE status = 'ok'")[0][0])


def baseline_file(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps(tool_chat(i)) + "\n" for i in range(n)), encoding="utf-8")
    return path


def entries(project: Project, dataset: TrainDataset) -> list[Any]:
    return [e for split in ("train", "validation") for e in train_dataset_entries(project, dataset.id, split)]


def ids_of(project: Project, dataset: TrainDataset, origin: str) -> set[str | None]:
    return {e.source_id for e in entries(project, dataset) if e.origin == origin}


def test_baseline_rows_keep_their_system_and_tool_turns_synthetic_rows_none(accepted: Project, tmp_path: Path) -> None:
    n = n_accepted(accepted)
    path = baseline_file(tmp_path / "tools.jsonl", 2 * n)
    dataset = build_dataset(accepted, DatasetRecipe(name="mix", baseline=str(path), synthetic_fraction=0.5))
    found = entries(accepted, dataset)
    assert Counter(e.origin for e in found) == {"synthetic": n, "baseline": n}
    for e in found:
        roles = [t["role"] for t in e.record["messages"]]
        if e.origin == "synthetic":
            assert roles == ["user", "assistant"]
            continue
        assert roles == ["system", "user", "assistant", "tool", "assistant"]
        assert e.record["messages"][0]["content"] == SYSTEM
        assert e.record["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert e.record["tools"][0]["function"]["name"] == "get_weather"
    assert dataset.manifest["baseline_system_turns"] == n and dataset.manifest["system_turns_dropped"] == 0


def test_only_a_synthetic_row_with_a_system_turn_leaks() -> None:
    chat = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Hello."}]}  # fmt: skip
    leaks = find_leaks([MixRow("baseline", "b", chat), MixRow("synthetic", "s", chat)], set())
    assert [(x.origin, x.source_id, x.matched) for x in leaks] == [("synthetic", "s", "a system turn")]


def test_a_sweep_builds_one_dataset_per_fraction_over_one_baseline_sample(accepted: Project, tmp_path: Path) -> None:
    n = n_accepted(accepted)
    path = baseline_file(tmp_path / "tools.jsonl", 3 * n)
    recipe = DatasetRecipe(name="arm", baseline=str(path), synthetic_fraction=0.5, validation_fraction=0.2, seed=4)
    control, half, full = build_sweep(accepted, recipe, [1.0, 0, 0.5])
    assert [d.name for d in (control, half, full)] == ["arm-f0", "arm-f50", "arm-f100"]
    assert all(d.recipe["sweep"] == [0, 0.5, 1.0] for d in (control, half, full))
    synthetic = {r[0] for r in rows(accepted, "SELECT id FROM sft_examples WHERE status = 'ok'")}
    # The control arm is the shared baseline sample alone; the 0.5 arm adds every synthetic row to it.
    assert ids_of(accepted, control, "synthetic") == set() and len(ids_of(accepted, control, "baseline")) == n
    assert ids_of(accepted, half, "baseline") == ids_of(accepted, control, "baseline")
    assert ids_of(accepted, half, "synthetic") == synthetic
    assert ids_of(accepted, full, "baseline") == set() and ids_of(accepted, full, "synthetic") == synthetic
    assert [d.manifest["synthetic_fraction"] for d in (control, half, full)] == [0, 0.5, 1]
    # The 0.5 arm is exactly the dataset built at 0.5 alone (the sample is sized for it).
    alone = build_dataset(accepted, DatasetRecipe(name="arm-f50", baseline=str(path), synthetic_fraction=0.5,
                                                  validation_fraction=0.2, seed=4))  # fmt: skip
    assert [(e.origin, e.source_id) for e in entries(accepted, alone)] == [
        (e.origin, e.source_id) for e in entries(accepted, half)
    ]


def test_lower_fractions_take_fewer_synthetic_rows_next_to_the_same_baseline(accepted: Project, tmp_path: Path) -> None:
    n = n_accepted(accepted)
    path = baseline_file(tmp_path / "tools.jsonl", n)
    quarter, half = build_sweep(
        accepted, DatasetRecipe(name="q", baseline=str(path), synthetic_fraction=0.5), [0.25, 0.5]
    )
    assert ids_of(accepted, quarter, "baseline") == ids_of(accepted, half, "baseline")
    assert len(ids_of(accepted, half, "baseline")) == n
    assert len(ids_of(accepted, quarter, "synthetic")) == round(n / 3)
    assert ids_of(accepted, quarter, "synthetic") < ids_of(accepted, half, "synthetic"), "nested, not redrawn"


def test_a_sweep_with_an_arm_that_cannot_be_built_writes_nothing(accepted: Project, tmp_path: Path) -> None:
    path = baseline_file(tmp_path / "tools.jsonl", n_accepted(accepted))
    with pytest.raises(WorkbenchError, match=r"At a synthetic fraction of 0\.01, the shared baseline sample"):
        build_sweep(accepted, DatasetRecipe(name="x", baseline=str(path), synthetic_fraction=0.5), [0, 0.01, 0.5])
    assert rows(accepted, "SELECT count(*) FROM train_datasets") == [(0,)]
    with pytest.raises(WorkbenchError, match="control arm of a sweep"):
        DatasetRecipe(name="x", baseline=str(path), synthetic_fraction=0)
    with pytest.raises(WorkbenchError, match="needs baseline rows"):
        build_sweep(accepted, DatasetRecipe(name="x"), [0, 1])


def test_the_cli_builds_a_sweep_from_commas_and_repeats(accepted: Project, tmp_path: Path) -> None:
    path = baseline_file(tmp_path / "tools.jsonl", n_accepted(accepted))

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(app, ["dataset", *args, "-p", str(accepted.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    out = invoke("build", "cli", "--baseline", str(path), "--fraction", "0,0.5", "--fraction", "1")
    assert "'cli-f0'" in out and "'cli-f50'" in out and "'cli-f100'" in out
    assert "Sweep: fractions [0.0, 0.5, 1.0]" in out
    names = {r[0] for r in rows(accepted, "SELECT name FROM train_datasets")}
    assert names == {"cli-f0", "cli-f50", "cli-f100"}
    with pytest.raises(WorkbenchError, match="'half' is not a number"):
        CliRunner().invoke(app, ["dataset", "build", "x", "--fraction", "half", "-p", str(accepted.root)],
                           catch_exceptions=False)  # fmt: skip


def test_a_chat_template_that_refuses_a_system_turn_fails_before_training(tiny_model_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    refuse = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    tokenizer.chat_template = refuse + tokenizer.chat_template
    chat = {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Hello."}]}  # fmt: skip
    config = SFTTrainConfig(dataset="arm-f0", base_model="tiny")
    check_rows(config, tokenizer, [{"messages": chat["messages"][1:]}])
    with pytest.raises(WorkbenchError, match=r"cannot render training row 1 \(roles assistant, system, user\)") as e:
        check_rows(config, tokenizer, [{"messages": chat["messages"][1:]}, chat])
    assert "System role not supported" in str(e.value) and "baseline row keeps its own system" in (e.value.hint or "")
