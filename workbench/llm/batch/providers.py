"""Which batch provider serves a model, and the size rule every provider splits jobs by.

    provider = make_batch_provider(ModelSpec.parse("gemini:gemini-3-flash"), config)
    for group in provider.split(lines):
        remote_id = await provider.submit(group, display_name)

Each provider module is imported only when needed, as the live backends are
(workbench/llm/backends/__init__.py), and each builds its live backend to get the same
credentials, client and error mapping as live calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.llm.batch.provider import BatchLine, BatchProvider

if TYPE_CHECKING:
    from workbench.config import ProjectConfig
    from workbench.llm.spec import ModelSpec


def make_batch_provider(spec: ModelSpec, config: ProjectConfig) -> BatchProvider:
    """The batch API of the provider a model spec names, configured from the project.

    Raises:
        WorkbenchError: the spec names a local (`hf:`) model, which has no batch API.
        MissingCredentialsError: the provider needs a key the environment does not provide.
    """
    if spec.backend == "gemini":
        from workbench.llm.batch.gemini import GeminiBatchProvider

        return GeminiBatchProvider(spec.model, config.gemini, config.gateway)
    if spec.backend == "openai":
        from workbench.llm.batch.openai import OpenAIBatchProvider

        return OpenAIBatchProvider(spec.model, spec.base_url, config.openai.api_key_env, config.gateway)
    raise WorkbenchError(
        f"Batch mode needs a gemini: or openai: model, and {spec} is a {spec.backend} model.",
        hint="Run this step without --batch (local models already generate in batches), or point the "
        "role at a hosted model, e.g. gemini:gemini-3-flash or openai:gpt-5-mini.",
    )


def split_lines(
    lines: Sequence[BatchLine],
    size_of: Callable[[BatchLine], int],
    max_bytes: int,
    max_lines: int | None = None,
) -> list[list[BatchLine]]:
    """`lines` in order, cut into groups of at most `max_bytes` (and `max_lines`) each.

    Args:
        lines: The requests.
        size_of: Bytes one line takes in the job (as the provider serialises it).
        max_bytes: The provider's documented size limit per job.
        max_lines: The provider's documented request limit per job, if any.

    Raises:
        WorkbenchError: one request alone is over `max_bytes`.
    """
    groups: list[list[BatchLine]] = []
    size = 0
    for line in lines:
        line_size = size_of(line)
        if line_size > max_bytes:
            raise WorkbenchError(
                f"Request {line.key} is {line_size} bytes, over the batch limit of {max_bytes} bytes per job.",
                hint="Run this step without --batch, or shorten its inputs.",
            )
        full = groups and (size + line_size > max_bytes or (max_lines is not None and len(groups[-1]) >= max_lines))
        if not groups or full:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += line_size
    return groups
