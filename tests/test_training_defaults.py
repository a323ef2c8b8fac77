"""Training defaults that follow the seed method (workbench/train/defaults.py).

Midtraining warns, with why, when its base looks post-trained (by its name or by a chat template
that renders a system turn), in the pre-launch check, during training and on the CLI; the real
SmolLM2-135M-Instruct is the post-trained model and a tiny model without a system-turn template
the pretrained one. SFT without a base model continues from the latest finished midtraining
checkpoint (of the same traits document where that is known), from the CLI and in a form's default.
No test here trains: the CLI's trainer is replaced, and training stops at an empty dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer
from typer.testing import CliRunner

import workbench.train.run
from tests.apptest import open_page
from tests.tiny_model import CHAT_TEMPLATE, build_tiny_chat_model
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.config import TrainConfig, load_train_config
from workbench.train.defaults import base_model_warning, latest_midtrained, post_trained_warning
from workbench.train.launch import default_base_model
from workbench.train.run import TrainResult, train
from workbench.train.tracking import finish_train_run, get_checkpoint, register_checkpoint, start_train_run

WHY = "meant to start from a pretrained (base) checkpoint"
# A user turn only: what a base model's plain template may do; and one that refuses system turns, as Gemma's.
USER_ONLY = "{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}{% endfor %}"
REFUSES_SYSTEM = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"


def base_model(folder: Path) -> Path:
    """A tiny pretrained model: the tiny chat model with its chat template taken out."""
    build_tiny_chat_model(folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    assert AutoTokenizer.from_pretrained(folder).chat_template is None
    return folder


@pytest.mark.parametrize(
    ("name", "word"),
    [("HuggingFaceTB/SmolLM2-135M-Instruct", "Instruct"), ("hf:google/gemma-2-2b-it", "it"),
     ("meta-llama/Llama-2-7b-chat-hf", "chat"), ("/models/SmolLM2-135M-Instruct.Q4_1.gguf", "Instruct"),
     ("Qwen/Qwen2.5-0.5B", None), ("HuggingFaceTB/SmolLM2-135M", None), ("/srv/chat/it/pythia-160m", None),
     ("org/edit-model", None), ("org/chatterbox-base", None), ("org/instructor-xl", None),
     ("checkpoint:midtrain-20261206-it@4", None)],
)  # fmt: skip
def test_a_post_trained_name_is_flagged_and_a_base_name_is_not(name: str, word: str | None) -> None:
    warning = post_trained_warning(name, None)
    if word is None:
        assert warning is None
    else:
        assert warning and f"its name says {word!r}" in warning and WHY in warning


@pytest.mark.parametrize(
    ("template", "flagged"),
    [(CHAT_TEMPLATE, True), ([{"name": "default", "template": CHAT_TEMPLATE}], True), (USER_ONLY, False),
     (REFUSES_SYSTEM, False), ("{{ broken", False), (None, False)],
)  # fmt: skip
def test_a_chat_template_that_renders_a_system_turn_is_flagged(template: Any, flagged: bool) -> None:
    warning = post_trained_warning("org/plain-model", template)
    assert (warning is not None and "its chat template renders a system turn" in warning) == flagged


@pytest.mark.real_model
def test_the_real_instruct_model_is_flagged_by_name_and_template(project: Project, smollm2_path: Path) -> None:
    warning = base_model_warning(project, "midtrain", str(smollm2_path))
    assert warning and "its name says 'Instruct'" in warning and "renders a system turn" in warning
    assert WHY in warning and "wash out its chat behaviour" in warning
    assert base_model_warning(project, "sft", str(smollm2_path)) is None  # SFT is where a chat model belongs
    loaded = AutoTokenizer.from_pretrained(smollm2_path)  # the template alone, as training checks it
    assert "renders a system turn" in (post_trained_warning("renamed/model", loaded.chat_template) or "")


def test_a_tiny_base_model_is_not_flagged_but_its_chat_twin_is(
    project: Project, tiny_model_path: Path, tmp_path: Path
) -> None:
    assert base_model_warning(project, "midtrain", str(base_model(tmp_path / "tiny-base"))) is None
    warning = base_model_warning(project, "midtrain", str(tiny_model_path))
    assert warning and "renders a system turn" in warning and "its name" not in warning


def docs_dataset(project: Project, name: str = "docs", kind: str = "midtrain", documents: tuple[str, ...] = ()) -> str:
    """Register a training dataset with no rows, as the builder would record its traits lineage."""
    manifest = {"traits_versions": [{"id": f"v-{d}", "ref": f"{d}@1"} for d in documents]}
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_datasets (id, name, kind, recipe, manifest, train_rows, validation_rows)"
            " VALUES (?, ?, ?, '{}', ?, 0, 0)",
            [f"ds-{name}", name, kind, json.dumps(manifest)],
        )
    return f"ds-{name}"


def test_training_warns_from_the_tokenizer_it_loaded(project: Project, tmp_path: Path) -> None:
    docs_dataset(project)
    base = base_model(tmp_path / "tiny-base")
    template = tmp_path / "chat.jinja"
    template.write_text(CHAT_TEMPLATE)
    for chat_template, expected in ((None, 0), (str(template), 1)):  # the override is only in the loaded tokenizer
        warnings: list[str] = []
        settings = {"dataset": "docs", "base_model": str(base), "chat_template": chat_template}
        with pytest.raises(WorkbenchError, match="no training rows"):  # stops before a run starts
            train(project, load_train_config("midtrain", overrides=settings), warn=warnings.append)
        assert len(warnings) == expected and all("renders a system turn" in w for w in warnings)


def test_the_cli_prints_the_warning_before_midtraining(project: Project, tiny_model_path: Path) -> None:
    docs_dataset(project)
    result = CliRunner().invoke(
        app, ["train", "midtrain", "--dataset", "docs", "--base-model", str(tiny_model_path), "-p", str(project.root)]
    )
    assert result.exit_code == 1 and "no training rows" in str(result.exception)  # printed after, by the CLI's main
    assert "warning:" in result.output and "looks post-trained" in " ".join(result.output.split())


def midtrain_run(project: Project, dataset_id: str, *, status: str, minutes_ago: int) -> str:
    """A midtraining run that saved at step 2 and at its end (step 4), finished `minutes_ago`."""
    config = load_train_config("midtrain", overrides={"dataset": dataset_id, "base_model": "base"})
    run_id = start_train_run(project, config, backend="trl", base_model="base", parent=None, output_dir="/out",
                             dataset_id=dataset_id)  # fmt: skip
    for step in (2, 4):
        register_checkpoint(project, run_id, step, f"/out/{run_id}/{step}", kind="adapter", base_model="base",
                            manifest={})  # fmt: skip
    if status != "running":
        finish_train_run(project, run_id, status)
        with project.store.transaction() as con:
            con.execute("UPDATE train_runs SET finished_at = now() - to_minutes(?) WHERE id = ?", [minutes_ago, run_id])
    return run_id


@pytest.fixture
def midtrained(project: Project) -> dict[str, str]:
    """Midtraining runs: on kindness (done), on honesty (done, later), kindness again (failed, then running)."""
    docs_dataset(project, "chats", kind="sft", documents=("kindness",))
    docs_dataset(project, "imported", kind="sft")  # no traits lineage: any document will do
    kindness = docs_dataset(project, "kind-docs", documents=("kindness",))
    runs = {"kindness": midtrain_run(project, kindness, status="done", minutes_ago=30)}
    runs["honesty"] = midtrain_run(project, docs_dataset(project, "honest-docs", documents=("honesty",)),
                                   status="done", minutes_ago=20)  # fmt: skip
    midtrain_run(project, kindness, status="failed", minutes_ago=5)
    midtrain_run(project, kindness, status="running", minutes_ago=0)
    register_checkpoint(project, runs["kindness"], 4, "/out/merged", kind="merged", base_model="base", manifest={})
    return runs


def test_sft_continues_from_the_latest_finished_midtraining_of_its_document(
    project: Project, midtrained: dict[str, str]
) -> None:
    assert (found := latest_midtrained(project, "chats")) is not None
    assert (found.id, found.step, found.kind) == (f"{midtrained['kindness']}@4", 4, "adapter")
    assert (latest := latest_midtrained(project, "imported")) is not None and latest.run_id == midtrained["honesty"]
    assert default_base_model(project, "sft", "chats") == f"checkpoint:{midtrained['kindness']}@4"
    assert default_base_model(project, "midtrain", "chats") == default_base_model(project)  # the baseline role


def test_cli_sft_without_a_base_model_uses_the_midtrained_checkpoint(
    project: Project, midtrained: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[TrainConfig] = []

    def fake_train(_project: Project, config: TrainConfig, **_: Any) -> TrainResult:
        trained.append(config)
        return TrainResult("sft-run", get_checkpoint(project, midtrained["kindness"]), "trl", None)

    monkeypatch.setattr(workbench.train.run, "train", fake_train)
    monkeypatch.setenv("COLUMNS", "250")
    args = ["train", "sft", "--dataset", "chats", "-p", str(project.root)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"checkpoint:{midtrained['kindness']}@4" in result.output and "midtraining" in result.output
    assert trained[-1].base_model == f"checkpoint:{midtrained['kindness']}@4"

    result = CliRunner().invoke(app, [*args, "--base-model", "org/other"], catch_exceptions=False)
    assert result.exit_code == 0 and trained[-1].base_model == "org/other"  # a given base is kept


def test_cli_sft_without_a_base_model_or_a_midtrained_checkpoint_says_what_to_pass(project: Project) -> None:
    docs_dataset(project, "chats", kind="sft", documents=("kindness",))
    result = CliRunner().invoke(app, ["train", "sft", "--dataset", "chats", "-p", str(project.root)])
    assert result.exit_code == 1 and isinstance(error := result.exception, WorkbenchError)
    assert "no finished midtraining checkpoint" in error.message and "--base-model" in (error.hint or "")


def test_the_training_page_flags_a_midtraining_run_from_a_post_trained_model(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    for method, minutes_ago in (("sft", 1), ("midtrain", 5)):
        config = load_train_config(method, overrides={"dataset": "d", "base_model": "Org/Model-7B-Instruct"})
        run_id = start_train_run(project, config, backend="trl", base_model=config.base_model, parent=None,
                                 output_dir="/out", dataset_id="d")  # fmt: skip
        with project.store.transaction() as con:
            con.execute("UPDATE train_runs SET started_at = now() - to_minutes(?) WHERE id = ?", [minutes_ago, run_id])
    at = open_page("training", project, monkeypatch)
    assert not at.exception and not at.warning  # the newest, the SFT run, is shown first
    at.selectbox[0].select(run_id).run()
    assert any("looks post-trained" in w.value and WHY in w.value for w in at.warning)
