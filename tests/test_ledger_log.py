"""Every request is in the ledger, even after a SIGKILL: the write-ahead log and its replay.

A child process sends calls through the real gateway and google-genai client to the fake Gemini
server, with a flush interval far longer than the test, so nothing reaches the store before it
is killed. The next gateway on the project replays its log: the ledger then has exactly one row
per request the server received, the requests in flight at the kill are `interrupted` with no
cost, and every answer that came back is cached, so a resumed run pays for none of them again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from tests.fakes.rules import FakeRequest, Text
from workbench.llm.gateway import Gateway
from workbench.llm.ledger import recover_ledger
from workbench.llm.ledger_log import log_dir
from workbench.llm.types import LLMRequest
from workbench.project import Project, init_project, load_project

REPO = Path(__file__).resolve().parents[1]
MODEL = "fake-model"
CALLS = 24

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from workbench.llm.gateway import Gateway
    from workbench.llm.types import LLMRequest
    from workbench.project import load_project

    async def main():
        async with Gateway(load_project(sys.argv[1]), stage="test") as gateway:
            await gateway.map([LLMRequest.from_prompt(f"question {i}") for i in range(int(sys.argv[2]))], role="rater")

    asyncio.run(main())
    """
)


def env_for(fake: Any) -> dict[str, str]:
    return {
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": fake.base_url,
        "WORKBENCH_ROLES__RATER": f"gemini:{MODEL}",
        "WORKBENCH_CONCURRENCY__GEMINI": "4",
        "WORKBENCH_GATEWAY__FLUSH_INTERVAL_S": "600",  # nothing is flushed to the store before the kill
        "WORKBENCH_PRICES": json.dumps({MODEL: {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}),
    }


def slow_answers(request: FakeRequest) -> Text:
    # Each answer takes a while, so several requests are in flight when the kill comes.
    time.sleep(0.3)
    return Text(f"answer to {request.last_user_text}")


def ledger(project: Project) -> list[tuple[str, str, float | None]]:
    with project.store.connect() as con:
        return con.execute("SELECT cache_key, status, cost_usd FROM llm_calls").fetchall()


def kill_midway(project: Project, fake: Any, env: dict[str, str], after: int) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project.root), str(CALLS)],
        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while fake.requests_total < after:
        assert child.poll() is None, child.stdout.read() if child.stdout else ""
        assert time.monotonic() < deadline, "the child sent too few requests"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def test_a_killed_runs_requests_are_all_in_the_ledger_and_its_answers_are_not_paid_twice(
    tmp_path: Path, fake_gemini: Any, monkeypatch: Any
) -> None:
    env = env_for(fake_gemini)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = slow_answers
    project = init_project(tmp_path / "p")
    kill_midway(project, fake_gemini, env, after=12)
    sent_before_kill = fake_gemini.requests_total
    assert ledger(project) == [], "the child was killed before its first flush"
    assert list(log_dir(project.store).glob("*.jsonl")), "but its requests are in the log"

    project = load_project(project.root)

    async def resume() -> set[str]:
        async with Gateway(project, stage="test") as gateway:  # replays the log on opening
            rows = ledger(project)
            assert len(rows) == sent_before_kill, "one ledger row per request the server received"
            interrupted = [r for r in rows if r[1] == "interrupted"]
            assert 1 <= len(interrupted) <= 4, "at most the requests in flight (concurrency 4) are unknown"
            assert all(cost is None for _, _, cost in interrupted), "their cost is unknown, not zero"
            assert all(cost and cost > 0 for _, status, cost in rows if status == "ok")
            answered = {key for key, status, _ in rows if status == "ok"}
            results = await gateway.map([LLMRequest.from_prompt(f"question {i}") for i in range(CALLS)], role="rater")
            assert all(r.ok for r in results)
            assert {r.cache_key for r in results if r.cached} >= answered, "no answer received is paid for again"
            return answered

    answered = asyncio.run(resume())
    assert fake_gemini.requests_total == sent_before_kill + CALLS - len(answered)
    assert not list(log_dir(project.store).glob("*.jsonl")), "a clean exit leaves no log behind"


def test_a_live_processs_log_is_left_alone(tmp_path: Path, fake_gemini: Any, monkeypatch: Any) -> None:
    for key, value in env_for(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = lambda request: Text("ok")
    project = init_project(tmp_path / "p")

    async def two_gateways() -> None:
        async with Gateway(project, stage="a") as first:
            await first.map([LLMRequest.from_prompt("one")], role="rater")
            # The first gateway is alive and unflushed: opening a second must not replay its log.
            async with Gateway(project, stage="b"):
                assert ledger(project) == []
        assert [status for _, status, _ in ledger(project)] == ["ok"]

    asyncio.run(two_gateways())


EMBED_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from workbench.embeddings import embed_texts
    from workbench.project import load_project

    texts = [f"text number {i} about topic {i % 7}" for i in range(400)]
    asyncio.run(embed_texts(load_project(sys.argv[1]), texts, spec="gemini:fake-embedding"))
    """
)


def _stored_vectors(project: Project) -> int:
    with project.store.connect() as con:
        return int(con.execute("SELECT count(*) FROM embeddings").fetchone()[0])  # type: ignore[index]


def test_a_killed_embedding_keeps_the_vectors_and_the_ledger_of_the_batches_it_was_answered(
    tmp_path: Path, fake_gemini: Any
) -> None:
    answered = itertools.count()
    killed = threading.Event()

    def third_batch_waits(request: FakeRequest) -> Text:
        if next(answered) >= 2:  # the third batch stays in flight until the child is killed
            killed.wait(60)
        return slow_answers(request)

    fake_gemini.rule = third_batch_waits  # the embedding endpoint answers with vectors, after the same wait
    env = env_for(fake_gemini) | {"WORKBENCH_CONCURRENCY__GEMINI": "1"}  # batches of 100, one at a time
    project = init_project(tmp_path / "p")
    child = subprocess.Popen(
        [sys.executable, "-c", EMBED_CHILD, str(project.root)], cwd=REPO, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    # Two batches answered and the third held in flight: their vectors reach the store meanwhile (polled, not
    # slept for: on a loaded machine the write can take longer than any fixed pause).
    while fake_gemini.requests_total < 3 or _stored_vectors(project) < 200:
        assert child.poll() is None, child.stdout.read() if child.stdout else ""
        assert time.monotonic() < deadline, "the answered batches' vectors were not stored as they came"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    killed.set()
    sent = fake_gemini.requests_total

    recover_ledger(project.store)
    with project.store.connect() as con:
        vectors = con.execute("SELECT count(*) FROM embeddings").fetchone()[0]  # type: ignore[index]
        calls = con.execute("SELECT status FROM llm_calls WHERE role = 'embedder'").fetchall()
    assert vectors >= 200, "the answered batches' vectors were stored as they came"
    assert len(calls) == sent and calls.count(("interrupted",)) == 1
