"""The model to train: Unsloth's FastLanguageModel on a CUDA GPU, transformers + PEFT elsewhere.

    backend = choose_backend(config.backend)            # "unsloth" or "trl"
    loaded = load_for_training(config, base_path, backend=backend, trust_remote_code=False)

Unsloth patches transformers, TRL and PEFT when it is imported, so it must be imported before
them: `choose_backend` imports it (only when it is chosen) and this module imports no training
library at the top. With Unsloth the LoRA adapter is applied here (`get_peft_model`); with TRL
the trainer applies `loaded.peft_config`. Either way the trainer saves the same kind of
checkpoint: an adapter, or the full model, with the tokenizer.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.errors import WorkbenchError
from workbench.train.config import MidtrainConfig, TrainConfig

Backend = Literal["unsloth", "trl"]

# Where "all-linear" is not understood (Unsloth wants names): the usual decoder projections.
DECODER_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
EMBEDDING_MODULES = ["embed_tokens", "lm_head"]


def choose_backend(requested: str) -> Backend:
    """Unsloth when asked for (or on "auto" with a CUDA GPU and the `gpu` extra), else TRL.

    Raises:
        WorkbenchError: Unsloth was asked for but there is no CUDA GPU or it is not installed.
    """
    import torch

    cuda = torch.cuda.is_available()
    installed = importlib.util.find_spec("unsloth") is not None
    if requested == "unsloth" and not cuda:
        raise WorkbenchError("The Unsloth backend needs a CUDA GPU; torch sees none.", hint="Use --backend trl.")
    if requested == "unsloth" and not installed:
        raise WorkbenchError("Unsloth is not installed.", hint="On a CUDA machine: pip install -e '.[gpu]'.")
    if requested == "trl" or not (cuda and installed):
        return "trl"
    import unsloth  # noqa: F401  (first, before transformers/trl/peft are used: it patches them)

    return "unsloth"


@dataclass
class LoadedModel:
    """A model and tokenizer ready for a trainer.

    Attributes:
        model: The model (with its LoRA adapter already applied under Unsloth).
        tokenizer: Its tokenizer, with a pad token.
        peft_config: The LoRA config the trainer should apply (TRL backend with LoRA), else None.
    """

    model: Any
    tokenizer: Any
    peft_config: Any | None


def target_modules(config: TrainConfig, backend: Backend) -> str | list[str]:
    if config.target_modules == "all-linear" and backend == "unsloth":
        return DECODER_PROJECTIONS
    return config.target_modules


def _modules_to_save(config: TrainConfig) -> list[str] | None:
    """Midtraining with LoRA also trains the embeddings and output head (at their own rate)."""
    if isinstance(config, MidtrainConfig) and config.train_embeddings and config.lora:
        return EMBEDDING_MODULES
    return None


def load_for_training(config: TrainConfig, base: str, *, backend: Backend, trust_remote_code: bool) -> LoadedModel:
    """Load `base` (a hub name or a local folder) for `config`'s method on `backend`.

    Raises:
        WorkbenchError: the model or its tokenizer cannot be loaded.
    """
    try:
        loaded = _load_unsloth(config, base) if backend == "unsloth" else _load_trl(config, base, trust_remote_code)
    except (OSError, ValueError) as e:
        hint = (
            "It needs trust_remote_code: set [hf] trust_remote_code = true if you trust it."
            if ("trust_remote_code" in str(e))
            else "Check the name or path; offline, only models already downloaded can be loaded."
        )
        raise WorkbenchError(f"Could not load the base model {base!r}: {e}", hint=hint) from e
    if loaded.tokenizer.pad_token_id is None:
        loaded.tokenizer.pad_token = loaded.tokenizer.eos_token
    if config.chat_template:
        loaded.tokenizer.chat_template = Path(config.chat_template).read_text(encoding="utf-8")
    return loaded


def _load_trl(config: TrainConfig, base: str, trust_remote_code: bool) -> LoadedModel:
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.llm.backends.hf import pick_device, pick_dtype

    device = pick_device("auto")
    # Full fine-tuning keeps float32 master weights (bf16 autocast does the maths): AdamW updates on
    # bf16 weights would round small steps away. A LoRA base is frozen, so half precision is fine.
    dtype = pick_dtype("float32" if not config.lora and config.dtype == "auto" else config.dtype, device)
    tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype, trust_remote_code=trust_remote_code)
    peft_config = None
    if config.lora:
        peft_config = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=target_modules(config, "trl"), modules_to_save=_modules_to_save(config),
            task_type="CAUSAL_LM",
        )  # fmt: skip
    return LoadedModel(model, tokenizer, peft_config)


def _load_unsloth(config: TrainConfig, base: str) -> LoadedModel:
    import torch
    from unsloth import FastLanguageModel

    dtype = None if config.dtype == "auto" else getattr(torch, config.dtype)
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=base, max_seq_length=config.max_seq_length, dtype=dtype, load_in_4bit=False,
        full_finetuning=not config.lora,
    )  # fmt: skip
    if config.lora:
        model = FastLanguageModel.get_peft_model(
            model, r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=target_modules(config, "unsloth"), modules_to_save=_modules_to_save(config),
            use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
            random_state=config.seed,
        )  # fmt: skip
    return LoadedModel(model, tokenizer, None)
