"""The pydantic models of each row format `formats.py` knows, tool calls and tool results included.

    row = MessagesRow.model_validate({"messages": [...], "tools": [...]})

* `Turn`: an OpenAI/TRL chat turn. An assistant turn may carry `tool_calls` instead of text
  (its `content` null or absent); a `tool` turn answers one (`tool_call_id`, optional `name`).
* `ShareGPTTurn`: `{"from": ..., "value": ...}`; the speakers `function_call` (the value is the
  call as JSON: `{"name": ..., "arguments": ...}`) and `observation` (its result) are tool turns.
* `AlpacaRow`: `{"instruction", "input" (optional), "output"}`.

Every model allows extra fields: they stay in the stored record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

# ShareGPT speaker names -> chat roles; `function_call` and `observation` are tool turns.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "model": "assistant", "system": "system", "function_call": "assistant",
                  "observation": "tool"}  # fmt: skip


class FunctionCall(BaseModel):
    """The function a tool call names, and its arguments (a JSON object or the JSON text of one)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, description="The tool's name.")
    arguments: dict[str, Any] | str | None = Field(default=None, description="What it is called with.")


class ToolCall(BaseModel):
    """One call in an assistant turn's `tool_calls`: OpenAI's `{id, type, function}` or a flat `{name, arguments}`."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, description="Matches the `tool_call_id` of the tool turn answering it.")
    function: FunctionCall = Field(description="The function called.")

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        # Some datasets drop OpenAI's `function` wrapper: {"name": ..., "arguments": ...}.
        if isinstance(value, dict) and "function" not in value and "name" in value:
            return {**value, "function": {"name": value["name"], "arguments": value.get("arguments")}}
        return value


class Turn(BaseModel):
    """One chat turn: text, or (an assistant's) tool calls, or a tool's result."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool"] = Field(description="Who speaks.")
    tool_calls: list[ToolCall] | None = Field(default=None, description="An assistant's tool calls.")
    content: str | None = Field(default=None, validate_default=True, description="What they say.")
    tool_call_id: str | None = Field(default=None, description="A tool turn: the call it answers.")
    name: str | None = Field(default=None, description="A tool turn: the tool that answered.")

    @field_validator("content")
    @classmethod
    def _text_unless_calling(cls, content: str | None, info: ValidationInfo) -> str | None:
        if content is None and not info.data.get("tool_calls"):
            raise ValueError("Field required (only an assistant turn with tool_calls may have no content)")
        return content


class ShareGPTTurn(BaseModel):
    """One ShareGPT turn."""

    model_config = ConfigDict(extra="allow")

    speaker: str = Field(alias="from", description="human, gpt, system, function_call, observation (or user, ...).")
    value: str = Field(description="What they say; for function_call, the call as JSON.")

    @field_validator("speaker")
    @classmethod
    def _known_speaker(cls, speaker: str) -> str:
        if speaker not in SHAREGPT_ROLES:
            raise ValueError(f"unknown speaker {speaker!r}; expected one of {', '.join(SHAREGPT_ROLES)}")
        return speaker


Part = str | list[Turn]
# Tool definitions: a list of JSON schemas (OpenAI or bare), or the JSON text of one (LLaMA-Factory).
Tools = list[dict[str, Any]] | str | None


class MessagesRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    messages: list[Turn] = Field(min_length=1, description="The conversation.")
    tools: Tools = Field(default=None, description="The tools the assistant may call.")


class PromptCompletionRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    prompt: Part = Field(description="The prompt: a string or a list of turns.")
    completion: Part = Field(description="The completion: a string or a list of turns.")
    tools: Tools = Field(default=None, description="The tools the assistant may call.")


class ShareGPTRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    conversations: list[ShareGPTTurn] = Field(min_length=1, description="The conversation.")
    tools: Tools = Field(default=None, description="The tools the assistant may call.")


class AlpacaRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    instruction: str = Field(min_length=1, description="The user's request.")
    input: str | None = Field(default=None, description="Context for the request; appended after a blank line.")
    output: str = Field(description="The answer.")


class TextRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = Field(min_length=1, description="The document.")


class PreferenceRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    prompt: Part = Field(description="The prompt: a string or a list of turns.")
    chosen: Part = Field(description="The preferred answer.")
    rejected: Part = Field(description="The dispreferred answer.")
