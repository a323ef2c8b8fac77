"""Every chat format as one list of turns, tool calls and results kept: what the auditor reads and what TRL trains on.

    chat = chat_of(MessagesRow.model_validate(record))    # or a ShareGPT, Alpaca, prompt/completion row
    text = render_chat(chat)                               # the transcript the auditor reads
    trl = trl_record(chat)                                 # {"messages": [...], "tools": [...]}

A transcript has one block per turn: `USER: ...`, `ASSISTANT: ...`, a tool call as
`ASSISTANT (tool call): get_weather({"city": "Paris"})`, its result as `TOOL (get_weather): ...`,
and the row's tool definitions once at the top as `TOOLS: name, name`. A result names its tool by
its `tool_call_id`, its own `name`, or else the oldest call not yet answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workbench.audit.rows import (
    SHAREGPT_ROLES,
    AlpacaRow,
    MessagesRow,
    Part,
    PreferenceRow,
    PromptCompletionRow,
    ShareGPTRow,
    ShareGPTTurn,
    Tools,
    Turn,
)

ChatRow = MessagesRow | ShareGPTRow | PromptCompletionRow | PreferenceRow | AlpacaRow


@dataclass(frozen=True)
class Call:
    """One tool call: the tool's name, its arguments (a JSON object, or text that is not one), its id."""

    name: str
    arguments: dict[str, Any] | str | None
    id: str | None = None


@dataclass(frozen=True)
class ChatTurn:
    """One turn of any chat format.

    Attributes:
        role: system, user, assistant or tool.
        content: What is said ('' for a turn that only calls tools).
        calls: An assistant turn's tool calls.
        tool: A tool turn: the tool whose result it is, if known.
        tool_call_id: A tool turn: the call it answers, if the row says.
    """

    role: str
    content: str
    calls: tuple[Call, ...] = ()
    tool: str | None = None
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Chat:
    """A conversation and the tools it may call (as JSON schemas), if the row defines any."""

    turns: list[ChatTurn]
    tools: list[dict[str, Any]] | None = None


def chat_of(row: ChatRow) -> Chat:
    """A validated chat row as turns; a preference row as its prompt and chosen answer.

    Raises:
        ValueError: a ShareGPT function_call that is not a JSON call, or tools that are not JSON.
    """
    if isinstance(row, AlpacaRow):
        request = row.instruction + (f"\n\n{row.input}" if row.input and row.input.strip() else "")
        return Chat([ChatTurn("user", request), ChatTurn("assistant", row.output)])
    if isinstance(row, ShareGPTRow):
        turns = [_sharegpt_turn(i, t) for i, t in enumerate(row.conversations)]
    elif isinstance(row, MessagesRow):
        turns = [_turn(t) for t in row.messages]
    else:
        answer = row.completion if isinstance(row, PromptCompletionRow) else row.chosen
        turns = _part(row.prompt, "user") + _part(answer, "assistant")
    tools = None if isinstance(row, PreferenceRow) else _tools(row.tools)
    return Chat(_name_results(turns), tools)


def _part(part: Part, role: str) -> list[ChatTurn]:
    """A prompt or answer as turns: a bare string is one turn by `role`."""
    return [ChatTurn(role, part)] if isinstance(part, str) else [_turn(t) for t in part]


def _turn(turn: Turn) -> ChatTurn:
    calls = tuple(Call(c.function.name, _arguments(c.function.arguments), c.id) for c in turn.tool_calls or [])
    return ChatTurn(turn.role, turn.content or "", calls, turn.name, turn.tool_call_id)


def _sharegpt_turn(index: int, turn: ShareGPTTurn) -> ChatTurn:
    if turn.speaker != "function_call":
        return ChatTurn(SHAREGPT_ROLES[turn.speaker], turn.value)
    try:
        value = json.loads(turn.value)
        calls = [value] if isinstance(value, dict) else value
        return ChatTurn("assistant", "", tuple(Call(str(c["name"]), _arguments(c.get("arguments"))) for c in calls))
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
        raise ValueError(
            f'conversations.{index}.value: a function_call must be JSON {{"name": ..., "arguments": ...}} '
            f"(or a list of them), not {turn.value[:80]!r}"
        ) from None


def _arguments(arguments: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
    """Arguments as a JSON object where they are the JSON text of one (OpenAI sends them as text)."""
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
        return parsed if isinstance(parsed, dict) else arguments
    return arguments


def _name_results(turns: list[ChatTurn]) -> list[ChatTurn]:
    """Tool turns with the name of the call each answers: by id, else the oldest unanswered call."""
    by_id: dict[str, str] = {}
    pending: list[str] = []
    named = []
    for turn in turns:
        for call in turn.calls:
            pending.append(call.name)
            if call.id:
                by_id[call.id] = call.name
        if turn.role == "tool":
            tool = turn.tool or by_id.get(turn.tool_call_id or "") or (pending[0] if pending else None)
            if tool in pending:
                pending.remove(tool)
            turn = ChatTurn(turn.role, turn.content, turn.calls, tool, turn.tool_call_id)
        named.append(turn)
    return named


def _tools(tools: Tools) -> list[dict[str, Any]] | None:
    """Tool definitions as a list of JSON schemas (LLaMA-Factory stores them as JSON text)."""
    if isinstance(tools, str):
        if not tools.strip():
            return None
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError as e:
            raise ValueError(f"tools: not JSON ({e.msg}, column {e.colno})") from None
        if isinstance(tools, dict):
            tools = [tools]
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise ValueError("tools: expected a JSON list of tool definitions")
    return tools or None


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    """The names of tool definitions, OpenAI's (`{"type": "function", "function": {...}}`) or bare."""
    names = []
    for tool in tools:
        spec = tool.get("function")
        names.append(str((spec if isinstance(spec, dict) else tool).get("name", "?")))
    return names


def _json(arguments: dict[str, Any] | str | None) -> str:
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def render_chat(chat: Chat) -> str:
    """The transcript the auditor reads: `ROLE: text` blocks separated by blank lines, tools marked."""
    blocks = [f"TOOLS: {', '.join(tool_names(chat.tools))}"] if chat.tools else []
    for turn in chat.turns:
        if turn.content.strip() or not turn.calls:
            header = f"TOOL ({turn.tool})" if turn.role == "tool" and turn.tool else turn.role.upper()
            blocks.append(f"{header}: {turn.content.strip()}")
        blocks += [f"ASSISTANT (tool call): {c.name}({_json(c.arguments)})" for c in turn.calls]
    return "\n\n".join(blocks)


def trl_record(chat: Chat) -> dict[str, Any]:
    """The chat as TRL's conversational record: `messages` (tool calls and results kept) and `tools`."""
    messages = []
    for turn in chat.turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.calls:
            message["tool_calls"] = [
                {"type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                | ({"id": c.id} if c.id else {})
                for c in turn.calls
            ]
        if turn.role == "tool":
            message |= {k: v for k, v in (("name", turn.tool), ("tool_call_id", turn.tool_call_id)) if v}
        messages.append(message)
    return {"messages": messages} | ({"tools": chat.tools} if chat.tools else {})
