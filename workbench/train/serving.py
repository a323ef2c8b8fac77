"""Serve trained checkpoints with vLLM's OpenAI-compatible server, so evals reach them as `openai:NAME@URL`.

    plan = serve_plan(project, ["sft-2026…@40", "sft-2026…@80"], names=["arm-a", "arm-b"], port=8000)
    plan.shell()      # the `vllm serve …` command, one flag per line
    plan.specs()      # [ServedModel("arm-a", "openai:arm-a@http://127.0.0.1:8000/v1", "sft-…@40"), …]

One vLLM server serves one model. LoRA adapters that share that model as their base are each served
under a model name of their own (`--enable-lora --lora-modules NAME=PATH`), so several training arms
are evaluated against one server, and the base itself answers as `base` (the untrained floor). A
merged or full checkpoint is the served model itself (under its name), and adapters trained on top
of it (SFT after midtraining) may be served beside it. Nothing here starts vLLM or imports it: the
command is printed, to run where the GPU is (`workbench train serve`; docs/serving.md).

What vLLM would refuse only at its first request is refused here, with what to do: adapters on
different bases, an adapter that also saves whole modules (`modules_to_save`, as midtraining's
embeddings and head) or uses DoRA (merge it: `workbench train merge`), a rank above vLLM's largest.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.tracking import Checkpoint, get_checkpoint

BASE_NAME = "base"
"""The served name of the adapters' base model when no merged checkpoint is the served model."""

# vLLM accepts only these values for --max-lora-rank (vllm/config/lora.py, MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MERGE_HINT = "Merge it into its base with `workbench train merge {id}` and serve the merged checkpoint instead."


