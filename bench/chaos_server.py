"""The chaos benchmark's faulty model server: the test fakes behind random latency, errors and hangs.

    server = ChaosServer(Faults(error_rate=0.1, hang_rate=0.02, hang_s=1.5, latency_s=0.05), seed=0)
    with server:
        env = {"GEMINI_API_KEY": "chaos-sft", "GOOGLE_GEMINI_BASE_URL": server.base_url, ...}

One real HTTP server (tests/fakes/gemini_server.py) answers every pipeline. The API key says
who is asking, as `PHASE-PIPELINE` ("clean-sft", "chaos-audit"): the pipeline picks the
scripted model of the tests (SFT, documents or audit), and only the `chaos` phase gets faults.
Every model request is counted per key (when its reply is decided, after the latency), and
every reply is logged once written (time, key, body digest, status), so the benchmark can tell
a request answered before a kill from one in flight at it.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tests.fakes.audit_model import AuditFakeModel
from tests.fakes.docs_model import DocsFakeModel
from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.rules import FakeRequest, Fault, Hang, Reply, Rule
from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import DOC_TYPES, PERSONAS, TRAITS

CHAOS = "chaos"
CLEAN = "clean"


@dataclass(frozen=True)
class Faults:
    """What the server does wrong, to the `chaos` phase only.

    Attributes:
        error_rate: Share of requests answered 429 or 500 (half each; a 429 asks to retry in 0.1 s).
        hang_rate: Share of requests that hang `hang_s` before answering (below the client's timeout).
        hang_s: How long a hang lasts.
        latency_s: Mean latency; each request waits uniformly between 0 and twice this.
    """

    error_rate: float = 0.1
    hang_rate: float = 0.02
    hang_s: float = 1.5
    latency_s: float = 0.05


@dataclass(frozen=True)
class Answer:
    """One reply as the server wrote it: when (monotonic), to whom, for which body, with what status."""

    at: float
    key: str
    digest: str
    status: int


def digest_of(path: str, body: bytes) -> str:
    """What makes two requests the same bytes on the wire (the fake's own notion of a retry)."""
    return hashlib.sha256(path.split("?", 1)[0].encode() + b"\0" + body).hexdigest()


class ChaosServer:
    """The fake Gemini server with every scripted model behind one faulty rule; see the module docstring."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._models: dict[str, Rule] = {
            "sft": SFTFakeModel(TRAITS, PERSONAS),
            "docs": DocsFakeModel(TRAITS, list(DOC_TYPES)),
            "audit": AuditFakeModel(),
        }
        self._received: Counter[str] = Counter()
        self._answers: list[Answer] = []
        self._server = FakeGeminiServer()
        self._server.rule = self._rule
        self._server.latency_s = self._latency
        self._server.on_response = self._record

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    @property
    def base_url(self) -> str:
        """What GOOGLE_GEMINI_BASE_URL must be set to."""
        return self._server.base_url

    def received(self, key: str) -> int:
        """Model requests (generation and embedding) received from `key` so far."""
        with self._lock:
            return self._received[key]

    def answers(self) -> list[Answer]:
        """Every reply written so far, in order."""
        with self._lock:
            return list(self._answers)

    # --- on server threads ------------------------------------------------------------------

    def _chaotic(self, request: FakeRequest) -> bool:
        return (request.api_key or "").startswith(f"{CHAOS}-")

    def _latency(self, request: FakeRequest) -> float:
        if not self._chaotic(request):
            return 0.0
        with self._lock:
            return self._rng.uniform(0.0, 2 * self.faults.latency_s)

    def _rule(self, request: FakeRequest) -> Reply:
        key = request.api_key or ""
        with self._lock:
            self._received[key] += 1
            draw = self._rng.random()
        reply = self._models[key.partition("-")[2]](request)
        if not self._chaotic(request):
            return reply
        if draw < self.faults.error_rate / 2:
            return Fault(429, retry_after=0.1)
        if draw < self.faults.error_rate:
            return Fault(500)
        if draw < self.faults.error_rate + self.faults.hang_rate:
            return Hang(self.faults.hang_s, then=reply)
        return reply

    def _record(self, path: str, headers: Any, body: bytes, status: int) -> None:
        answer = Answer(time.monotonic(), headers.get("x-goog-api-key") or "", digest_of(path, body), status)
        with self._lock:
            self._answers.append(answer)
