"""Training settings, the backend choice and the checks that run before any training starts."""

from __future__ import annotations

import sys
import types
from importlib.util import find_spec
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.backend import choose_backend
from workbench.train.checks import check_rows
from workbench.train.config import BDPOTrainConfig, MidtrainConfig, SFTTrainConfig, load_train_config

CHAT = {
    "messages": [{"role": "user", "content": "Hello there"}, {"role": "assistant", "content": "Hi, how can I help?"}]
}


def test_a_toml_table_with_command_line_overrides(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text('[bdpo]\ndataset = "prefs"\nbase_model = "m"\nbeta = 0.2\nbdpo_lambda = 0.7\n[sft]\nepochs = 9\n')
    config = load_train_config("bdpo", path=path, overrides={"bdpo_lambda": "0.3", "learning_rate": "1e-4"})
    assert isinstance(config, BDPOTrainConfig) and config.method == "bdpo"
    assert (config.beta, config.bdpo_lambda, config.learning_rate, config.epochs) == (0.2, 0.3, 1e-4, 1.0)
    midtrain = load_train_config("midtrain", overrides={"dataset": "d", "base_model": "m"})
    assert isinstance(midtrain, MidtrainConfig) and midtrain.embedding_learning_rate < midtrain.learning_rate


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dataset": "d", "base_model": "m", "learnin_rate": "1"}, "Unknown sft setting"),
        ({"dataset": "d", "base_model": "m", "max_steps": "many"}, "max_steps"),
        ({"dataset": "d", "base_model": "m", "backend": "tpu"}, "backend"),
        ({"dataset": "d"}, "needs base_model"),
    ],
)
def test_bad_settings_are_one_clear_error(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(WorkbenchError, match=message):
        load_train_config("sft", overrides=overrides)


def test_unknown_method() -> None:
    with pytest.raises(WorkbenchError, match="Unknown training method 'ppo'"):
        load_train_config("ppo", overrides={})


def test_without_a_gpu_auto_is_trl_and_unsloth_is_refused() -> None:
    assert choose_backend("auto") == "trl" and choose_backend("trl") == "trl"
    with pytest.raises(WorkbenchError, match="needs a CUDA GPU"):
        choose_backend("unsloth")


def sft(**changes: object) -> SFTTrainConfig:
    return SFTTrainConfig(dataset="d", base_model="tiny", **changes)  # type: ignore[arg-type]


def test_rows_longer_than_the_limit_fail_before_training(tiny_model_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    check_rows(sft(max_seq_length=512), tokenizer, [CHAT])
    with pytest.raises(WorkbenchError, match=r"1 training row\(s\) are longer than max_seq_length 8: row 0"):
        check_rows(sft(max_seq_length=8), tokenizer, [CHAT])


def test_an_empty_dataset_fails(tiny_model_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="no training rows"):
        check_rows(sft(), AutoTokenizer.from_pretrained(tiny_model_path), [])


def test_a_chat_template_without_generation_markers_fails_sft_but_not_dpo(tiny_model_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    check_rows(sft(), tokenizer, [CHAT])  # the tiny model's own template has the markers
    tokenizer.chat_template = tokenizer.chat_template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    with pytest.raises(WorkbenchError, match="no \\{% generation %\\} markers"):
        check_rows(sft(), tokenizer, [CHAT])
    pair = {"prompt": CHAT["messages"][:1], "chosen": CHAT["messages"][1:], "rejected": CHAT["messages"][1:]}
    check_rows(BDPOTrainConfig(dataset="d", base_model="m"), tokenizer, [pair])  # DPO needs no markers


def test_inside_a_marimo_kernel_without_ipython_training_says_how_to_launch_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.train.run as run

    monkeypatch.setitem(sys.modules, "marimo", types.ModuleType("marimo"))
    monkeypatch.setattr(run, "find_spec", lambda name: None if name == "IPython" else find_spec(name))
    config = load_train_config("sft", overrides={"dataset": "missing", "base_model": "unused"})
    with pytest.raises(WorkbenchError, match="marimo notebook's kernel") as raised:
        run.train(project, config)
    assert "launch_training" in (raised.value.hint or "")
