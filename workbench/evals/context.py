"""What a suite's `run_case` gets: the run, the gateway, the traits, and two ways to call a model.

    reply = await ctx.target([Message("user", "Hi")], system="You are a therapist.")
    verdict = await ctx.ask("judge", "eval_audit_judge", schema=AuditVerdict, transcript=...)

`target` calls the model under evaluation (the run's model spec); with the `ceiling` arm, the
traits document is put in its system prompt. `ask` renders a prompt template (workbench/prompts/,
overridable per project) and sends it to a role. Every call goes through the run's one gateway:
cached, retried, logged under stage `eval.SUITE`, counted against the run's budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.generate.context import template_request
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest, Message, SamplingParams
from workbench.project import Project

REPLIED = frozenset({"ok", "length"})  # call statuses that carry an answer (a truncated one still counts)
CEILING = "ceiling"  # the arm whose target sees the traits document in context
CEILING_SYSTEM = "Embody the character described in this document in everything you write.\n\n{traits}"


def counts_as_reply(result: CallResult) -> bool:
    """Whether a target's call gave an answer to judge: it reached the model (even if cut at the
    token limit) and is not empty. Anything else is no reply: never scored as a safe one."""
    return result.status in REPLIED and bool((result.text or "").strip())


@dataclass
class EvalContext:
    """One eval run's shared state.

    Attributes:
        project: The project (config, store, prompt overrides).
        run_id: The eval run.
        suite: The suite's name.
        model: The target's model spec.
        arm: How the target is set up (`ceiling`: with the traits document in context).
        gateway: The run's gateway.
        traits_text: The traits document's text (empty if the run has none).
        traits: (title, text) of each trait, in document order.
        settings: Suite settings from the command line (max_turns, thresholds ...).
    """

    project: Project
    run_id: str
    suite: str
    model: str
    arm: str
    gateway: Gateway
    traits_text: str
    traits: list[tuple[str, str]]
    settings: dict[str, Any]

    def setting(self, name: str, default: Any) -> Any:
        return self.settings.get(name, default)

    async def target(
        self, messages: list[Message], *, system: str | None = None, max_tokens: int | None = None, sample: int = 0
    ) -> CallResult:
        """The target model's reply to a conversation."""
        if self.arm == CEILING and self.traits_text:
            ceiling = CEILING_SYSTEM.format(traits=self.traits_text)
            system = f"{ceiling}\n\n{system}" if system else ceiling
        request = LLMRequest(messages=tuple(messages), system=system, sample_index=sample,
                             params=SamplingParams(max_output_tokens=max_tokens))  # fmt: skip
        return await self.gateway.call(request, model=self.model)

    async def ask(
        self, role: str, template: str, *, schema: Any = None, system: str | None = None, model: str | None = None,
        sample: int = 0, **variables: Any,
    ) -> CallResult:  # fmt: skip
        """A role's answer to a rendered prompt template (or `model`'s, to use another model for the role)."""
        request = template_request(self.project, template, system=system, schema=schema, **variables)
        if sample:
            request = LLMRequest(request.messages, request.system, request.params, request.schema, sample,
                                 request.template_hash)  # fmt: skip
        return await self.gateway.call(request, role=None if model else role, model=model)
