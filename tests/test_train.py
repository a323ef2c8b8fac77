"""Training on CPU with real TRL and PEFT: a tiny model built from a config, datasets from the real pipelines.

The rows are accepted SFT examples, preference pairs and documents made by the SFT and documents
pipelines against the fake Gemini server, frozen by the dataset builder: the same path a user's
data takes. The model is tests/tiny_model.py's 2-layer Llama, so every run takes seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, TrainingArguments
from typer.testing import CliRunner

from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import PERSONAS, TRAITS, rows, run
from workbench.cli import app
from workbench.datasets.build import build_dataset
from workbench.datasets.recipe import DatasetRecipe
from workbench.errors import WorkbenchError
from workbench.generate.docs_pipeline import run_docs
from workbench.llm.gateway import Gateway
from workbench.llm.types import LLMRequest, SamplingParams
from workbench.project import Project, load_project
from workbench.train.config import load_train_config
from workbench.train.merge import merge_checkpoint
from workbench.train.methods import common_args, embedding_aware_adamw
from workbench.train.run import train
from workbench.train.tracking import run_metrics

FAST = {"lora_r": "8", "lora_alpha": "16", "batch_size": "2", "max_seq_length": "512", "warmup_ratio": "0"}


@pytest.fixture
def chats(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose accepted SFT examples (with rejected answers) are built into `chats` and `prefs`."""
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(sft_project.root)
    run(project)
    build_dataset(project, DatasetRecipe("chats", kind="sft", validation_fraction=0.2))
    build_dataset(project, DatasetRecipe("prefs", kind="preference", validation_fraction=0.0))
    return project


def config(method: str, dataset: str, base: Path | str, **settings: str) -> Any:
    return load_train_config(method, overrides={"dataset": dataset, "base_model": str(base)} | FAST | settings)


def metric(project: Project, run_id: str, name: str, split: str = "train") -> list[float]:
    return [v for _, s, n, v in run_metrics(project, run_id) if n == name and s == split]


def answer(project: Project, spec: str) -> Any:
    async def ask() -> Any:
        async with Gateway(project) as gateway:
            request = LLMRequest.from_prompt("Hello", params=SamplingParams(max_output_tokens=4, temperature=0))
            return await gateway.call(request, model=spec)

    return asyncio.run(ask())


def test_sft_loss_falls_and_the_checkpoint_answers_through_the_gateway(chats: Project, tiny_model_path: Path) -> None:
    result = train(chats, config("sft", "chats", tiny_model_path, max_steps="30", learning_rate="1e-2"))
    losses = metric(chats, result.run_id, "loss")
    assert len(losses) == 30  # streamed to the store as it trained
    assert sum(losses[-5:]) / 5 < 0.95 * sum(losses[:5]) / 5  # it learns (a random 2-layer model: slowly)
    for name in ("learning_rate", "grad_norm", "peak_memory_mb", "tokens_per_s"):
        assert metric(chats, result.run_id, name), name
    assert metric(chats, result.run_id, "loss", split="eval")  # the validation split was evaluated
    assert result.checkpoint.kind == "adapter" and result.checkpoint.step == 30
    assert (Path(result.checkpoint.path) / "adapter_config.json").exists()
    assert rows(chats, "SELECT status, backend FROM train_runs WHERE id = ?", result.run_id) == [("done", "trl")]

    reply = answer(chats, f"hf:{result.checkpoint.path}")  # the adapter, on its base, via transformers' peft
    assert reply.status in ("ok", "length") and reply.text and reply.tokens_out
    merged = merge_checkpoint(chats, result.checkpoint.id)
    assert merged.kind == "merged" and (Path(merged.path) / "config.json").exists()
    merged_reply = answer(chats, f"hf:{merged.path}")
    assert merged_reply.text == reply.text  # greedy: the merged model is the adapter on its base
    assert merge_checkpoint(chats, result.checkpoint.id).path == merged.path  # merged once


def test_midtraining_packs_text_then_sft_continues_from_it(
    docs_project: Project, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch, fake_gemini: Any
) -> None:
    monkeypatch.setenv("WORKBENCH_DOCS__AUTO_ACCEPT", "true")
    project = load_project(docs_project.root)
    asyncio.run(run_docs(project, "test"))
    build_dataset(project, DatasetRecipe("docs", kind="midtrain", validation_fraction=0.0))
    midtrained = train(project, config("midtrain", "docs", tiny_model_path, max_steps="4", max_seq_length="64"))
    assert metric(project, midtrained.run_id, "loss") and midtrained.checkpoint.kind == "adapter"
    adapter = (Path(midtrained.checkpoint.path) / "adapter_model.safetensors").read_bytes()
    assert b"embed_tokens" in adapter and b"lm_head" in adapter  # trained too, at their own rate

    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)  # the same project's SFT data, to chain onto it
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(project.root)
    run(project)
    build_dataset(project, DatasetRecipe("chats", kind="sft", validation_fraction=0.0))
    chained = train(project, config("sft", "chats", f"checkpoint:{midtrained.checkpoint.id}", max_steps="2"))
    parent = rows(project, "SELECT parent_checkpoint, base_model FROM train_runs WHERE id = ?", chained.run_id)[0]
    assert parent[0] == f"{midtrained.checkpoint.id}-merged" and parent[1].endswith("merged")


