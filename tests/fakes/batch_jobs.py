"""The lifecycle of fake batch jobs, shared by the fake Gemini and OpenAI servers.

A fake server keeps one `BatchJobs`. Each job records what was submitted (its lines as
(key, body) pairs, whether they came inline or in an uploaded file, its display name) and walks
through a scripted list of states, one step each time a client reads it (or on `advance()`). When
a job reaches a final state its lines are answered, in order, by the server's rule engine: the
same `rule` that answers live calls answers each line (a `Fault` becomes that line's error), and
each answer is rendered exactly as the live endpoint renders it.

    fake_gemini.batch_states = ["pending", "running", "succeeded"]  # the default
    fake_gemini.batch_states = ["pending", "expired"]; fake_gemini.batch_answered = 1
    job = fake_gemini.batch_jobs[0]; job.lines, job.source, job.display_name, job.state
    fake_gemini.advance()                  # one step for every unfinished job

Final states: succeeded (every line answered; some may be errors: "partially failed"), failed
(no line answered: the job itself failed), expired and cancelled (only the first
`batch_answered` lines answered, 0 by default). A batch line's `FakeRequest.path` is its job's
path (e.g. /v1/batches/batch_1), so a rule can tell batch lines from live calls.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_base import HttpResponse

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "expired"})
DEFAULT_STATES = ("pending", "running", "succeeded")

Line = tuple[str, dict[str, Any]]
"""One submitted request: its key (custom_id) and its body."""


@dataclass
class FakeBatchJob:
    """One job as the fake server holds it.

    Attributes:
        id: The job's id (without the protocol's prefix).
        model: The model the job names.
        display_name: The name the client gave it (Gemini displayName, OpenAI metadata), if any.
        source: "inline" or "file".
        lines: The submitted requests, in order.
        states: The scripted lifecycle; `step` is the current position in it.
        metadata: What the client attached to the job (OpenAI metadata).
        file: The uploaded input file's name, for a job from a file.
        answers: Once final: (key, rendered live response) for each answered line, in order.
    """

    id: str
    model: str
    display_name: str | None
    source: str
    lines: list[Line]
    states: list[str]
    step: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    answers: list[tuple[str, HttpResponse]] | None = None

    @property
    def state(self) -> str:
        """The current state: pending, running, succeeded, failed, cancelled or expired."""
        return self.states[self.step]

    @property
    def final(self) -> bool:
        """Whether the job has finished."""
        return self.state in FINAL_STATES


AnswerLine = Callable[[FakeBatchJob, str, dict[str, Any]], HttpResponse]
"""Answers one line of a job as the live endpoint would: (job, key, body) -> HTTP response."""


class BatchJobs:
    """The jobs of one fake server, thread-safe.

    Attributes:
        states: The lifecycle every new job follows (a copy is taken at creation).
        answered: Lines answered by a job that ends expired or cancelled.
        auto_advance: Move a job one step each time a client reads it.
    """

    def __init__(self, answer: AnswerLine) -> None:
        self.states: list[str] = list(DEFAULT_STATES)
        self.answered = 0
        self.auto_advance = True
        self._answer = answer
        self._jobs: list[FakeBatchJob] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    @property
    def jobs(self) -> list[FakeBatchJob]:
        """Every job created, in order (a copy of the list)."""
        with self._lock:
            return list(self._jobs)

    def create(self, model: str, lines: list[Line], **fields: Any) -> FakeBatchJob:
        """Record a new job in the first state of `states`; `fields` are `FakeBatchJob`'s
        (display_name, source, metadata, file)."""
        with self._lock:
            fields = {"display_name": None, "source": "inline", **fields}
            job = FakeBatchJob(
                id=f"fakebatch{next(self._ids)}", model=model, lines=lines, states=list(self.states), **fields
            )
            self._jobs.append(job)
            self._finish_if_final(job)
            return job

    def find(self, job_id: str) -> FakeBatchJob | None:
        """The job with this id, if any."""
        with self._lock:
            return next((job for job in self._jobs if job.id == job_id), None)

    def read(self, job: FakeBatchJob, advance: bool = True) -> FakeBatchJob:
        """A client reads the job: a snapshot of it now; then, with `auto_advance` (and
        `advance`: listing jobs does not move them), one step on."""
        with self._lock:
            snapshot = FakeBatchJob(**{**job.__dict__, "states": list(job.states)})
            if self.auto_advance and advance:
                self._step(job)
            return snapshot

    def advance(self) -> None:
        """Move every unfinished job one step along its lifecycle."""
        with self._lock:
            for job in self._jobs:
                self._step(job)

    def cancel(self, job: FakeBatchJob) -> None:
        """End an unfinished job as cancelled (answering its first `answered` lines)."""
        with self._lock:
            if not job.final:
                job.states = [*job.states[: job.step + 1], "cancelled"]
                self._step(job)

    def _step(self, job: FakeBatchJob) -> None:
        if not job.final and job.step + 1 < len(job.states):
            job.step += 1
            self._finish_if_final(job)

    def _finish_if_final(self, job: FakeBatchJob) -> None:
        if not job.final:
            return
        count = {"succeeded": len(job.lines), "failed": 0}.get(job.state, self.answered)
        job.answers = [(key, self._answer(job, key, body)) for key, body in job.lines[:count]]


class BatchScripting:
    """Batch settings and records of a fake server; both fake servers mix it in.

    Attributes:
        jobs: The server's jobs.
        files: Uploaded and result files by name (Gemini `files/…`, OpenAI `file-…`).
    """

    jobs: BatchJobs
    files: dict[str, bytes]

    @property
    def batch_states(self) -> list[str]:
        """The lifecycle each new job follows, e.g. ["pending", "running", "succeeded"]."""
        return self.jobs.states

    @batch_states.setter
    def batch_states(self, states: list[str]) -> None:
        self.jobs.states = list(states)

    @property
    def batch_answered(self) -> int:
        """Lines answered by a job that ends expired or cancelled (the first ones)."""
        return self.jobs.answered

    @batch_answered.setter
    def batch_answered(self, count: int) -> None:
        self.jobs.answered = count

    @property
    def batch_auto_advance(self) -> bool:
        """Whether each read of a job moves it one step (else only `advance()` does)."""
        return self.jobs.auto_advance

    @batch_auto_advance.setter
    def batch_auto_advance(self, value: bool) -> None:
        self.jobs.auto_advance = value

    @property
    def batch_jobs(self) -> list[FakeBatchJob]:
        """Every job submitted, in order."""
        return self.jobs.jobs

    def advance(self) -> None:
        """Move every unfinished job one step."""
        self.jobs.advance()
