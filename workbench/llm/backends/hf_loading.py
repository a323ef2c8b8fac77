"""Where the `hf` backend's model comes from and what it runs on: device, dtype, checkpoint, load errors.

    device = pick_device("auto")                      # the first CUDA GPU, else the CPU
    dtype = pick_dtype("auto", device)                # float32 on CPU, bf16/fp16 on CUDA
    local = local_checkpoint("hf:/ckpt/sft", cache_dir)   # a directory, or None for a hub id
    AutoTokenizer.from_pretrained(tokenizer_source(local))

The loading itself (`HFBackend._load_sync`, hf.py) calls these; the trainer picks its device and
dtype with the same two functions. Every user-fixable problem (a device torch does not have, an
unknown dtype, a checkpoint path with nothing there, a model transformers cannot load) becomes a
`WorkbenchError` that says what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from workbench.errors import WorkbenchError
from workbench.llm.local_models import resolve_local_model

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(name: str) -> torch.device:
    """'auto' is the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise WorkbenchError(f"[hf] device {name!r} is not a torch device: {e}") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise WorkbenchError(f"[hf] device is {name!r}, but torch sees no CUDA GPU.", hint="Use 'auto' or 'cpu'.")
    return device


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """'auto' is float32 on CPU (half precision is slow there) and bfloat16/float16 on CUDA."""
    if name == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if name not in _DTYPES:
        raise WorkbenchError(f"[hf] dtype {name!r} is not one of auto, {', '.join(_DTYPES)}.")
    return _DTYPES[name]


def local_checkpoint(model_name: str, cache_dir: str | None) -> Path | None:
    """The checkpoint directory (a GGUF file's converted copy), or None for a hub repo id.

    Args:
        model_name: The model as the spec names it, without the `hf:` prefix.
        cache_dir: Where converted GGUF copies are kept ([hf] cache_dir).

    Raises:
        WorkbenchError: The name is clearly a path (absolute, relative, or deeper than
            `org/name`) but nothing is there, or a GGUF file cannot be converted.
    """
    path = Path(resolve_local_model(model_name, cache_dir)).expanduser()
    if path.exists():
        return path
    looks_like_path = path.is_absolute() or model_name.startswith((".", "~")) or model_name.count("/") > 1
    if looks_like_path:
        raise WorkbenchError(
            f"No model checkpoint at {path.resolve()}.",
            hint="Check the path in the model spec (hf:/path/to/checkpoint); it must be a directory "
            "saved with save_pretrained.",
        )
    return None


def tokenizer_source(checkpoint: Path) -> str:
    """The directory (or hub id) holding a local checkpoint's tokenizer.

    That is the checkpoint itself, unless it is a PEFT adapter saved without a tokenizer:
    then it is the adapter's base model.
    """
    adapter_config = checkpoint / "adapter_config.json"
    if (checkpoint / "tokenizer_config.json").exists() or not adapter_config.exists():
        return str(checkpoint)
    return str(json.loads(adapter_config.read_text(encoding="utf-8"))["base_model_name_or_path"])


def load_error(model_name: str, error: Exception, local: Path | None) -> WorkbenchError:
    """A transformers loading failure as a message that says what to do."""
    if "trust_remote_code" in str(error):
        hint = (
            "This model ships its own code. Set `trust_remote_code = true` under [hf] in "
            "workbench.toml only if you trust its authors."
        )
    elif local is not None:
        hint = f"Check that {local} holds a transformers checkpoint (config.json, weights, tokenizer)."
    else:
        hint = (
            f"Download it first while online (`hf download {model_name}`) or check the name; "
            "offline, only models already in the Hugging Face cache can be loaded."
        )
    return WorkbenchError(f"Could not load model {model_name!r}: {error}", hint=hint)