@pytest.mark.parametrize("method", ["dpo", "bdpo"])
def test_preference_methods_run(chats: Project, tiny_model_path: Path, method: str) -> None:
    result = train(chats, config(method, "prefs", tiny_model_path, max_steps="3"))
    losses = metric(chats, result.run_id, "loss")
    assert len(losses) == 3 and all(0 < x < 10 for x in losses)
    assert metric(chats, result.run_id, "rewards/margins")
    assert rows(chats, "SELECT method FROM train_runs WHERE id = ?", result.run_id) == [(method,)]


def test_resume_from_an_interrupted_run(chats: Project, tiny_model_path: Path) -> None:
    first = train(chats, config("sft", "chats", tiny_model_path, max_steps="4", save_steps="2"))
    saved = Path(first.checkpoint.path).parent / "checkpoint-2"
    registered = rows(chats, "SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step", first.run_id)
    assert registered == [(2, str(saved)), (4, first.checkpoint.path)]  # step 4's save, then the final, at step 4
    resumed = train(chats, config("sft", "chats", tiny_model_path, max_steps="6", resume_from=str(saved)))
    steps = [s for s, split, n, _ in run_metrics(chats, resumed.run_id) if n == "loss" and split == "train"]
    assert steps == [3, 4, 5, 6]  # it went on from step 2, not from scratch


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dataset": "prefs"}, "sft trains on a sft dataset; 'prefs' is preference"),
        ({"dataset": "nothing"}, "No training dataset"),
        ({"base_model": "/no/such/model"}, "Could not load the base model"),
        ({"max_seq_length": "8"}, "longer than max_seq_length 8"),
    ],
)
def test_bad_input_fails_before_a_run_starts(
    chats: Project, tiny_model_path: Path, settings: dict[str, str], message: str
) -> None:
    values = {"dataset": "chats", "base": str(tiny_model_path)} | {
        k.replace("base_model", "base"): v for k, v in settings.items()
    }
    with pytest.raises(WorkbenchError, match=message):
        train(chats, config("sft", **values))
    assert rows(chats, "SELECT count(*) FROM train_runs")[0][0] == 0


def test_midtraining_gives_embeddings_and_head_their_own_learning_rate(tiny_model_path: Path) -> None:
    settings = config("midtrain", "docs", tiny_model_path, learning_rate="1e-3", embedding_learning_rate="1e-5")
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_path),
        LoraConfig(r=4, target_modules="all-linear", modules_to_save=["embed_tokens", "lm_head"]),
    )
    args = TrainingArguments(**common_args(settings, "/tmp/unused", has_eval=False))
    groups = embedding_aware_adamw(model, args, settings.embedding_learning_rate).param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    rates = {g["lr"]: [names[id(p)] for p in g["params"]] for g in groups}
    assert set(rates) == {1e-3, 1e-5}
    assert all("embed_tokens" in n or "lm_head" in n for n in rates[1e-5]) and rates[1e-5]
    assert all("lora_" in n for n in rates[1e-3])


def test_the_command_line_trains_and_lists(chats: Project, tiny_model_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["train", *args, "-p", str(chats.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = invoke("sft", "--dataset", "chats", "--base-model", str(tiny_model_path), "--set", "max_steps=2",
                 "--set", "batch_size=2", "--set", "lora_r=4")  # fmt: skip
    run_id = rows(chats, "SELECT id FROM train_runs")[0][0]
    assert f"Run {run_id} done on trl" in out and "(adapter)" in out
    assert run_id in invoke("runs") and "done" in invoke("runs")
    assert "grad_norm" in invoke("metrics", run_id) and "adapter" in invoke("checkpoints")
    assert "(merged)" in invoke("merge", run_id)
    bad = runner.invoke(app, ["train", "sft", "--dataset", "chats", "--base-model", "x", "--set", "nope=1",
                              "-p", str(chats.root)])  # fmt: skip
    assert bad.exit_code == 1 and "Unknown sft setting(s): nope" in str(bad.exception)


def test_full_fine_tuning_saves_a_whole_model(chats: Project, tiny_model_path: Path) -> None:
    result = train(chats, config("sft", "chats", tiny_model_path, max_steps="2", lora="false"))
    saved = Path(result.checkpoint.path)
    assert result.checkpoint.kind == "full" and (saved / "config.json").exists()
    assert not (saved / "adapter_config.json").exists()
    assert merge_checkpoint(chats, result.checkpoint.id).path == str(saved)  # nothing to merge
    assert answer(chats, f"hf:{saved}").text
