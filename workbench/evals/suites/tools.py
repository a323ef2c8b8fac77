"""Simulated tools for agentic eval suites, over a plain-text protocol any backend can speak.

    toolbox = Toolbox([ToolSpec(name="read_inbox", description="...", results=["..."])])
    episode = await run_agent(ctx, system=prompt + "\\n\\n" + protocol_text(toolbox), task="...",
                              toolbox=toolbox)
    episode.transcript, episode.tool_calls, episode.ended, episode.replied

Native tool calling differs between backends (and a local checkpoint may have none), so the agent
is told in its system prompt (`protocol_text`) to answer each turn with exactly one JSON object:
`{"tool": NAME, "args": {...}}` to call a tool, or `{"final": "..."}` to finish. The reply is read
leniently (the first such object anywhere in the text, code fences and prose around it allowed);
the tool's canned result goes back as the next user turn, `TOOL RESULT (NAME): ...`, for at most
`max_steps` agent turns. A reply with no such object counts as the agent's final answer, and the
episode records that it was unparseable. This module is shared by the `odcv` and `misalignment`
suites and registers no suite itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, model_validator

from workbench.evals.base import Sample
from workbench.evals.context import EvalContext, counts_as_reply
from workbench.llm.types import CallResult, Message

Handler = Callable[[dict[str, Any]], str]


class ToolSpec(BaseModel):
    """A simulated tool as a case describes it: what the agent is told, and what it gets back."""

    name: str = Field(description="The name the agent calls it by.")
    description: str = Field(description="What the tool does, as shown to the agent.")
    args: dict[str, str] = Field(default_factory=dict, description="Argument name -> what it means.")
    results: list[str] = Field(
        min_length=1,
        description="Canned results: the n-th call gets the n-th result, and the last one repeats. "
        "A single `result: TEXT` is accepted too.",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_result(cls, data: Any) -> Any:
        if isinstance(data, dict) and "result" in data and "results" not in data:
            data = {k: v for k, v in data.items() if k != "result"} | {"results": [data["result"]]}
        return data


class Toolbox:
    """The tools of one episode: canned results, or a handler for tools that act (send_email).

    Args:
        specs: The tools the agent is told about.
        handlers: Tool name -> function of the call's arguments returning the result; it
            replaces the canned results of that tool.
    """

    def __init__(self, specs: list[ToolSpec], handlers: dict[str, Handler] | None = None) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.handlers = handlers or {}
        self.counts: dict[str, int] = {}

    def call(self, name: str, args: Any) -> tuple[str, bool]:
        """The result of calling `name` with `args`, and whether the call was valid."""
        if name not in self.specs:
            known = ", ".join(self.specs) or "none"
            return f"error: there is no tool named {name!r}. Available tools: {known}.", False
        if not isinstance(args, dict):
            return 'error: "args" must be a JSON object of argument names and values.', False
        index = self.counts.get(name, 0)
        self.counts[name] = index + 1
        if name in self.handlers:
            return self.handlers[name](args), True
        results = self.specs[name].results
        return results[min(index, len(results) - 1)], True


def protocol_text(toolbox: Toolbox) -> str:
    """The system-prompt section that lists the tools and explains how to call them."""
    lines = ["## Tools", "", "You act only through these tools:", ""]
    for spec in toolbox.specs.values():
        args = ", ".join(f"{name}: {meaning}" for name, meaning in spec.args.items()) or "no arguments"
        lines.append(f"- {spec.name}({args}): {spec.description}")
    lines += [
        "",
        "Each of your replies must be exactly one JSON object and nothing else, either",
        '{"tool": "TOOL_NAME", "args": {"ARGUMENT": "VALUE"}} to call a tool, or',
        '{"final": "YOUR FINAL ANSWER"} when you are done.',
        "After a tool call, the next message gives you its result, starting with TOOL RESULT.",
    ]
    return "\n".join(lines)


def parse_action(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` with a string "tool" or a "final" key, or None.

    A "tool" key wins over "final" when an object has both.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict) and (isinstance(value.get("tool"), str) or "final" in value):
            return value
        start = text.find("{", start + 1)
    return None


@dataclass
class Episode:
    """One agent run through the tool loop.

    Attributes:
        transcript: [{role: system|user|assistant, content, step?, tool?, status?}], as played.
        tool_calls: [{step, tool, args, result, valid}] in order.
        final: The agent's final answer (the raw reply when it was unparseable), or None.
        ended: final | unparseable | max_steps | target_STATUS (the target's call failed).
        replies: How many turns the agent answered.
        error: Why the target's last call failed, if it did.
    """

    transcript: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    final: str | None = None
    ended: str = "max_steps"
    replies: int = 0
    error: str | None = None

    @property
    def details(self) -> dict[str, Any]:
        """What a sample's details keep of the episode."""
        return {"tool_calls": self.tool_calls, "final": self.final, "ended": self.ended, "replies": self.replies,
                "unparseable": self.ended == "unparseable", "target_error": self.error}  # fmt: skip


async def run_agent(
    ctx: EvalContext, *, system: str, task: str, toolbox: Toolbox, max_steps: int, max_tokens: int | None = None
) -> Episode:
    """Play the tool loop: the target answers, tools answer back, until it finishes or runs out of steps."""
    episode = Episode(transcript=[{"role": "system", "content": system}, {"role": "user", "content": task}])
    messages = [Message("user", task)]
    for step in range(1, max_steps + 1):
        result = await ctx.target(messages, system=system, max_tokens=max_tokens)
        if not counts_as_reply(result):
            episode.ended, episode.error = f"target_{result.status}", result.error or "empty reply"
            return episode
        text = result.text or ""
        episode.replies += 1
        episode.transcript.append({"role": "assistant", "content": text, "step": step, "status": result.status})
        messages.append(Message("assistant", text))
        action = parse_action(text)
        if action is None or not isinstance(action.get("tool"), str):
            final = None if action is None else action["final"]
            episode.ended = "unparseable" if action is None else "final"
            episode.final = text if action is None else final if isinstance(final, str) else json.dumps(final)
            return episode
        name, args = action["tool"], action.get("args", {})
        output, valid = toolbox.call(name, args)
        episode.tool_calls.append({"step": step, "tool": name, "args": args, "result": output, "valid": valid})
        turn = f"TOOL RESULT ({name}): {output}"
        episode.transcript.append({"role": "user", "content": turn, "step": step, "tool": name})
        messages.append(Message("user", turn))
    return episode


def format_transcript(transcript: list[dict[str, Any]]) -> str:
    """The episode as plain text for a judge: who said what, with the agent's steps numbered."""
    parts = []
    for turn in transcript:
        if turn["role"] == "system":
            head = "[SYSTEM PROMPT]"
        elif turn["role"] == "assistant":
            head = f"[AGENT, step {turn['step']}]"
        else:
            head = "[TOOL RESULT]" if "tool" in turn else "[USER]"
        parts.append(f"{head}\n{turn['content']}")
    return "\n\n".join(parts)


def unusable(episode: Episode, details: dict[str, Any]) -> Sample | None:
    """The invalid sample for an episode the judge must not score (no reply, or a failed call), else None."""
    if episode.replies == 0:
        reason = f"the target never replied ({episode.ended}: {episode.error})"
    elif episode.ended == "target_error":
        reason = f"the target's call failed mid-episode: {episode.error}"
    else:
        return None
    return Sample("invalid", transcript=episode.transcript, details=details, reason=reason)


def judge_failure(verdict: CallResult, episode: Episode, details: dict[str, Any]) -> Sample | None:
    """The judge_failed sample when the judge refused or its answer did not parse, else None."""
    if verdict.ok and verdict.parsed is not None:
        return None
    return Sample("judge_failed", transcript=episode.transcript, details=details,
                  reason=f"judge {verdict.status}: {verdict.error}")  # fmt: skip
