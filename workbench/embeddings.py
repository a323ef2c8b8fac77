"""Text embeddings for near-duplicate detection, cached per model in the store.

    vectors = await embed_texts(project, prompts)       # (n, d) float32, rows of unit length
    similarity = vectors @ vectors.T                    # cosine, since the rows are normalised

The embedder is the project's `embedder` role, else `DEFAULT_EMBEDDER`. Two kinds of spec:

* `st:NAME_OR_PATH`: a local sentence-transformers model (a hub name or a saved directory),
  loaded once per process and run in a worker thread, on `[hf] device`.
* `gemini:MODEL`: the Gemini API's batchEmbedContents through the google-genai client, with the
  Gemini backend's credentials, endpoint and error mapping. Rate limits, server errors and
  timeouts are retried as the gateway does it, and every request sent is an `llm_calls` row.

Vectors live in the `embeddings` table under (spec, sha256 of the text), so a text is embedded
once per model, ever: a call looks all its texts up in one query, embeds only the distinct
missing ones and writes them, with the ledger rows of its requests, in one transaction at the
end (also when it fails, so nothing paid for is lost).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.config import ProjectConfig
from workbench.errors import WorkbenchError
from workbench.llm.ledger import LEDGER_COLUMNS, call_cost, new_ledger_row
from workbench.llm.ledger_log import LedgerLog
from workbench.llm.retries import transient_retries
from workbench.llm.types import BackendError
from workbench.project import Project
from workbench.store import Store

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from workbench.llm.backends.gemini import GeminiBackend

DEFAULT_EMBEDDER = "st:sentence-transformers/all-MiniLM-L6-v2"
ST_BATCH_SIZE = 64
GEMINI_BATCH_SIZE = 100  # the most texts batchEmbedContents accepts in one request
_KINDS = ("st", "gemini")

# ON CONFLICT only sees committed rows: two transactions of this process inserting the same new
# text both pass it and the second fails at COMMIT. Writers in other processes cannot overlap
# (DuckDB gives the file to one process at a time), so one lock per process is enough.
_save_lock = threading.Lock()
_INSERT_CALL = f"INSERT INTO llm_calls ({', '.join(LEDGER_COLUMNS)}) VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})"


def embedder_spec(config: ProjectConfig) -> str:
    """The embedder a project uses: its `embedder` role, else `DEFAULT_EMBEDDER`."""
    return config.roles.get("embedder") or DEFAULT_EMBEDDER


def text_hash(text: str) -> str:
    """The cache key of a text (sha256 of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_embedder_spec(spec: str) -> tuple[str, str]:
    """Split an embedder spec into (kind, model name or path).

    Raises:
        WorkbenchError: not of the form `st:NAME_OR_PATH` or `gemini:MODEL`.
    """
    kind, sep, name = spec.partition(":")
    if not sep or kind not in _KINDS or not name.strip():
        raise WorkbenchError(
            f"Unknown embedder spec {spec!r}.",
            hint="Use `st:NAME_OR_PATH` (a sentence-transformers model, e.g. "
            f"{DEFAULT_EMBEDDER}) or `gemini:MODEL` (e.g. gemini:gemini-embedding-001) "
            "for the embedder role.",
        )
    return kind, name.strip()


async def embed_texts(
    project: Project,
    texts: Sequence[str],
    *,
    spec: str | None = None,
    stage: str = "embed",
    run_id: str | None = None,
) -> np.ndarray:
    """Embed texts, from the store's cache where possible.

    Args:
        project: Supplies the config (embedder role, [hf], [gemini], [gateway]) and the store.
        texts: The texts; duplicates are embedded once.
        spec: The embedder spec; default `embedder_spec(project.config)`.
        stage: Recorded on the ledger rows of Gemini requests.
        run_id: The run those requests belong to, if any.

    Returns:
        An (n, d) float32 array of L2-normalised vectors, row i for `texts[i]` ((0, 0) for no
        texts). A text with an all-zero embedding keeps its zero row.

    Raises:
        WorkbenchError: a bad spec, a model that cannot be loaded, a missing API key
            (`MissingCredentialsError`) or a Gemini request that failed for good.
    """
    spec = spec or embedder_spec(project.config)
    kind, name = parse_embedder_spec(spec)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    found = await asyncio.to_thread(_lookup, project.store, spec, hashes)
    missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
    if missing:
        fresh: dict[str, np.ndarray] = {}
        calls: list[dict[str, Any]] = []  # ledger rows of Gemini requests
        log = LedgerLog(project.store)  # a kill before _save leaves the requests for recover_ledger
        try:
            if kind == "st":
                fresh.update(await _embed_st(project.config, name, missing))
            else:
                await _GeminiEmbedder(project, name, spec, stage, run_id, calls, log).embed(missing, fresh)
        finally:
            # After a failure too: the requests sent were paid for (Gemini's vectors are stored per batch).
            local = fresh if kind == "st" else {}
            if local or calls:
                await asyncio.to_thread(_save, project.store, spec, local, calls)
            log.close()
        found.update(fresh)
    return _stack(spec, [found[h] for h in hashes])


def _normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _stack(spec: str, rows: list[np.ndarray]) -> np.ndarray:
    if len({row.shape for row in rows}) > 1:
        # Only if the model behind a spec changed (a path retrained to another size).
        raise WorkbenchError(
            f"The cached embeddings for {spec!r} have different sizes.",
            hint="The model behind this spec changed; delete its rows from the store's `embeddings` "
            "table (or use a new spec) and run again.",
        )
    return np.stack(rows).astype(np.float32, copy=False)


# --- the cache ---------------------------------------------------------------------------------


def _lookup(store: Store, spec: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Cached vectors of the given text hashes, in one query."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN (SELECT unnest(?))",
            [spec, sorted(set(hashes))],
        ).fetchall()
    return {key: np.asarray(vector, dtype=np.float32) for key, vector in rows}


def _save(store: Store, spec: str, vectors: dict[str, np.ndarray], calls: list[dict[str, Any]]) -> None:
    """Write new vectors and ledger rows in one transaction (vectors already stored are kept).

    Values travel as bound list parameters, not as a registered Arrow table: DuckDB's Arrow scan
    fails ("python_arrow_scan does not exist") when another thread opens the store meanwhile.
    """
    with _save_lock, store.transaction() as con:
        if vectors:
            con.execute(
                "INSERT INTO embeddings (model, text_hash, vector)"
                " SELECT ?, unnest(?::VARCHAR[]), unnest(?::FLOAT[][]) ON CONFLICT DO NOTHING",
                [spec, list(vectors), list(vectors.values())],
            )
        if calls:
            con.executemany(_INSERT_CALL, [[row[c] for c in LEDGER_COLUMNS] for row in calls])


# --- sentence-transformers ---------------------------------------------------------------------


async def _embed_st(config: ProjectConfig, name: str, texts: dict[str, str]) -> dict[str, np.ndarray]:
    """Embed with a local sentence-transformers model (loading and encoding off the event loop)."""
    device = None if config.hf.device == "auto" else config.hf.device  # None: the library picks
    model = await asyncio.to_thread(_load_sentence_transformer, name, config.hf.trust_remote_code, device)
    vectors = await asyncio.to_thread(_encode, model, list(texts.values()))
    return dict(zip(texts, _normalise(vectors), strict=True))


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(name: str, trust_remote_code: bool, device: str | None) -> SentenceTransformer:
    """Load a model once per process (dedup embeds many small batches).

    Raises:
        WorkbenchError: the model is missing, needs remote code, or the device is unusable.
    """
    # Imported here: sentence_transformers pulls in torch and transformers, seconds of start-up
    # that commands which never embed should not pay.
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name, trust_remote_code=trust_remote_code, device=device)
    except (OSError, ValueError, RuntimeError) as e:
        if "trust_remote_code" in str(e):
            hint = (
                "This model ships its own code. Set `trust_remote_code = true` under [hf] in "
                "workbench.toml only if you trust its authors."
            )
        else:
            hint = (
                f"Check the name or path, and the [hf] device. Offline, download it first while online "
                f"(`hf download {name}`); or set the embedder role to another model (st:PATH or gemini:MODEL)."
            )
        raise WorkbenchError(f"Could not load the embedding model {name!r}: {e}", hint=hint) from e


