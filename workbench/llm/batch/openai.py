"""OpenAI-style batch JSONL through the openai client: `OpenAIBatchProvider`, `jsonl_line`,
`parse_output_line`.

One format for hosted and self-hosted batch generation: each input line is
`{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}` with the body a live
chat completion call sends (`chat_body`), and each output line is
`{"custom_id", "response": {"status_code", "body"}, "error"}`. OpenAI's Batch API reads and writes
it, and so does vLLM's offline `run-batch` entry point, which is how `workbench batch export` /
`import` use `jsonl_line` and `parse_output_line` without any batch endpoint.

A job is the JSONL uploaded with `files.create(purpose="batch")`, then `batches.create` with the
workbench's own id in its metadata (so `find` can recover a job created just before a crash).
Results are the batch's output file and error file. Credentials, client and error mapping are the
live backend's (`OpenAIBackend`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from typing import Any, Final, TypeVar

import openai
from openai.types import Batch
from openai.types.chat import ChatCompletion

from workbench.config import GatewayConfig
from workbench.llm.backends.openai_compat import OpenAIBackend, blocked_prompt, chat_body, to_backend_response
from workbench.llm.backends.timeouts import read_timeout_for
from workbench.llm.batch.provider import BatchLine, LineResult, RemoteJob, RemoteState
from workbench.llm.batch.providers import split_lines
from workbench.llm.types import LLMRequest

ENDPOINT: Final = "/v1/chat/completions"
MAX_LINES = 50_000
"""Requests per input file (OpenAI Batch API: up to 50,000 requests and 200 MB per file)."""
MAX_BYTES = 200_000_000
"""Bytes per input file (the 200 MB above, counted in decimal megabytes to stay under it)."""
METADATA_KEY = "workbench_batch"
"""The batch metadata entry holding the workbench's own id for the job (its display name)."""
TRANSFER_TIMEOUT_S = 600.0
"""Seconds an upload or a download of a file of up to 200 MB may take."""

_STATES: dict[str, RemoteState] = {
    "validating": "pending",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "running",
    "completed": "succeeded",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}
# Error-file codes of requests a job never ran (OpenAI lists them): not answers, not failures.
_NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})
_T = TypeVar("_T")


def jsonl_line(line: BatchLine) -> dict[str, Any]:
    """One input line of an OpenAI-style batch file (OpenAI's Batch API, vLLM `run-batch`)."""
    return {"custom_id": line.key, "method": "POST", "url": ENDPOINT, "body": line.body}


def parse_output_line(obj: dict[str, Any]) -> LineResult:
    """One output line as a `LineResult`: the answer of a 200 response, else why there is none.

    A 200 body is read by the live backend's parser; a prompt blocked by a content filter is a
    safety answer, as it is live.
    """
    key = str(obj.get("custom_id"))
    if obj.get("error"):
        return LineResult(key, error=_error_text(obj["error"]))
    response = obj.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if status == 200 and isinstance(body, dict):
        return LineResult(key, response=to_backend_response(ChatCompletion.model_construct(**body)))
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(status, int):
        blocked = blocked_prompt(status, error.get("code"), str(error.get("message")))
        if blocked is not None:
            return LineResult(key, response=blocked)
    return LineResult(key, error=f"status {status}: " + (_error_text(error) if error else str(body)[:500]))


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    code = error.get("code") or error.get("type")
    return f"{code}: {error.get('message')}" if code else str(error.get("message"))


