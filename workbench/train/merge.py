"""Merge a LoRA adapter into its base model, and resolve `checkpoint:ID` base models.

    merged = merge_checkpoint(project, "sft-20261121-...@40")    # a full model folder, registered
    path, parent = resolve_base_model(project, "checkpoint:midtrain-...@100")

A merged checkpoint is an ordinary transformers folder (weights, config, tokenizer), so it
loads anywhere: `hf:PATH` in the gateway, vLLM, another training run. Chaining (SFT after
midtraining) starts from the merged midtrained model, so the new run's LoRA adapter sits on
top of the midtrained weights rather than on top of another adapter.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.llm.local_models import resolve_local_model
from workbench.project import Project
from workbench.train.tracking import Checkpoint, get_checkpoint, register_checkpoint

CHECKPOINT_PREFIX = "checkpoint:"


def merge_checkpoint(project: Project, ref: str, out_dir: Path | None = None) -> Checkpoint:
    """The checkpoint as a full model: itself if it is one, else its adapter merged (once) into its base.

    Raises:
        WorkbenchError: no such checkpoint, or its folder or base model is gone.
    """
    checkpoint = get_checkpoint(project, ref)
    if checkpoint.kind != "adapter":
        return checkpoint
    target = out_dir or Path(checkpoint.path).parent / "merged"
    if not (target / "config.json").exists():
        _merge(checkpoint, target)
    return register_checkpoint(project, checkpoint.run_id, checkpoint.step, str(target), kind="merged",
                               base_model=checkpoint.base_model,
                               manifest=checkpoint.manifest | {"merged_from": checkpoint.id})  # fmt: skip


def _merge(checkpoint: Checkpoint, target: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(checkpoint.path).exists():
        raise WorkbenchError(f"Checkpoint {checkpoint.id}'s folder {checkpoint.path} is gone.")
    try:
        base = AutoModelForCausalLM.from_pretrained(checkpoint.base_model, dtype="auto")
        merged = PeftModel.from_pretrained(base, checkpoint.path).merge_and_unload()
    except (OSError, ValueError) as e:
        raise WorkbenchError(f"Could not merge checkpoint {checkpoint.id} into {checkpoint.base_model!r}: {e}") from e
    partial = target.with_name(target.name + ".partial")  # renamed at the end: a crash leaves no half model
    merged.save_pretrained(partial)
    AutoTokenizer.from_pretrained(checkpoint.path).save_pretrained(partial)
    partial.rename(target)


def resolve_base_model(project: Project, base_model: str) -> tuple[str, str | None]:
    """(what to load, the checkpoint it continues from) for a hub name, a folder or `checkpoint:ID`.

    A GGUF file (or `hf:` spec naming one) resolves to its converted folder, converted once.
    """
    if not base_model.startswith(CHECKPOINT_PREFIX):
        return resolve_local_model(base_model, project.config.hf.cache_dir), None
    checkpoint = merge_checkpoint(project, base_model.removeprefix(CHECKPOINT_PREFIX))
    return checkpoint.path, checkpoint.id
