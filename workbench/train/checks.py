"""Checks before training starts, so a bad input fails in seconds with a clear error, not an hour in.

    check_rows(config, tokenizer, train_rows)

* no training rows;
* rows of the wrong kind for the method (chats for SFT, text for midtraining, pairs for DPO);
* a chat model without a chat template, or (for SFT's assistant-only loss) one without
  `{% generation %}` markers that TRL cannot supply for it;
* a row the chat template cannot render: a template that refuses a system turn (or tool turns),
  which baseline rows keep on purpose (workbench/datasets/baseline.py);
* sequences longer than `max_seq_length` (midtraining packs text into blocks, so length is free).
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from workbench.errors import WorkbenchError
from workbench.train.config import DPOTrainConfig, MidtrainConfig, TrainConfig

DATASET_KIND = {"sft": "sft", "midtrain": "midtrain", "dpo": "preference", "bdpo": "preference"}
_SHOWN = 5  # offending rows named in an error


def check_rows(config: TrainConfig, tokenizer: Any, rows: list[dict[str, Any]]) -> None:
    """Raise `WorkbenchError` if the rows cannot be trained on with this config and tokenizer."""
    if not rows:
        raise WorkbenchError(
            f"Training dataset {config.dataset!r} has no training rows.",
            hint="Build one with `workbench dataset build`.",
        )
    if isinstance(config, MidtrainConfig):
        return
    _check_template(config, tokenizer)
    lengths = [_rendered_length(config, tokenizer, i, row) for i, row in enumerate(rows)]
    too_long = [(i, n) for i, n in enumerate(lengths) if n > config.max_seq_length]
    if too_long:
        shown = ", ".join(f"row {i} ({n} tokens)" for i, n in too_long[:_SHOWN])
        raise WorkbenchError(
            f"{len(too_long)} training row(s) are longer than max_seq_length {config.max_seq_length}: {shown}"
            + (" ..." if len(too_long) > _SHOWN else "")
            + ". Nothing was trained.",
            hint=f"Raise max_seq_length to at least {max(n for _, n in too_long)} (memory permitting), "
            "or rebuild the dataset without those rows.",
        )


def _check_template(config: TrainConfig, tokenizer: Any) -> None:
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise WorkbenchError(
            f"The tokenizer of {config.base_model!r} has no chat template, so chats cannot be trained on.",
            hint="Use an instruct model, or set chat_template to a Jinja template file.",
        )
    if isinstance(config, DPOTrainConfig) or has_generation_markers(template):
        return
    try:
        patched = get_training_chat_template(tokenizer)
    except (ValueError, NotImplementedError, TypeError):
        patched = None
    if patched is None:
        raise WorkbenchError(
            f"The chat template of {config.base_model!r} has no {{% generation %}} markers, which SFT's "
            "assistant-only loss needs to tell the assistant's tokens apart, and TRL has none for this model.",
            hint="Set chat_template to a template file whose assistant turns sit inside "
            "{% generation %}...{% endgeneration %} (the end-of-turn token included).",
        )


def _rendered_length(config: TrainConfig, tokenizer: Any, index: int, row: dict[str, Any]) -> int:
    """`_length`, or an error naming the row when the chat template refuses it."""
    try:
        return _length(config, tokenizer, row)
    except TemplateError as e:
        roles = sorted({t["role"] for key in ("messages", "prompt") for t in row.get(key, [])})
        raise WorkbenchError(
            f"The chat template of {config.base_model!r} cannot render training row {index} "
            f"(roles {', '.join(roles)}): {e}. Nothing was trained.",
            hint="A baseline row keeps its own system and tool turns, so that the model learns to follow them: "
            "set chat_template to a template that takes them, or use a baseline (or model) without them.",
        ) from e


def _length(config: TrainConfig, tokenizer: Any, row: dict[str, Any]) -> int:
    """Tokens of the longest sequence a row becomes."""
    if isinstance(config, DPOTrainConfig):
        return max(_chat_tokens(tokenizer, row["prompt"] + row[side]) for side in ("chosen", "rejected"))
    return _chat_tokens(tokenizer, row["messages"])


def _chat_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
