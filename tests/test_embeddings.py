"""Embeddings: a tiny local sentence-transformers model, and the real google-genai client
against the fake Gemini server; the store's cache under both."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakes.gemini_server import FakeGeminiServer, fake_embedding, gemini_error
from tests.fakes.rules import FakeRequest, Fault, Reply, Text
from workbench import embeddings
from workbench.embeddings import DEFAULT_EMBEDDER, embed_texts, embedder_spec
from workbench.errors import MissingCredentialsError, WorkbenchError
from workbench.project import Project, load_project

MODEL = "gemini-embedding-fake"
SPEC = f"gemini:{MODEL}"
SECRET = "AIzaSy-very-secret-key-123"

LANDLORD = "My landlord wants to raise the rent by twenty percent, should I move out or negotiate?"
# Differs only in case and punctuation (the tiny model's tokenizer ignores both).
LANDLORD_PUNCTUATED = "my landlord wants to raise the rent by twenty percent; should I move out or negotiate"
LANDLORD_ONE_WORD = "My landlord wants to raise the rent by thirty percent, should I move out or negotiate?"
UNRELATED = [
    "How do I tell my sister that I cannot lend her money again without hurting her?",
    "She planted tomatoes, beans and basil in the small garden behind the house.",
    "Can you explain how compound interest works with a simple example?",
    "The weather will be cold and rainy this weekend, so bring a warm coat.",
]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def stored_rows(project: Project, spec: str) -> int:
    with project.store.connect() as con:
        row = con.execute("SELECT count(*) FROM embeddings WHERE model = ?", [spec]).fetchone()
    return int(row[0]) if row else 0


def ledger(project: Project) -> list[dict[str, Any]]:
    with project.store.connect() as con:
        cursor = con.execute("SELECT * FROM llm_calls ORDER BY created_at, attempt")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def unit(vector: list[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / np.linalg.norm(array)


class EncodeSpy:
    """Wraps `embeddings._encode` to record which texts were actually sent to the model."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[str]] = []
        original = embeddings._encode

        def spy(model: Any, texts: list[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return original(model, texts)

        monkeypatch.setattr(embeddings, "_encode", spy)


def forbid_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> None:
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(embeddings, "_load_sentence_transformer", fail)


# --- specs -------------------------------------------------------------------------------------


def test_embedder_spec_is_the_role_else_the_default(project: Project) -> None:
    assert embedder_spec(project.config) == DEFAULT_EMBEDDER
    project.config.roles["embedder"] = "gemini:gemini-embedding-001"
    assert embedder_spec(project.config) == "gemini:gemini-embedding-001"


@pytest.mark.parametrize("spec", ["openai:text-embedding-3-small", "st:", "gemini:  ", "all-MiniLM-L6-v2"])
def test_unknown_spec_says_which_forms_are_accepted(project: Project, spec: str) -> None:
    with pytest.raises(WorkbenchError) as info:
        run(embed_texts(project, ["hello"], spec=spec))
    assert repr(spec) in str(info.value)
    assert "st:NAME_OR_PATH" in str(info.value) and "gemini:MODEL" in str(info.value)


def test_empty_input_loads_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_loading(monkeypatch)
    vectors = run(embed_texts(project, [], spec="st:some/model"))
    assert vectors.shape == (0, 0) and vectors.dtype == np.float32


# --- sentence-transformers ---------------------------------------------------------------------


def test_st_vectors_are_normalised_in_order_and_match_the_model(project: Project, tiny_embedder_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = [LANDLORD, *UNRELATED]
    vectors = run(embed_texts(project, texts, spec=f"st:{tiny_embedder_path}"))
    assert vectors.shape == (len(texts), 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Row i is text i: compare with the model itself, one text at a time.
    model = SentenceTransformer(str(tiny_embedder_path), device="cpu")
    for text, vector in zip(texts, vectors, strict=True):
        expected = model.encode([text])[0]
        assert float(vector @ expected / np.linalg.norm(expected)) > 0.999


def test_st_near_duplicates_are_far_closer_than_unrelated_texts(project: Project, tiny_embedder_path: Path) -> None:
    texts = [LANDLORD, LANDLORD_PUNCTUATED, LANDLORD_ONE_WORD, *UNRELATED]
    vectors = run(embed_texts(project, texts, spec=f"st:{tiny_embedder_path}"))
    similarity = vectors @ vectors.T
    unrelated = [similarity[i, j] for i in range(len(texts)) for j in range(3, len(texts)) if i < j]
    # Observed (seed 0): 1.0 for case/punctuation, 0.95 for one word changed, unrelated 0.03-0.53.
    assert similarity[0, 1] > 0.99
    assert similarity[0, 2] > 0.85
    assert max(unrelated) < 0.6
    assert similarity[0, 2] - max(unrelated) > 0.3


def test_st_second_call_embeds_nothing_and_loads_nothing(
    project: Project, tiny_embedder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = f"st:{tiny_embedder_path}"
    spy = EncodeSpy(monkeypatch)
    first = run(embed_texts(project, [LANDLORD, *UNRELATED], spec=spec))
    assert spy.calls == [[LANDLORD, *UNRELATED]]
    assert stored_rows(project, spec) == 5

    forbid_loading(monkeypatch)
    again = run(embed_texts(project, [*UNRELATED, LANDLORD], spec=spec))
    np.testing.assert_array_equal(again, np.vstack([first[1:], first[:1]]))  # same vectors, new order
    assert spy.calls == [[LANDLORD, *UNRELATED]]  # nothing encoded the second time
    assert stored_rows(project, spec) == 5


def test_st_only_missing_distinct_texts_are_embedded(
    project: Project, tiny_embedder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = f"st:{tiny_embedder_path}"
    spy = EncodeSpy(monkeypatch)
    vectors = run(embed_texts(project, [LANDLORD, UNRELATED[0], LANDLORD, LANDLORD], spec=spec))
    assert spy.calls == [[LANDLORD, UNRELATED[0]]]
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])
    assert stored_rows(project, spec) == 2

    mixed = run(embed_texts(project, [UNRELATED[1], LANDLORD, UNRELATED[1]], spec=spec))
    assert spy.calls[1:] == [[UNRELATED[1]]]
    np.testing.assert_array_equal(mixed[1], vectors[0])
    assert stored_rows(project, spec) == 3


def test_st_uses_the_embedder_role(project: Project, tiny_embedder_path: Path) -> None:
    project.config.roles["embedder"] = f"st:{tiny_embedder_path}"
    vectors = run(embed_texts(project, [LANDLORD]))
    assert vectors.shape == (1, 64)
    assert stored_rows(project, f"st:{tiny_embedder_path}") == 1


def test_st_missing_model_is_a_clear_error(project: Project, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(WorkbenchError, match="Could not load the embedding model"):
        run(embed_texts(project, ["hello"], spec=f"st:{missing}"))


# --- Gemini ------------------------------------------------------------------------------------


@pytest.fixture
def gemini_project(project: Project, fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The test project wired to the fake server, with quick backoff and a price for the model."""
    settings = {
        "GATEWAY__BACKOFF_INITIAL_S": "0.01",
        "GATEWAY__BACKOFF_MAX_S": "0.05",
        "GATEWAY__READ_TIMEOUT_S": "5",
        "GATEWAY__FLUSH_INTERVAL_S": "0.2",
        "ROLES__EMBEDDER": SPEC,
        "PRICES": json.dumps({MODEL: {"input_per_mtok": 1000.0, "output_per_mtok": 0.0}}),
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"WORKBENCH_{name}", value)
    return load_project(project.root)


def test_gemini_vectors_come_back_in_order_normalised_and_logged(
    gemini_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    texts = [LANDLORD, *UNRELATED]
    vectors = run(embed_texts(gemini_project, texts, stage="dedup", run_id="run-1"))
    expected = np.vstack([unit(fake_embedding(t)) for t in texts])
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert vectors.dtype == np.float32

    (request,) = fake_gemini.requests
    assert request.path.endswith(f"/models/{MODEL}:batchEmbedContents")
    assert [text for _, text in request.messages] == texts
    assert request.api_key == "test-key"
    (row,) = ledger(gemini_project)
    words = sum(len(t.split()) for t in texts)
    assert row["stage"] == "dedup" and row["run_id"] == "run-1" and row["role"] == "embedder"
    assert row["model"] == SPEC and row["purpose"] == "call" and row["attempt"] == 1
    assert row["status"] == "ok" and row["error"] is None
    assert row["tokens_in"] == words and row["cost_usd"] == pytest.approx(words * 1000 / 1e6)
    assert row["cache_key"] and row["latency_ms"] is not None


def test_gemini_near_duplicates_are_closer_than_unrelated(gemini_project: Project) -> None:
    vectors = run(embed_texts(gemini_project, [LANDLORD, LANDLORD_ONE_WORD, *UNRELATED]))
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.85
    assert max(similarity[0, 2:]) < similarity[0, 1] - 0.3


def test_gemini_batches_of_100_and_second_call_sends_nothing(
    gemini_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    texts = [f"prompt number {i} about topic {i % 7}" for i in range(250)]
    first = run(embed_texts(gemini_project, [*texts, texts[0]]))
    assert sorted(len(r.messages) for r in fake_gemini.requests) == [50, 100, 100]
    assert len(ledger(gemini_project)) == 3
    np.testing.assert_array_equal(first[0], first[-1])

    again = run(embed_texts(gemini_project, texts[::-1]))
    assert fake_gemini.requests_total == 3 and len(ledger(gemini_project)) == 3
    np.testing.assert_array_equal(again, first[:250][::-1])
    assert stored_rows(gemini_project, SPEC) == 250


def test_gemini_rate_limit_is_retried_and_both_attempts_are_logged(
    gemini_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    fake_gemini.rule = lambda req: Fault(429, retry_after=0.02) if req.attempt == 0 else Text("")
    vectors = run(embed_texts(gemini_project, [LANDLORD, UNRELATED[0]]))
    np.testing.assert_allclose(vectors[0], unit(fake_embedding(LANDLORD)), atol=1e-6)
    assert fake_gemini.requests_total == 2
    rows = ledger(gemini_project)
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "retried"), (2, "ok")]
    assert "rate_limited" in rows[0]["error"] and rows[0]["tokens_in"] is None
    assert rows[0]["cache_key"] == rows[1]["cache_key"]


def test_gemini_persistent_failure_names_the_model_and_caches_nothing(
    gemini_project: Project, fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_GATEWAY__MAX_ATTEMPTS", "3")
    project = load_project(gemini_project.root)
    fake_gemini.rule = lambda req: Fault(503)
    with pytest.raises(WorkbenchError) as info:
        run(embed_texts(project, [LANDLORD]))
    assert SPEC in str(info.value) and "503" in str(info.value) and "3 attempt(s)" in str(info.value)
    assert [r["status"] for r in ledger(project)] == ["retried", "retried", "error"]
    assert stored_rows(project, SPEC) == 0


def test_gemini_error_never_shows_the_api_key(
    gemini_project: Project, fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    echo = json.dumps(gemini_error(400, f"API key {SECRET} is not valid for this model"))
    fake_gemini.rule = lambda req: Fault(400, body=echo)
    with pytest.raises(WorkbenchError) as info:
        run(embed_texts(gemini_project, [LANDLORD]))
    assert fake_gemini.requests_total == 1  # a client error is not retried
    assert SECRET not in str(info.value) and "***" in str(info.value)
    assert all(SECRET not in (r["error"] or "") for r in ledger(gemini_project))


def test_gemini_keeps_batches_finished_before_a_failure(
    gemini_project: Project, fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CONCURRENCY__GEMINI", "1")  # batches in order
    project = load_project(gemini_project.root)
    texts = [f"text {i}" for i in range(150)]

    def rule(request: FakeRequest) -> Reply:
        return Fault(400) if ("user", "text 149") in request.messages else Text("")

    fake_gemini.rule = rule
    with pytest.raises(WorkbenchError):
        run(embed_texts(project, texts))
    assert stored_rows(project, SPEC) == 100
    run(embed_texts(project, texts[:100]))  # all cached
    assert fake_gemini.requests_total == 2


def test_gemini_missing_key_is_a_credentials_error(
    gemini_project: Project, fake_gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(MissingCredentialsError, match="GEMINI_API_KEY"):
        run(embed_texts(gemini_project, [LANDLORD]))
    assert fake_gemini.requests_total == 0


def test_concurrent_calls_with_the_same_texts_both_succeed(
    gemini_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    # Both look the texts up before either has written them; the second writer must not clash.
    fake_gemini.latency_s = 0.05
    texts = [LANDLORD, *UNRELATED]

    async def both() -> list[np.ndarray]:
        return list(await asyncio.gather(embed_texts(gemini_project, texts), embed_texts(gemini_project, texts)))

    first, second = run(both())
    np.testing.assert_array_equal(first, second)
    assert fake_gemini.requests_total == 2
    assert stored_rows(gemini_project, SPEC) == len(texts)