@dataclass(frozen=True)
class ServedModel:
    """One model name the server answers to.

    Attributes:
        name: The name in requests (`model` field) and in the spec.
        spec: The model spec for evals, `openai:NAME@URL`.
        source: The checkpoint id it serves, or "base model" for the adapters' base.
    """

    name: str
    spec: str
    source: str


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter served under its own name."""

    name: str
    checkpoint_id: str
    path: str
    rank: int


@dataclass(frozen=True)
class ServePlan:
    """What one vLLM server serves: a model under one name, and LoRA adapters on it under theirs.

    Attributes:
        model: The folder (or hub id) vLLM loads.
        model_name: The name the model itself is served under.
        model_source: Its checkpoint id, or None when it is the adapters' base model.
        adapters: The adapters, in the order given.
        port: The server's port on 127.0.0.1.
    """

    model: str
    model_name: str
    model_source: str | None
    adapters: tuple[Adapter, ...]
    port: int

    @property
    def base_url(self) -> str:
        """The server's API root, as `openai:NAME@URL` specs and `[concurrency] servers` name it."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The `vllm serve` command as arguments."""
        args = ["vllm", "serve", self.model, "--served-model-name", self.model_name,
                "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        if self.adapters:
            # max-loras: every arm can sit in the same batch, so arms evaluated at once do not take turns.
            args += ["--enable-lora", "--max-lora-rank", str(_vllm_rank(max(a.rank for a in self.adapters))),
                     "--max-loras", str(len(self.adapters)),
                     "--lora-modules", *(f"{a.name}={a.path}" for a in self.adapters)]  # fmt: skip
        return args

    def shell(self) -> str:
        """The command, quoted for a POSIX shell, with each option on a line of its own."""
        lines: list[list[str]] = []
        for arg in self.command():
            if arg.startswith("--") or not lines:
                lines.append([arg])
            else:
                lines[-1].append(arg)
        return " \\\n  ".join(shlex.join(line) for line in lines)

    def specs(self) -> list[ServedModel]:
        """Every served name with its spec: a served checkpoint first, the adapters in order, the base last."""
        served = [ServedModel(a.name, self._spec(a.name), a.checkpoint_id) for a in self.adapters]
        model = ServedModel(self.model_name, self._spec(self.model_name), self.model_source or "base model")
        return [model, *served] if self.model_source else [*served, model]

    def _spec(self, name: str) -> str:
        return f"openai:{name}@{self.base_url}"


def serve_plan(project: Project, refs: list[str], *, names: list[str] | None = None, port: int = 8000) -> ServePlan:
    """How to serve checkpoints of `project` from one vLLM server.

    Args:
        project: The project whose store holds the checkpoints.
        refs: Checkpoint ids (or id prefixes, or run ids: their newest checkpoint).
        names: The served name of each checkpoint, in order; default: its id with '@' as '-'.
        port: The port the server listens on, on 127.0.0.1.

    Raises:
        WorkbenchError: no checkpoint given, one is unknown or given twice, a folder (or a local
            base model) is missing, the adapters' bases differ, more than one checkpoint is a full
            model, an adapter is one vLLM cannot serve, or the names are not one valid, distinct
            name per checkpoint.
    """
    if not refs:
        raise WorkbenchError("No checkpoint to serve.", hint="List them with `workbench train checkpoints`.")
    checkpoints = [get_checkpoint(project, ref) for ref in refs]
    chosen = _names(checkpoints, names)
    for checkpoint in checkpoints:
        _require_folder(checkpoint.path, f"Checkpoint {checkpoint.id}'s folder")
    full = [(name, c) for name, c in zip(chosen, checkpoints, strict=True) if c.kind != "adapter"]
    adapters = [(name, c) for name, c in zip(chosen, checkpoints, strict=True) if c.kind == "adapter"]
    if len(full) > 1:
        raise WorkbenchError(
            f"One vLLM server serves one model, and {', '.join(c.id for _, c in full)} are each a whole model.",
            hint="Serve each from its own server (another --port); only LoRA adapters share one server.",
        )
    if full:
        model, model_name, source = _local(full[0][1].path), full[0][0], full[0][1].id
    else:
        model, model_name, source = _local(adapters[0][1].base_model), BASE_NAME, None
    _require_common_base(model, [c for _, c in adapters])
    served = tuple(Adapter(name, c.id, str(Path(c.path).resolve()), _adapter_rank(c)) for name, c in adapters)
    return ServePlan(model=model, model_name=model_name, model_source=source, adapters=served, port=port)


def _names(checkpoints: list[Checkpoint], names: list[str] | None) -> list[str]:
    ids = [c.id for c in checkpoints]
    if len(set(ids)) < len(ids):
        raise WorkbenchError(f"A checkpoint is named twice: {', '.join(ids)}.", hint="Name each checkpoint once.")
    chosen = names or [re.sub(r"[^A-Za-z0-9._-]+", "-", c.id) for c in checkpoints]
    if len(chosen) != len(checkpoints):
        raise WorkbenchError(
            f"{len(chosen)} --name for {len(checkpoints)} checkpoints.",
            hint="Give one --name per checkpoint, in the same order, or none for names made from the ids.",
        )
    bad = [name for name in chosen if not _NAME.fullmatch(name)]
    if bad:
        raise WorkbenchError(f"Served names {bad} are not letters, digits, '.', '_' and '-' (starting with a letter "
                             "or digit).", hint="Choose names such as arm-a or sft-r16.")  # fmt: skip
    taken = [*chosen, *([] if any(c.kind != "adapter" for c in checkpoints) else [BASE_NAME])]
    if len(set(taken)) < len(taken):
        raise WorkbenchError(f"Served names must differ (and {BASE_NAME!r} is the base model's): {', '.join(chosen)}.")
    return chosen


def _require_folder(path: str, what: str) -> None:
    if not Path(path).expanduser().is_dir():
        raise WorkbenchError(
            f"{what} {path} is missing.",
            hint="Serve from the machine that holds it, or copy it there to the same path.",
        )


def _is_local(model: str) -> bool:
    """Whether a base model is a folder (as training resolved it), not a hub id that vLLM downloads."""
    return model.startswith(("/", ".", "~"))


def _local(model: str) -> str:
    """A local folder as an absolute path (vLLM may run from elsewhere); a hub id as it is."""
    return str(Path(model).expanduser().resolve()) if _is_local(model) else model


def _require_common_base(model: str, adapters: list[Checkpoint]) -> None:
    """Every adapter applies to `model`, and `model` is there if it is a local folder."""
    if any(_local(c.base_model) != model for c in adapters):
        bases = [f"  {c.id}: {c.base_model}" for c in adapters]
        if model not in {_local(c.base_model) for c in adapters}:
            bases.append(f"  the served model: {model}")
        raise WorkbenchError(
            "These adapters were trained on different base models, and one vLLM server serves one:\n"
            + "\n".join(bases),
            hint="Serve the adapters of each base from its own server (another --port).",
        )
    if _is_local(model):
        _require_folder(model, "The base model")


def _adapter_rank(checkpoint: Checkpoint) -> int:
    """The adapter's largest LoRA rank, once its config is known to be one vLLM serves."""
    config_path = Path(checkpoint.path) / "adapter_config.json"
    try:
        config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WorkbenchError(f"Checkpoint {checkpoint.id} has no readable {config_path}: {e}") from e
    hint = _MERGE_HINT.format(id=checkpoint.id)
    if config.get("modules_to_save"):
        raise WorkbenchError(f"vLLM cannot serve adapter {checkpoint.id} as a LoRA: it also trains whole modules "
                             f"({', '.join(config['modules_to_save'])}).", hint=hint)  # fmt: skip
    if config.get("use_dora"):
        raise WorkbenchError(f"vLLM cannot serve adapter {checkpoint.id} as a LoRA: it is a DoRA adapter.", hint=hint)
    rank = max([int(config["r"]), *(int(r) for r in (config.get("rank_pattern") or {}).values())])
    if rank > VLLM_LORA_RANKS[-1]:
        raise WorkbenchError(f"Adapter {checkpoint.id} has rank {rank}; vLLM serves ranks up to {VLLM_LORA_RANKS[-1]}.",
                             hint=hint)  # fmt: skip
    return rank


def _vllm_rank(rank: int) -> int:
    """The smallest --max-lora-rank vLLM accepts that covers `rank`."""
    return next(allowed for allowed in VLLM_LORA_RANKS if allowed >= rank)
