"""Pytest fixtures for the fake LLM servers (loaded as a plugin by tests/conftest.py).

`fake_gemini` and `fake_openai` each start a real HTTP server on 127.0.0.1 for one test and set
the environment so the real clients find it:

    def test_x(fake_gemini):
        fake_gemini.rule = lambda req: Fault(500) if req.attempt == 0 else Text("ok")
        fake_gemini.latency_s = 0.05
        ...  # GeminiBackend / make_backend(ModelSpec.parse("gemini:m"), config) talk to it
        assert fake_gemini.requests_total == 2

    def test_y(fake_openai):
        spec = ModelSpec.parse(fake_openai.spec("qwen"))   # openai:qwen@http://127.0.0.1:PORT/v1

Reply types and the rule engine are in tests/fakes/rules.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.openai_server import FakeOpenAIServer

TEST_KEY = "test-key"


@pytest.fixture
def fake_gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGeminiServer]:
    """A running fake Gemini API; GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL point at it."""
    with FakeGeminiServer() as server:
        monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        yield server


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """A running fake OpenAI-compatible server; OPENAI_API_KEY is set to a test key.

    Use `fake_openai.base_url` (ends in /v1) or `fake_openai.spec(model)` for a model spec.
    """
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
        yield server
