"""Model names and chat templates around GGUF conversion, without the real model (see test_real_model.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from tests.tiny_model import CHAT_TEMPLATE
from workbench.errors import WorkbenchError
from workbench.llm.local_models import find_gguf, model_cache_dir, resolve_local_model
from workbench.llm.template_markers import (
    add_generation_markers,
    has_generation_markers,
    marks_assistant_turns_exactly,
)

# SmolLM2-135M-Instruct's template, as its GGUF file carries it (real newlines in the literals).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3_LIKE = (
    "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' "
    "+ message['content'] + '<|eot_id|>' }}{% endfor %}"
)
CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello!"},
    {"role": "assistant", "content": "Hello! How can I help?"},
]


@pytest.fixture
def tokenizer(tiny_model_path: Path) -> Any:
    return AutoTokenizer.from_pretrained(tiny_model_path)  # ChatML special tokens, like SmolLM2's


def test_a_chatml_template_gets_markers_that_cover_exactly_the_replies(tokenizer: Any) -> None:
    patched = add_generation_markers(SMOLLM2_TEMPLATE)

    assert patched is not None and has_generation_markers(patched)
    assert marks_assistant_turns_exactly(tokenizer, patched)
    for chat in (CHAT, CHAT[1:2]):  # with and without a system turn: rendered as before
        before = tokenizer.apply_chat_template(chat, chat_template=SMOLLM2_TEMPLATE, tokenize=False)
        after = tokenizer.apply_chat_template(chat, chat_template=patched, tokenize=False)
        assert after == before


@pytest.mark.parametrize(
    "template",
    [LLAMA3_LIKE, SMOLLM2_TEMPLATE + SMOLLM2_TEMPLATE],  # another family; two places to patch
    ids=["not-chatml", "ambiguous"],
)
def test_templates_of_unknown_shape_are_not_patched(template: str) -> None:
    assert add_generation_markers(template) is None


def test_a_mask_that_leaves_out_the_end_of_turn_token_is_caught(tokenizer: Any) -> None:
    stops_short = CHAT_TEMPLATE.replace(
        "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}",
        "{% generation %}{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>' }}",
    )
    assert stops_short != CHAT_TEMPLATE
    assert marks_assistant_turns_exactly(tokenizer, CHAT_TEMPLATE)
    assert not marks_assistant_turns_exactly(tokenizer, stops_short)


def test_names_that_are_not_gguf_pass_through(tiny_model_path: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert resolve_local_model("hf:Qwen/Qwen2.5-0.5B-Instruct", str(cache)) == "Qwen/Qwen2.5-0.5B-Instruct"
    assert resolve_local_model(str(tiny_model_path), str(cache)) == str(tiny_model_path)
    beside_a_checkpoint = tmp_path / "with-config"
    beside_a_checkpoint.mkdir()
    (beside_a_checkpoint / "config.json").write_text("{}")
    (beside_a_checkpoint / "model.gguf").write_bytes(b"")
    assert find_gguf(str(beside_a_checkpoint)) is None  # a checkpoint folder that also holds a GGUF
    assert not cache.exists()  # nothing was converted


def test_a_folder_of_several_gguf_files_asks_which_one(tmp_path: Path) -> None:
    for name in ("a.Q4.gguf", "a.Q8.gguf"):
        (tmp_path / name).write_bytes(b"")

    with pytest.raises(WorkbenchError, match="2 GGUF files") as raised:
        find_gguf(str(tmp_path))
    assert raised.value.hint is not None and "a.Q4.gguf" in raised.value.hint


def test_the_cache_is_the_setting_then_the_environment_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKBENCH_MODEL_CACHE", raising=False)
    assert model_cache_dir() == Path("~/.cache/trait-workbench/models").expanduser()
    monkeypatch.setenv("WORKBENCH_MODEL_CACHE", str(tmp_path / "env"))
    assert model_cache_dir() == tmp_path / "env"
    assert model_cache_dir(str(tmp_path / "setting")) == tmp_path / "setting"


def test_a_file_that_is_not_gguf_fails_clearly_and_leaves_no_half_folder(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a gguf file")
    cache = tmp_path / "cache"

    with pytest.raises(WorkbenchError, match="Could not read the GGUF file"):
        resolve_local_model(str(fake), str(cache))
    assert [p.suffix for p in cache.iterdir()] == [".lock"]  # no converted or partial folder
