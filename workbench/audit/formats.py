"""The row formats a dataset to audit may come in, and how each becomes the text an auditor reads.

    fmt = detect_format(record)            # "messages", "prompt_completion", "sharegpt", "text", "preference"
    text = render_record(record, fmt)      # raises ValueError saying what is wrong with the row

* `messages`: `{"messages": [{"role": "user", "content": ...}, ...]}` (TRL conversational).
* `prompt_completion`: `{"prompt": ..., "completion": ...}`, each a string or a list of turns.
* `sharegpt`: `{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}`.
* `text`: `{"text": ...}`, a document.
* `preference`: `{"prompt": ..., "chosen": ..., "rejected": ...}`. The auditor reads the prompt
  and the *chosen* answer, the one training pulls the model towards.

A chat renders as a transcript, one `USER:` / `ASSISTANT:` / `SYSTEM:` block per turn; a
document as its text. Extra fields are allowed and kept in the stored record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Format = Literal["messages", "prompt_completion", "sharegpt", "text", "preference"]
FORMATS: tuple[Format, ...] = ("messages", "prompt_completion", "sharegpt", "text", "preference")

# ShareGPT speaker names -> chat roles.
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "model": "assistant", "system": "system"}  # fmt: skip


class Turn(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool"] = Field(description="Who speaks.")
    content: str = Field(description="What they say.")


class ShareGPTTurn(BaseModel):
    """One ShareGPT turn."""

    model_config = ConfigDict(extra="allow")

    speaker: str = Field(alias="from", description="human, gpt, system (or user, assistant, model).")
    value: str = Field(description="What they say.")

    @field_validator("speaker")
    @classmethod
    def _known_speaker(cls, speaker: str) -> str:
        if speaker not in _SHAREGPT_ROLES:
            raise ValueError(f"unknown speaker {speaker!r}; expected one of {', '.join(_SHAREGPT_ROLES)}")
        return speaker


Part = str | list[Turn]


class MessagesRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    messages: list[Turn] = Field(min_length=1, description="The conversation.")


class PromptCompletionRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    prompt: Part = Field(description="The prompt: a string or a list of turns.")
    completion: Part = Field(description="The completion: a string or a list of turns.")


class ShareGPTRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    conversations: list[ShareGPTTurn] = Field(min_length=1, description="The conversation.")


class TextRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = Field(min_length=1, description="The document.")


class PreferenceRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    prompt: Part = Field(description="The prompt: a string or a list of turns.")
    chosen: Part = Field(description="The preferred answer.")
    rejected: Part = Field(description="The dispreferred answer.")


_MODELS: dict[Format, type[BaseModel]] = {
    "messages": MessagesRow,
    "prompt_completion": PromptCompletionRow,
    "sharegpt": ShareGPTRow,
    "text": TextRow,
    "preference": PreferenceRow,
}


def detect_format(record: Any) -> Format:
    """The format a row is in, from its keys.

    Raises:
        ValueError: the row is not a JSON object or has none of the known keys.
    """
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "messages" in record:
        return "messages"
    if "conversations" in record:
        return "sharegpt"
    if "chosen" in record or "rejected" in record:
        return "preference"
    if "prompt" in record or "completion" in record:
        return "prompt_completion"
    if "text" in record:
        return "text"
    keys = ", ".join(sorted(map(str, record))) or "none"
    raise ValueError(
        f"unknown row format (keys: {keys}); expected messages, prompt+completion, conversations (ShareGPT), "
        "prompt+chosen+rejected or text"
    )


def render_record(record: Any, fmt: Format) -> str:
    """The text the auditor reads for one row in format `fmt`.

    Raises:
        ValueError: the row does not fit the format (the message says which field and why).
    """
    try:
        row = _MODELS[fmt].model_validate(record)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'row'}: {err['msg']}" for err in e.errors())
        raise ValueError(f"not a valid {fmt} row: {problems}") from None
    if isinstance(row, MessagesRow):
        return transcript([(t.role, t.content) for t in row.messages])
    if isinstance(row, ShareGPTRow):
        return transcript([(_SHAREGPT_ROLES[t.speaker], t.value) for t in row.conversations])
    if isinstance(row, PromptCompletionRow):
        return transcript(_turns(row.prompt, "user") + _turns(row.completion, "assistant"))
    if isinstance(row, PreferenceRow):
        return transcript(_turns(row.prompt, "user") + _turns(row.chosen, "assistant"))
    assert isinstance(row, TextRow)
    return row.text


def _turns(part: Part, role: str) -> list[tuple[str, str]]:
    """A prompt or completion as turns: a bare string is one turn by `role`."""
    return [(role, part)] if isinstance(part, str) else [(t.role, t.content) for t in part]


def transcript(turns: list[tuple[str, str]]) -> str:
    """Turns as a plain-text transcript: `ROLE: text` blocks separated by blank lines."""
    return "\n\n".join(f"{role.upper()}: {content.strip()}" for role, content in turns)


# A transcript's block headers, as `transcript` writes them.
_ROLE_HEADER = "(?:USER|SYSTEM|TOOL|ASSISTANT): "


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
