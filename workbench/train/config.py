"""One config dataclass per training method, read from TOML and overridden from the command line.

    config = load_train_config("sft", overrides={"dataset": "mix", "base_model": "Qwen/Qwen2.5-0.5B-Instruct"})
    config = load_train_config("bdpo", path=Path("train.toml"), overrides={"bdpo_lambda": "0.3"})

A TOML file may hold a table per method (`[sft]`, `[midtrain]`, `[dpo]`, `[bdpo]`) or flat keys;
overrides win over the file. Values are validated by pydantic, so `learning_rate = "1e-4"` from
the command line becomes a float, and a typo or a wrong type is one clear error naming the field.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from workbench.errors import WorkbenchError

Method = Literal["sft", "midtrain", "dpo", "bdpo"]
METHODS: tuple[Method, ...] = ("sft", "midtrain", "dpo", "bdpo")


@dataclass(frozen=True)
class TrainConfig:
    """What every method shares.

    Attributes:
        dataset: The training dataset (name, id or id prefix; `workbench dataset list`).
        base_model: A Hugging Face model name, a local model folder, or a checkpoint of this
            project (`checkpoint:ID`), which continues from it (e.g. SFT after midtraining).
        output_dir: Where checkpoints go; default `<project>/checkpoints/<run id>`.
        lora: Train a LoRA adapter (default); False fine-tunes every weight.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        lora_dropout: Dropout on the LoRA path.
        target_modules: Modules LoRA adapts; "all-linear" is every linear layer but the output head.
        learning_rate: Peak learning rate.
        epochs: Passes over the training split (ignored when max_steps > 0).
        max_steps: Stop after this many optimiser steps (-1: train for `epochs`).
        batch_size: Rows per device per step.
        gradient_accumulation_steps: Steps whose gradients are summed before an update.
        max_seq_length: Longest sequence in tokens; a longer row is an error before training starts.
        warmup_ratio: Fraction of steps with a linear warm-up.
        weight_decay: AdamW weight decay.
        lr_scheduler: A transformers scheduler name ("cosine", "linear", "constant" ...).
        seed: Seeds the data order, the LoRA initialisation and dropout.
        logging_steps: Metrics go to the store every this many steps.
        save_steps: Save a resumable checkpoint every this many steps (0: only at the end).
        eval_steps: Evaluate on the validation split every this many steps (0: only at the end).
        backend: "auto" (Unsloth on a CUDA GPU with the `gpu` extra, else TRL), "unsloth" or "trl".
        dtype: "auto", "float32", "bfloat16" or "float16".
        gradient_checkpointing: Trade compute for memory.
        chat_template: A Jinja chat template file to use instead of the tokenizer's.
        resume_from: A checkpoint folder of an earlier, interrupted run of this config to resume.
    """

    dataset: str = ""
    base_model: str = ""
    output_dir: str | None = None
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_seq_length: int = 2048
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    lr_scheduler: str = "cosine"
    seed: int = 0
    logging_steps: int = 1
    save_steps: int = 0
    eval_steps: int = 0
    backend: Literal["auto", "unsloth", "trl"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    gradient_checkpointing: bool = False
    chat_template: str | None = None
    resume_from: str | None = None

    @property
    def method(self) -> Method:
        return "sft"


@dataclass(frozen=True)
class SFTTrainConfig(TrainConfig):
    """SFT on chat rows, with the loss on the assistant's turns only (`workbench train sft`)."""


@dataclass(frozen=True)
class MidtrainConfig(TrainConfig):
    """Continued pretraining on packed documents (`workbench train midtrain`).

    Attributes:
        embedding_learning_rate: Learning rate of the input embeddings and the output head,
            which are trained too (new facts need them) but more gently than the rest.
        train_embeddings: Whether to train the embeddings and the output head at all.
    """

    learning_rate: float = 5e-5
    embedding_learning_rate: float = 5e-6
    train_embeddings: bool = True

    @property
    def method(self) -> Method:
        return "midtrain"


@dataclass(frozen=True)
class DPOTrainConfig(TrainConfig):
    """DPO on preference pairs (`workbench train dpo`).

    Attributes:
        beta: Strength of the pull towards the reference model (DPO's β).
    """

    learning_rate: float = 5e-6
    beta: float = 0.1

    @property
    def method(self) -> Method:
        return "dpo"


@dataclass(frozen=True)
class BDPOTrainConfig(DPOTrainConfig):
    """BDPO on preference pairs (`workbench train bdpo`); see `workbench/train/bdpo.py`.

    Attributes:
        bdpo_lambda: λ in −log σ(β·r_w − β·log(λ·e^{r_l} + 1 − λ)); 1 is exactly DPO.
    """

    bdpo_lambda: float = 0.5

    @property
    def method(self) -> Method:
        return "bdpo"


CONFIGS: dict[str, type[TrainConfig]] = {
    "sft": SFTTrainConfig,
    "midtrain": MidtrainConfig,
    "dpo": DPOTrainConfig,
    "bdpo": BDPOTrainConfig,
}


def load_train_config(
    method: str, *, path: Path | None = None, overrides: dict[str, Any] | None = None, require_base_model: bool = True
) -> TrainConfig:
    """The method's config from `path` (its `[method]` table, or flat keys) with `overrides` on top.

    Args:
        method: sft, midtrain, dpo or bdpo.
        path: A TOML file with the settings.
        overrides: Settings that win over the file's (None values are ignored).
        require_base_model: False lets `base_model` stay empty, for a caller that fills in a default
            (`workbench train sft` continues from the midtrained checkpoint: `train/defaults.py`).

    Raises:
        WorkbenchError: an unknown method, an unreadable file, an unknown field, a bad value or a missing one.
    """
    if method not in CONFIGS:
        raise WorkbenchError(f"Unknown training method {method!r}.", hint=f"Use one of {', '.join(METHODS)}.")
    cls = CONFIGS[method]
    values: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise WorkbenchError(f"Cannot read the training config {path}: {e}") from e
        values = raw.get(method, {k: v for k, v in raw.items() if not isinstance(v, dict)})
    values |= {k: v for k, v in (overrides or {}).items() if v is not None}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise WorkbenchError(
            f"Unknown {method} setting(s): {', '.join(unknown)}.", hint=f"Settings: {', '.join(sorted(known))}."
        )
    try:
        config = TypeAdapter(cls).validate_python(values)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise WorkbenchError(f"Invalid {method} settings: {problems}") from e
    required = ("dataset", "base_model") if require_base_model else ("dataset",)
    missing = [name for name in required if not getattr(config, name)]
    if missing:
        raise WorkbenchError(
            f"The {method} config needs {' and '.join(missing)}.", hint="Pass --dataset and --base-model."
        )
    return config
