"""Backends: one client each for Gemini, OpenAI-compatible servers and local transformers.

The HTTP ones fit their timeouts to each request from the `[gateway]` settings (`timeouts.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.config import ProjectConfig
    from workbench.llm.backends.base import Backend
    from workbench.llm.spec import ModelSpec


def make_backend(spec: ModelSpec, config: ProjectConfig) -> Backend:
    """Build the backend a model spec names, configured from the project.

    Each backend module is imported only here, when needed: API-only work never imports torch
    (hf), and a Gemini-only project never imports openai.

    Raises:
        MissingCredentialsError: the backend needs a key the environment does not provide.
    """
    if spec.backend == "gemini":
        from workbench.llm.backends.gemini import GeminiBackend

        return GeminiBackend(spec.model, config.gemini, config.gateway)
    if spec.backend == "openai":
        from workbench.llm.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(spec.model, spec.base_url, config.openai.api_key_env, config.gateway)
    if spec.backend == "hf":
        from workbench.llm.backends.hf import HFBackend

        return HFBackend(spec.model, config.hf, batch_size=config.concurrency.hf)
    raise ValueError(f"unknown backend {spec.backend!r} in model spec {spec}")
