"""Loading local models in the `hf` backend: trust_remote_code, devices, bad paths, adapters."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
import torch
from transformers import LlamaForCausalLM

from tests.test_backend_hf import CPU, GREEDY_8, GenerateSpy, ask, run
from tests.test_backend_hf import spy as spy  # the fixture, shared with the generation tests
from workbench.config import HFConfig
from workbench.errors import WorkbenchError
from workbench.llm.backends import hf
from workbench.llm.backends.hf import HFBackend
from workbench.llm.types import BackendResponse, LLMRequest


@pytest.fixture
def from_pretrained_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """Record the kwargs of every tokenizer and model `from_pretrained` made by the backend."""
    calls: dict[str, list[dict[str, Any]]] = {"tokenizer": [], "model": []}
    for name, cls in (("tokenizer", hf.AutoTokenizer), ("model", hf.AutoModelForCausalLM)):
        original = cls.from_pretrained

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls[_name].append(kwargs)
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    return calls


@pytest.mark.parametrize(("config", "trusted"), [(CPU, False), (HFConfig(device="cpu", trust_remote_code=True), True)])
def test_trust_remote_code_is_passed_from_config_and_off_by_default(
    tiny_model_path: Path,
    from_pretrained_calls: dict[str, list[dict[str, Any]]],
    config: HFConfig,
    trusted: bool,
) -> None:
    run(HFBackend(str(tiny_model_path), config, batch_size=1).load())

    assert [c["trust_remote_code"] for c in from_pretrained_calls["tokenizer"]] == [trusted]
    assert [c["trust_remote_code"] for c in from_pretrained_calls["model"]] == [trusted]
    assert from_pretrained_calls["model"][0]["dtype"] == torch.float32


def test_concurrent_first_calls_load_the_model_once(
    tiny_model_path: Path, from_pretrained_calls: dict[str, list[dict[str, Any]]], spy: GenerateSpy
) -> None:
    async def main() -> list[BackendResponse]:
        backend = HFBackend(str(tiny_model_path), CPU, batch_size=4)  # not loaded yet
        try:
            requests = [LLMRequest.from_prompt(f"q{i}", params=GREEDY_8) for i in range(4)]
            return list(await asyncio.gather(*(backend.generate(r, None) for r in requests)))
        finally:
            await backend.aclose()

    responses = run(main())

    assert len(from_pretrained_calls["model"]) == 1
    assert len(responses) == 4
    assert sum(spy.batch_sizes()) == 4


@pytest.mark.parametrize(
    ("config", "named"),
    [
        (HFConfig(device="gpu0"), "'gpu0'"),
        (HFConfig(device="cpu", dtype="float8"), "'float8'"),
        pytest.param(
            HFConfig(device="cuda"),
            "'cuda'",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA"),
        ),
    ],
)
def test_bad_device_or_dtype_setting_is_a_workbench_error(tiny_model_path: Path, config: HFConfig, named: str) -> None:
    with pytest.raises(WorkbenchError, match=named):
        run(HFBackend(str(tiny_model_path), config, batch_size=1).load())


@pytest.mark.parametrize("name", ["/no/such/dir/model", "hf:/no/such/dir/model", "./no-such-dir/model"])
def test_missing_local_path_raises_workbench_error_naming_it(name: str) -> None:
    with pytest.raises(WorkbenchError) as info:
        run(HFBackend(name, CPU, batch_size=1).generate(LLMRequest.from_prompt("hi"), None))
    assert str(Path(name.removeprefix("hf:")).resolve()) in str(info.value)
    assert "Check the path" in str(info.value)


def test_hub_model_not_in_cache_offline_says_to_download_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at call time
    name = "workbench-tests/no-such-model"

    with pytest.raises(WorkbenchError) as info:
        run(HFBackend(name, CPU, batch_size=1).generate(LLMRequest.from_prompt("hi"), None))

    assert name in str(info.value)
    assert f"hf download {name}" in str(info.value)


def test_model_without_chat_template_is_refused(tiny_model_path: Path, tmp_path: Path) -> None:
    plain = shutil.copytree(tiny_model_path, tmp_path / "base-model")
    (plain / "chat_template.jinja").unlink()
    assert "chat_template" not in json.loads((plain / "tokenizer_config.json").read_text())

    with pytest.raises(WorkbenchError, match="has no chat template") as info:
        run(HFBackend(str(plain), CPU, batch_size=1).load())
    assert "base-model" in str(info.value)


def test_peft_adapter_directory_loads_with_its_base_model(tiny_model_path: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    with torch.random.fork_rng():
        torch.manual_seed(0)
        base = LlamaForCausalLM.from_pretrained(tiny_model_path)
        # Random (non-zero) LoRA weights, so the adapter visibly changes the answers.
        lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        get_peft_model(base, lora).save_pretrained(tmp_path / "adapter")
    request = LLMRequest.from_prompt("What is the capital of France?", params=GREEDY_8)

    assert not (tmp_path / "adapter" / "tokenizer_config.json").exists()  # tokenizer comes from the base
    assert ask(tmp_path / "adapter", request)[0].text != ask(tiny_model_path, request)[0].text


# -- failures and shutdown --------------------------------------------------------------------