def _encode(model: SentenceTransformer, texts: list[str]) -> np.ndarray:
    vectors = model.encode(texts, batch_size=ST_BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


# --- Gemini --------------------------------------------------------------------------------------


class _GeminiEmbedder:
    """Sends batchEmbedContents requests for one `embed_texts` call: concurrency, retries, ledger."""

    def __init__(
        self, project: Project, model: str, spec: str, stage: str, run_id: str | None, calls: list[dict[str, Any]],
        log: LedgerLog,
    ) -> None:  # fmt: skip
        self.config, self.store = project.config, project.store
        self.model, self.spec, self.stage, self.run_id = model, spec, stage, run_id
        self.calls = calls  # one ledger row per request sent, for the caller to write
        self.log = log  # ... and each logged ahead, before it is sent

    async def embed(self, texts: dict[str, str], out: dict[str, np.ndarray]) -> None:
        """Embed `texts` (hash -> text) into `out` (hash -> unit vector), batch by batch.

        Batches that finished before a failure are in `out`, so the caller can keep them.

        Raises:
            MissingCredentialsError: no API key (raised before anything is sent).
            WorkbenchError: a batch still failed after its retries.
        """
        from workbench.llm.backends.gemini import GeminiBackend  # google-genai only when used

        backend = GeminiBackend(self.model, self.config.gemini, self.config.gateway)
        limit = asyncio.Semaphore(self.config.concurrency.gemini)
        items = list(texts.items())
        batches = [dict(items[i : i + GEMINI_BATCH_SIZE]) for i in range(0, len(items), GEMINI_BATCH_SIZE)]
        tasks = [asyncio.create_task(self._batch(backend, limit, batch, out)) for batch in batches]
        try:
            await asyncio.gather(*tasks)
        finally:
            # On the first failure the other batches stop; their rows are still recorded.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await backend.aclose()

    async def _batch(
        self,
        backend: GeminiBackend,
        limit: asyncio.Semaphore,
        batch: dict[str, str],
        out: dict[str, np.ndarray],
    ) -> None:
        """One batch to its vectors, retrying transient failures."""
        key = hashlib.sha256("\0".join([self.spec, *batch]).encode()).hexdigest()
        retrying = transient_retries(self.config.gateway)
        attempt = 0
        try:
            async for retry in retrying:
                with retry:
                    attempt += 1
                    async with limit:
                        vectors = await self._attempt(backend, list(batch.values()), key, attempt)
        except BackendError as e:  # its message never holds the key: the backend redacts it
            raise WorkbenchError(
                f"Embedding with {self.spec} failed after {attempt} attempt(s): {e}",
                hint="Check the model name, the API key and the endpoint; rate limits: lower "
                "[concurrency] gemini or raise [gateway] max_attempts, then run again.",
            ) from None
        fresh = dict(zip(batch, _normalise(np.asarray(vectors, dtype=np.float32)), strict=True))
        out.update(fresh)
        # Stored now, not when the whole call ends: a kill must not lose vectors already paid for.
        await asyncio.to_thread(_save, self.store, self.spec, fresh, [])

    async def _attempt(self, backend: GeminiBackend, texts: list[str], key: str, attempt: int) -> list[list[float]]:
        """One request, recorded in the ledger however it ends."""
        row: dict[str, Any] = {
            "run_id": self.run_id, "stage": self.stage, "role": "embedder", "model": self.spec,
            "cache_key": key, "attempt": attempt, "purpose": "call",
        }  # fmt: skip
        started = time.perf_counter()
        sent = new_ledger_row(**row, status="sent")
        self.log.append("sent", sent)
        try:
            vectors, tokens_in = await backend.embed(texts)
        except BaseException as e:  # cancellation included: the request was sent all the same
            again = isinstance(e, BackendError) and e.retryable and attempt < self.config.gateway.max_attempts
            status, error = ("retried" if again else "error"), str(e) or type(e).__name__
            self._ended(sent, status=status, error=error, latency_ms=_ms_since(started))
            raise
        price = self.config.prices.get(self.model) or self.config.prices.get(self.spec)
        cost = call_cost(price, tokens_in, None)
        self._ended(sent, status="ok", tokens_in=tokens_in, cost_usd=cost, latency_ms=_ms_since(started))
        return vectors

    def _ended(self, sent: dict[str, Any], **outcome: Any) -> None:
        row = sent | outcome
        self.log.append("call", row)
        self.calls.append(row)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
