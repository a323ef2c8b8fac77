"""The row formats a dataset to audit may come in, and how each becomes the text an auditor reads.

    fmt = detect_format(record)            # "messages", "sharegpt", "alpaca", "text", ... (from its keys)
    text = render_record(record, fmt)      # raises ValueError saying what is wrong with the row
    trl = trl_chat(record, fmt)            # a chat row as TRL's {"messages": [...], "tools": [...]}

* `messages`: `{"messages": [{"role": "user", "content": ...}, ...]}` (TRL/OpenAI conversational);
  assistant `tool_calls` (content null or absent) and `tool` turns, and a top-level `tools` list.
* `prompt_completion`: `{"prompt": ..., "completion": ...}`, each a string or a list of turns.
* `sharegpt`: `{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}`; the
  speakers `function_call` and `observation` are a tool call and its result, `tools` the definitions.
* `alpaca`: `{"instruction": ..., "input": ..., "output": ...}`: the user asks the instruction
  (then the input after a blank line, if any) and the assistant answers the output.
* `text`: `{"text": ...}`, a document.
* `preference`: `{"prompt": ..., "chosen": ..., "rejected": ...}`. The auditor reads the prompt
  and the *chosen* answer, the one training pulls the model towards.

A chat renders as a transcript, one `USER:` / `ASSISTANT:` / `SYSTEM:` block per turn, tool calls
and results marked (see `turns.py`); a document as its text. Extra fields are allowed and kept in
the stored record. Rows in other shapes are mapped onto these with `mapping.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from workbench.audit.rows import AlpacaRow, MessagesRow, PreferenceRow, PromptCompletionRow, ShareGPTRow, TextRow
from workbench.audit.turns import chat_of, render_chat, trl_record

Format = Literal["messages", "prompt_completion", "sharegpt", "alpaca", "text", "preference"]
FORMATS: tuple[Format, ...] = ("messages", "prompt_completion", "sharegpt", "alpaca", "text", "preference")

# Each format's keys (what an error lists), and the keys that tell it (tried in this order: a
# preference row also has `prompt`; Alpaca datasets often add a formatted `text`).
KEYS: dict[Format, tuple[str, ...]] = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "preference": ("prompt", "chosen", "rejected"),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "output"),
    "text": ("text",),
}
_TELLING: dict[Format, tuple[str, ...]] = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "preference": ("chosen", "rejected"),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction",),
    "text": ("text",),
}

_MODELS: dict[Format, type[BaseModel]] = {
    "messages": MessagesRow,
    "prompt_completion": PromptCompletionRow,
    "sharegpt": ShareGPTRow,
    "alpaca": AlpacaRow,
    "text": TextRow,
    "preference": PreferenceRow,
}

CHAT_FORMATS: tuple[Format, ...] = ("messages", "prompt_completion", "sharegpt", "alpaca")
"""The formats that are one conversation (`trl_chat` turns them into TRL `messages`)."""


def known_formats() -> str:
    """Every format with its keys: `messages (messages), sharegpt (conversations), ...`."""
    return ", ".join(f"{fmt} ({', '.join(keys)})" for fmt, keys in KEYS.items())


def detect_format(record: Any) -> Format:
    """The format a row is in, from its keys.

    Raises:
        ValueError: the row is not a JSON object or has none of the known keys.
    """
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    for fmt, keys in _TELLING.items():
        if any(key in record for key in keys):
            return fmt
    seen = ", ".join(sorted(map(str, record))) or "none"
    raise ValueError(f"unknown row format (keys: {seen})")


def _parsed(record: Any, fmt: Format) -> BaseModel:
    """The row validated as `fmt`, or a ValueError naming each bad field."""
    try:
        return _MODELS[fmt].model_validate(record)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'row'}: {err['msg']}" for err in e.errors())
        raise ValueError(f"not a valid {fmt} row: {problems}") from None


def render_record(record: Any, fmt: Format) -> str:
    """The text the auditor reads for one row in format `fmt`.

    Raises:
        ValueError: the row does not fit the format (the message says which field and why).
    """
    row = _parsed(record, fmt)
    if isinstance(row, TextRow):
        return row.text
    assert isinstance(row, MessagesRow | ShareGPTRow | PromptCompletionRow | PreferenceRow | AlpacaRow)
    return render_chat(chat_of(row))


def trl_chat(record: Any, fmt: Format) -> dict[str, Any]:
    """A row of a chat format as TRL's `{"messages": [...]}` (plus `tools`), tool turns kept.

    Raises:
        ValueError: the row does not fit the format, or the format is not a chat.
    """
    if fmt not in CHAT_FORMATS:
        raise ValueError(f"a {fmt} row is not a chat")
    row = _parsed(record, fmt)
    assert isinstance(row, MessagesRow | ShareGPTRow | PromptCompletionRow | AlpacaRow)
    return trl_record(chat_of(row))


def transcript(turns: list[tuple[str, str]]) -> str:
    """Turns as a plain-text transcript: `ROLE: text` blocks separated by blank lines."""
    return "\n\n".join(f"{role.upper()}: {content.strip()}" for role, content in turns)


# A transcript's block headers, as `transcript` and `turns.render_chat` write them: `ROLE: `,
# `ASSISTANT (tool call): `, `TOOL (name): ` and the `TOOLS: ` line.
_ROLE_HEADER = r"(?:USER|SYSTEM|TOOLS?|ASSISTANT)(?: \([^)\n]*\))?: "


def assistant_text_sql(text: str) -> str:
    """A DuckDB expression for the text the model is trained to write, from a rendered row `text`.

    A transcript (it starts with a `ROLE: ` header) gives its *last* assistant turn: the answer
    training pulls the model towards (a preference row's chosen answer, a chat's final reply),
    or '' when it has none. Anything else is a document and gives its whole text. It depends on
    the text alone, like every rating (keyed by text hash); a document that itself starts with
    `USER: ` is read as a transcript, and a turn that contains a blank line followed by a role
    header is cut there.

    Args:
        text: A SQL column or expression holding the rendered row (trusted SQL, never user input).
    """
    last_block = rf"string_split(E'\n\n' || {text}, E'\n\nASSISTANT: ')[-1]"
    return (
        f"CASE WHEN NOT regexp_matches({text}, '^{_ROLE_HEADER}') THEN {text}"
        rf" WHEN NOT (starts_with({text}, 'ASSISTANT: ') OR contains({text}, E'\n\nASSISTANT: ')) THEN ''"
        rf" ELSE regexp_replace({last_block}, '(?s)\n\n{_ROLE_HEADER}.*', '') END"
    )
