"""What a training run starts from, as the seed method has it: midtraining from a pretrained checkpoint,
SFT from the midtrained one.

    warning = base_model_warning(project, "midtrain", "Qwen/Qwen2.5-0.5B-Instruct")   # a reason to think twice
    warning = post_trained_warning(name, tokenizer.chat_template)                      # with a loaded tokenizer
    base = default_sft_base(project, "chats")          # "checkpoint:midtrain-…@120", or a clear error

Continued pretraining on documents is meant to shape a *pretrained* model before post-training.
Whether a base is post-trained is guessed from two signs: its name (an `instruct`, `chat` or `it`
word in the last part of it, as in `SmolLM2-135M-Instruct` or `gemma-2-2b-it`) and its chat
template (one that renders a system turn belongs to a model tuned to follow one). Either sign
gives a warning, never an error: some base models ship a chat template too, and the user knows
their model. `base_model_warning` is the cheap check a form makes before launching (a local
folder's tokenizer files, no model loaded); training repeats it with the tokenizer it loaded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.datasets.build import TrainDataset, get_train_dataset
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.train.merge import CHECKPOINT_PREFIX
from workbench.train.tracking import Checkpoint, get_checkpoint, list_checkpoints

# Whole words of a model's name that mark a post-trained release. Whole words only, so "edit",
# "chatter" or "instructor" are not taken for "it", "chat" or "instruct".
POST_TRAINED_WORDS = frozenset({"instruct", "chat", "it"})
_PROBE = "workbench-system-turn-probe"
_PROBE_CHAT = [{"role": "system", "content": _PROBE}, {"role": "user", "content": "Hello"}]
WHY = (
    "Continued pretraining on documents is meant to start from a pretrained (base) checkpoint, so the "
    "documents shape the model before post-training; starting from a post-trained model can wash out its "
    "chat behaviour, or teach it the documents as chat."
)


def post_trained_word(name: str) -> str | None:
    """The word of `name`'s last part that marks a post-trained model (e.g. "Instruct"), or None.

    Only the last part counts (the repository or folder name), so `/srv/chat/models/base` is not flagged.
    """
    last = re.split(r"[/\\]", name.removeprefix("hf:").rstrip("/\\"))[-1]
    return next((w for w in re.split(r"[^0-9A-Za-z]+", last) if w.lower() in POST_TRAINED_WORDS), None)


def renders_system_turn(chat_template: Any) -> bool:
    """Whether a chat template (a string, or named templates) shows a system message when it renders a chat.

    A template that refuses a system turn (raises) or drops it does not.
    """
    if isinstance(chat_template, dict):  # a tokenizer's named templates
        chat_template = chat_template.get("default")
    elif isinstance(chat_template, list):  # tokenizer_config.json's [{"name", "template"}]
        chat_template = next((t.get("template") for t in chat_template if t.get("name") == "default"), None)
    if not isinstance(chat_template, str) or not chat_template:
        return False
    from transformers.utils.chat_template_utils import render_jinja_template

    try:  # what apply_chat_template renders with; it returns (chats, generation indices), whatever its hint says
        rendered: Any = render_jinja_template(
            [_PROBE_CHAT], chat_template=chat_template, add_generation_prompt=True, bos_token="", eos_token=""
        )
    except Exception:  # a template that refuses or breaks on a system turn does not render one
        return False
    return _PROBE in rendered[0][0]


def post_trained_warning(name: str, chat_template: Any) -> str | None:
    """Why midtraining from this model is doubtful, or None when neither sign says it is post-trained.

    Args:
        name: What the user named (hub name, folder or GGUF file); a `checkpoint:` reference has no name sign.
        chat_template: Its tokenizer's chat template, if known.
    """
    word = None if name.startswith(CHECKPOINT_PREFIX) else post_trained_word(name)
    signs = [f"its name says {word!r}"] if word else []
    if renders_system_turn(chat_template):
        signs.append("its chat template renders a system turn")
    if not signs:
        return None
    return (
        f"The base model {name!r} looks post-trained ({' and '.join(signs)}). {WHY} "
        "Midtrain the pretrained release instead (e.g. without -Instruct), then SFT from the midtrained checkpoint."
    )


def local_chat_template(folder: Path) -> Any:
    """The chat template saved in a local model folder (`chat_template.jinja` or tokenizer_config.json), or None."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("chat_template") if isinstance(config, dict) else None


def base_model_warning(project: Project, method: str, base_model: str) -> str | None:
    """The cheap pre-launch check: a warning when `method` is midtrain and `base_model` looks post-trained.

    Reads only files: the chat template of a local folder or of a `checkpoint:ID`'s folder, if there is one.
    """
    if method != "midtrain" or not base_model:
        return None
    folder = Path(base_model.removeprefix("hf:"))
    if base_model.startswith(CHECKPOINT_PREFIX):
        try:
            folder = Path(get_checkpoint(project, base_model.removeprefix(CHECKPOINT_PREFIX)).path)
        except WorkbenchError:
            return None  # training says there is no such checkpoint
    return post_trained_warning(base_model, local_chat_template(folder) if folder.is_dir() else None)


def _documents(dataset: TrainDataset) -> set[str]:
    """The traits documents a dataset's synthetic rows come from (refs are `document@number`)."""
    return {v["ref"].rpartition("@")[0] for v in dataset.manifest.get("traits_versions", [])}


def _dataset_documents(project: Project, ref: str) -> set[str]:
    try:
        return _documents(get_train_dataset(project, ref))
    except WorkbenchError:  # its dataset was deleted: its documents are unknown
        return set()


def latest_midtrained(project: Project, dataset: str | None = None) -> Checkpoint | None:
    """The final checkpoint of the newest finished midtraining run, or None.

    Args:
        project: The project whose runs are searched.
        dataset: The SFT dataset about to be trained on. Where both its traits documents and a run's are
            known, a run on other documents is passed over.
    """
    wanted = _dataset_documents(project, dataset) if dataset else set()
    with project.store.connect() as con:
        runs = con.execute(
            "SELECT id, dataset_id FROM train_runs WHERE method = 'midtrain' AND status = 'done'"
            " ORDER BY finished_at DESC, started_at DESC"
        ).fetchall()
    for run_id, dataset_id in runs:
        documents = _dataset_documents(project, dataset_id)
        if wanted and documents and not wanted & documents:
            continue
        # The run's own last save: a merged copy of it is found again when the base is resolved.
        final = next((c for c in list_checkpoints(project, run_id) if c.kind != "merged"), None)
        if final is not None:
            return final
    return None


def default_sft_base(project: Project, dataset: str) -> str:
    """`checkpoint:ID` of the midtrained model SFT continues from when no base model is given.

    Raises:
        WorkbenchError: the project has no finished midtraining checkpoint (for this dataset's documents).
    """
    checkpoint = latest_midtrained(project, dataset)
    if checkpoint is None:
        raise WorkbenchError(
            f"SFT on {dataset!r} needs a base model: the project has no finished midtraining checkpoint "
            "(on the same traits document) to continue from.",
            hint="Pass --base-model (a hub name, a model folder or checkpoint:ID), or midtrain first with "
            "`workbench train midtrain --dataset DOCS --base-model PRETRAINED`.",
        )
    return f"{CHECKPOINT_PREFIX}{checkpoint.id}"
