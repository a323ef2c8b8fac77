"""The trainer for each method, built from its config: SFT, midtraining, DPO and BDPO.

    trainer = make_trainer(config, loaded, train_rows, validation_rows, output_dir)

* SFT: TRL's SFTTrainer on `messages` rows with `assistant_only_loss`, so only the assistant's
  turns (and their end-of-turn token) are learnt.
* Midtraining: SFTTrainer on `text` rows, packed into `max_seq_length` blocks the way
  pretraining reads text (`wrapped`: concatenated and cut), with the loss on every token; the
  embeddings and the output head train at `embedding_learning_rate` (`midtrain_trainer`).
* DPO: TRL's DPOTrainer (sigmoid loss). BDPO: `BDPOTrainer` (train/bdpo.py).

Nothing here imports a training library at module level: the backend decides what is imported
first (Unsloth must come before transformers and TRL).
"""

from __future__ import annotations

from typing import Any

from workbench.train.backend import EMBEDDING_MODULES, LoadedModel
from workbench.train.config import BDPOTrainConfig, DPOTrainConfig, MidtrainConfig, TrainConfig


def common_args(config: TrainConfig, output_dir: str, *, has_eval: bool) -> dict[str, Any]:
    """TrainingArguments every method shares."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "output_dir": output_dir,
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "warmup_steps": config.warmup_ratio,  # a float in [0, 1) is a fraction of the steps
        "weight_decay": config.weight_decay,
        "lr_scheduler_type": config.lr_scheduler,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_steps": config.logging_steps,
        "save_strategy": "steps" if config.save_steps else "no",
        "save_steps": config.save_steps or 500,
        "eval_strategy": ("steps" if config.eval_steps else "epoch") if has_eval else "no",
        "eval_steps": config.eval_steps or None,
        "report_to": [],
        "gradient_checkpointing": config.gradient_checkpointing,
        "bf16": cuda and config.dtype in ("auto", "bfloat16") and torch.cuda.is_bf16_supported(),
        "fp16": cuda and config.dtype == "float16",
        "include_num_input_tokens_seen": "non_padding",  # tokens/s counts real tokens, not padding
        "use_cpu": not cuda,
    }


def make_trainer(
    config: TrainConfig, loaded: LoadedModel, train_rows: list[dict[str, Any]],
    validation_rows: list[dict[str, Any]], output_dir: str,
) -> Any:  # fmt: skip
    """The method's trainer over these rows (TRL formats), writing to `output_dir`."""
    from datasets import Dataset

    train = Dataset.from_list(train_rows)
    evaluation = Dataset.from_list(validation_rows) if validation_rows else None
    args = common_args(config, output_dir, has_eval=evaluation is not None)
    shared = {"model": loaded.model, "processing_class": loaded.tokenizer, "train_dataset": train,
              "eval_dataset": evaluation, "peft_config": loaded.peft_config}  # fmt: skip
    if isinstance(config, DPOTrainConfig):
        return _preference_trainer(config, args, shared)
    from trl import SFTConfig, SFTTrainer

    if isinstance(config, MidtrainConfig):
        sft_args = SFTConfig(**args, max_length=config.max_seq_length, packing=True, packing_strategy="wrapped",
                             dataset_text_field="text", completion_only_loss=False)  # fmt: skip
        return midtrain_trainer(config, sft_args, shared)
    sft_args = SFTConfig(**args, max_length=config.max_seq_length, assistant_only_loss=True)
    return SFTTrainer(args=sft_args, **shared)


def _preference_trainer(config: DPOTrainConfig, args: dict[str, Any], shared: dict[str, Any]) -> Any:
    if isinstance(config, BDPOTrainConfig):
        from workbench.train.bdpo import BDPOConfig, BDPOTrainer

        bdpo_args = BDPOConfig(
            **args, beta=config.beta, bdpo_lambda=config.bdpo_lambda, max_length=config.max_seq_length
        )
        return BDPOTrainer(args=bdpo_args, **shared)
    from trl import DPOConfig, DPOTrainer

    return DPOTrainer(args=DPOConfig(**args, beta=config.beta, max_length=config.max_seq_length), **shared)


def midtrain_trainer(config: MidtrainConfig, args: Any, shared: dict[str, Any]) -> Any:
    """An SFTTrainer whose optimiser gives the embeddings and the output head their own, lower rate."""
    from trl import SFTTrainer

    if not config.train_embeddings:
        return SFTTrainer(args=args, **shared)

    class MidtrainTrainer(SFTTrainer):
        def create_optimizer(self, *a: Any, **k: Any) -> Any:
            if self.optimizer is None:
                self.optimizer = embedding_aware_adamw(self.model, args, config.embedding_learning_rate)
            return self.optimizer

    return MidtrainTrainer(args=args, **shared)


def embedding_aware_adamw(model: Any, args: Any, embedding_learning_rate: float) -> Any:
    """AdamW with two groups: the embeddings and output head at their own rate, the rest at the main one."""
    import torch

    embeddings: list[Any] = []
    rest: list[Any] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (embeddings if any(m in name for m in EMBEDDING_MODULES) else rest).append(parameter)
    groups = [
        {"params": rest, "lr": args.learning_rate, "weight_decay": args.weight_decay},
        {"params": embeddings, "lr": embedding_learning_rate, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], betas=(args.adam_beta1, args.adam_beta2),
                             eps=args.adam_epsilon)  # fmt: skip