def _encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class OpenAIBatchProvider:
    """The batch API of an OpenAI-compatible provider, for one model.

    Args:
        model: The model name.
        base_url: The server's API root, None for OpenAI (as in the live backend).
        api_key_env: The environment variable holding the key.
        gateway: Timeout settings for the job-management calls.

    Raises:
        MissingCredentialsError: as for the live backend.
    """

    name = "openai"

    def __init__(self, model: str, base_url: str | None, api_key_env: str, gateway: GatewayConfig) -> None:
        self._backend = OpenAIBackend(model, base_url, api_key_env, gateway)
        self._model = model
        self._base_url = base_url
        self._read_s = read_timeout_for(gateway, None)
        self._connect_s = gateway.connect_timeout_s

    def line_body(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> dict[str, Any]:
        """The chat completions body a live call sends for `request`."""
        return chat_body(self._model, self._base_url, request, json_schema)

    def split(self, lines: Sequence[BatchLine]) -> list[list[BatchLine]]:
        """Groups within MAX_LINES requests and MAX_BYTES of JSONL each."""
        return split_lines(lines, lambda line: len(_encode(jsonl_line(line))), MAX_BYTES, MAX_LINES)

    async def submit(self, lines: Sequence[BatchLine], display_name: str) -> str:
        """Upload the lines as a JSONL file and create a batch on it.

        Raises:
            BackendError: the upload or the creation failed (as a live call's errors).
        """
        client = self._backend.client()
        data = b"".join(_encode(jsonl_line(line)) for line in lines)
        upload = client.files.create(
            file=(f"{display_name}.jsonl", data, "application/jsonl"),
            purpose="batch",
            timeout=self._timeout(TRANSFER_TIMEOUT_S),
        )
        uploaded = await self._call(upload, TRANSFER_TIMEOUT_S)
        create = client.batches.create(
            input_file_id=uploaded.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={METADATA_KEY: display_name},
            timeout=self._timeout(self._read_s),
        )
        return (await self._call(create, self._read_s)).id

    async def find(self, display_name: str) -> RemoteJob | None:
        """The batch whose metadata names `display_name`, looked up in the list of batches."""
        return await self._call(self._find(display_name), self._read_s)

    async def _find(self, display_name: str) -> RemoteJob | None:
        async for batch in self._backend.client().batches.list(limit=100, timeout=self._timeout(self._read_s)):
            if (batch.metadata or {}).get(METADATA_KEY) == display_name:
                return _remote_job(batch)
        return None

    async def get(self, remote_id: str) -> RemoteJob:
        """The batch's state and request counts."""
        return _remote_job(await self._retrieve(remote_id))

    async def results(self, remote_id: str) -> list[LineResult]:
        """The lines of the batch's output and error files, less the requests it never ran."""
        batch = await self._retrieve(remote_id)
        results: list[LineResult] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id is None:
                continue
            download = self._backend.client().files.content(file_id, timeout=self._timeout(TRANSFER_TIMEOUT_S))
            content = await self._call(download, TRANSFER_TIMEOUT_S)
            lines = (json.loads(text) for text in content.text.splitlines() if text.strip())
            results += [parse_output_line(obj) for obj in lines if not _not_run(obj)]
        return results

    async def cancel(self, remote_id: str) -> None:
        """Ask the provider to cancel the batch."""
        cancel = self._backend.client().batches.cancel(remote_id, timeout=self._timeout(self._read_s))
        await self._call(cancel, self._read_s)

    async def aclose(self) -> None:
        """Close the client."""
        await self._backend.aclose()

    async def _retrieve(self, remote_id: str) -> Batch:
        retrieve = self._backend.client().batches.retrieve(remote_id, timeout=self._timeout(self._read_s))
        return await self._call(retrieve, self._read_s)

    def _timeout(self, read_s: float) -> openai.Timeout:
        return openai.Timeout(read_s, connect=self._connect_s)

    async def _call(self, call: Awaitable[_T], read_s: float) -> _T:
        """Await a client call with the live backend's error mapping."""
        try:
            return await call
        except Exception as e:
            raise self._backend.client_error(e, read_s, self._connect_s) from None


def _not_run(obj: dict[str, Any]) -> bool:
    error = obj.get("error")
    return isinstance(error, dict) and error.get("code") in _NOT_RUN


def _remote_job(batch: Batch) -> RemoteJob:
    counts = batch.request_counts
    errors = [e.message for e in (batch.errors.data or [])] if batch.errors is not None else []
    detail = batch.status + (f": {'; '.join(m for m in errors if m)}" if any(errors) else "")
    # An unknown status is taken as still running: polling on is safe, collecting early is not.
    return RemoteJob(
        remote_id=batch.id,
        state=_STATES.get(batch.status, "running"),
        display_name=(batch.metadata or {}).get(METADATA_KEY),
        total=counts.total if counts else None,
        succeeded=counts.completed if counts else None,
        failed=counts.failed if counts else None,
        detail=detail,
    )
