"""Give a ChatML chat template the `{% generation %}` markers SFT's assistant-only loss needs.

    patched = add_generation_markers(tokenizer.chat_template)   # None: not a shape we know
    if patched is not None and marks_assistant_turns_exactly(tokenizer, patched): ...

TRL's assistant-only loss trains on the tokens a template renders inside
`{% generation %}…{% endgeneration %}`; most chat templates have no such markers, and TRL only
knows how to add them for a list of popular families. ChatML templates that render every turn
with one expression (`'<|im_start|>' + role + '\\n' + content + '<|im_end|>' + '\\n'`, as
SmolLM2's does) are patched here: assistant turns get their content *and* `<|im_end|>` inside
the markers (so the model learns to stop), every other turn renders exactly as before, and
whatever the template does around the turns (SmolLM2's default system turn) is kept.
"""

from __future__ import annotations

import re
from typing import Any

# One ChatML turn rendered by a single expression. The '\n' literals appear either as a real
# newline or as an escaped one, depending on how the template was serialised.
_NEWLINE = r"'(?:\n|\\n)'"
_CHATML_TURN = re.compile(
    r"\{\{-?\s*'<\|im_start\|>'\s*\+\s*message\[['\"]role['\"]\]\s*\+\s*" + _NEWLINE
    + r"\s*\+\s*message\[['\"]content['\"]\]\s*\+\s*'<\|im_end\|>'\s*\+\s*" + _NEWLINE + r"\s*-?\}\}"
)  # fmt: skip
_ASSISTANT_TURN = (
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
)

_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")

# The conversation the mask check renders: two assistant turns, so both are checked.
_PROBE = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital of France."},
    {"role": "user", "content": "And of Italy?"},
    {"role": "assistant", "content": "Rome."},
]


def has_generation_markers(template: str) -> bool:
    """Whether `template` already marks what the assistant generates."""
    return _MARKER.search(template) is not None


def add_generation_markers(template: str) -> str | None:
    """`template` with its assistant turns inside `{% generation %}` markers.

    Args:
        template: A Jinja chat template.

    Returns:
        The patched template, or None when `template` is not a ChatML template rendering each
        turn with one expression (exactly once), so there is no safe place for the markers.
    """
    turns = _CHATML_TURN.findall(template)
    if len(turns) != 1:
        return None
    patched = f"{{% if message['role'] == 'assistant' %}}{_ASSISTANT_TURN}{{% else %}}{turns[0]}{{% endif %}}"
    return template.replace(turns[0], patched)


def marks_assistant_turns_exactly(tokenizer: Any, template: str) -> bool:
    """Whether `template`'s assistant mask covers each assistant reply and its `<|im_end|>`, and nothing else.

    Args:
        tokenizer: A transformers tokenizer (its own template is not used or changed).
        template: The chat template to check.
    """
    rendered = tokenizer.apply_chat_template(
        _PROBE, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    marked = [t for t, m in zip(rendered["input_ids"], rendered["assistant_masks"], strict=True) if m]
    expected = "".join(m["content"] + "<|im_end|>" for m in _PROBE if m["role"] == "assistant")
    return bool(tokenizer.decode(marked, skip_special_tokens=False) == expected)
