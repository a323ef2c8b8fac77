"""What every generation step needs: the traits version, the chosen chunks, the run, the templates.

    ctx = open_context(project, "candid_care", chunk_keys=None, scenarios=3, run_id=run_id)  # SFT

`GenerationContext` is what any pipeline's steps share (the SFT data and the midtraining
documents); `SFTContext` adds the SFT settings. The traits are the `trait` chunks of the
version (all of them, or those named). Each prompt about a trait carries, beside it, the
version's guidance and boundaries (`guidance` and `boundary` chunks): all of them when they fit
`[traits] guidance_budget_tokens`, else the passages most relevant to that trait
(`generate/guidance.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.config_stages import SFTConfig
from workbench.errors import WorkbenchError
from workbench.generate.guidance import GuidanceSelector
from workbench.generate.steps import StepRunner
from workbench.llm.types import LLMRequest, Message, SamplingParams
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.prompts import PromptTemplate, PromptTooLong, check_sizes, load_template
from workbench.store.traits import TraitsVersion, get_version, version_chunks
from workbench.traits import Chunk


@dataclass
class GenerationContext:
    """One pipeline run over some traits of one traits version.

    Attributes:
        project: The project (config, store).
        version: The traits version every row records.
        traits: The trait chunks to generate for, in document order.
        guidance: Chooses each trait's guidance and boundaries from the version's chunks.
        runner: Sends jobs and commits their results.
    """

    project: Project
    version: TraitsVersion
    traits: list[Chunk]
    guidance: GuidanceSelector
    runner: StepRunner

    @property
    def chunk_ids(self) -> list[str]:
        return [c.id for c in self.traits]

    def trait(self, chunk_id: str) -> Chunk:
        return next(c for c in self.traits if c.id == chunk_id)

    def template(self, name: str) -> PromptTemplate:
        return load_template(name, self.project.root)

    def request(self, template: str, *, system: str | None = None, schema: Any = None, **variables: Any) -> LLMRequest:
        """A one-turn request whose user message is `template` rendered with `variables`."""
        return template_request(self.project, template, system=system, schema=schema, **variables)

    def trait_variables(self, chunk_id: str) -> dict[str, str]:
        """The variables every template gets about the trait, its guidance and its boundaries."""
        chunk = self.trait(chunk_id)
        return {"trait_title": chunk.title, "trait_text": chunk.text} | self.guidance.choose(chunk).variables()


@dataclass
class SFTContext(GenerationContext):
    """One SFT pipeline run; `scenarios` is the slots per trait it fills (a pilot's K or the full N)."""

    scenarios: int = 0

    @property
    def config(self) -> SFTConfig:
        return self.project.config.sft


def template_request(
    project: Project, template: str, *, system: str | None = None, schema: Any = None, **variables: Any
) -> LLMRequest:
    """A one-turn request whose user message is the project's `template` rendered with `variables`.

    A variable holding a text over `[limits] max_row_chars` makes a *refused* request: the
    gateway ends it `failed` with the reason, without a call, so that one row fails and the
    rest of the run goes on.
    """
    # Every step's prompt is built here, so this is where a giant stored row is stopped before
    # it costs a paid call.
    prompt = load_template(template, project.root)
    try:
        check_sizes(template, variables, project.config.limits.max_row_chars)
    except PromptTooLong as e:
        placeholder = f"[not sent: {e.variable} of {e.length} characters for {template}]"
        return LLMRequest(messages=(Message("user", placeholder),), template_hash=prompt.hash, refused=str(e))
    return LLMRequest(
        messages=(Message("user", prompt.render(**variables)),),
        system=system,
        schema=schema,
        params=SamplingParams(),
        template_hash=prompt.hash,
    )


def resolve_traits(
    project: Project, traits_ref: str, chunk_keys: Sequence[str] | None, *, run_id: str | None = None
) -> tuple[TraitsVersion, list[Chunk], GuidanceSelector]:
    """The traits version, its chosen trait chunks and what chooses their guidance (for run `run_id`)."""
    version = get_version(project.store, traits_ref)
    chunks = version_chunks(project.store, version.id)
    traits = select_traits(chunks, chunk_keys)
    return version, traits, GuidanceSelector(project, chunks, focus=traits, run_id=run_id or None)


def select_traits(chunks: Sequence[Chunk], keys: Sequence[str] | None) -> list[Chunk]:
    """The trait chunks named by `keys` (key, title or id prefix, any case), or all of them.

    Raises:
        WorkbenchError: a key matches no trait, or the version has no traits.
    """
    traits = [c for c in chunks if c.kind == "trait"]
    if not traits:
        raise WorkbenchError("This traits version has no traits to generate for.")
    if not keys:
        return traits
    chosen: list[Chunk] = []
    for key in keys:
        wanted = key.strip().lower()
        match = [c for c in traits if wanted in (c.key.lower(), c.title.lower()) or c.id.startswith(wanted)]
        if not match:
            names = ", ".join(repr(c.title) for c in traits)
            raise WorkbenchError(f"No trait matches {key!r}.", hint=f"The traits of this version are: {names}.")
        chosen.extend(c for c in match if c not in chosen)
    return sorted(chosen, key=lambda c: c.position)


def open_context(
    project: Project,
    traits_ref: str,
    *,
    run_id: str,
    chunk_keys: Sequence[str] | None = None,
    scenarios: int | None = None,
    progress: ProgressCallback | None = None,
) -> SFTContext:
    """Resolve the traits version and chunks an SFT run works on."""
    version, traits, guidance = resolve_traits(project, traits_ref, chunk_keys, run_id=run_id)
    runner = StepRunner(
        project, "sft_generations", "sft", run_id, batch_size=project.config.sft.batch_size, progress=progress
    )
    count = scenarios if scenarios is not None else project.config.sft.scenarios_per_chunk
    return SFTContext(project, version, traits, guidance, runner, scenarios=count)
