"""The Gemini Batch API through google-genai: `GeminiBatchProvider`.

Each line's body is the REST `GenerateContentRequest` a live `generateContent` call sends for the
same request (built by the live backend's `generate_content_args`, then converted by the SDK's own
request converter), so a batch answer is an answer to exactly the live request. A job goes out
inline (`batches.create(src=[InlinedRequest...])`, each request's key in its `metadata`) while its
lines fit the documented inline limit, else as an uploaded JSONL file of `{"key", "request"}`
lines (`files.upload`, then `batches.create(src="files/...")`). Results come back as
`dest.inlined_responses` or a JSONL file (`dest.file_name`, downloaded with `files.download`);
both are read with the SDK's own response conversion and the live backend's parser.

Only the Gemini Developer API has this batch API (inline and Files-API input); on Vertex AI the
SDK wants Cloud Storage or BigQuery input, so a Vertex AI client is refused with a hint.
Credentials, client and error mapping are the live backend's (`GeminiBackend`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

from google.genai import _common as genai_common
from google.genai import batches as genai_batches
from google.genai import models as genai_models
from google.genai import types

from workbench.config import GatewayConfig, GeminiConfig
from workbench.errors import WorkbenchError
from workbench.llm.backends.gemini import GeminiBackend, generate_content_args, http_options, to_backend_response
from workbench.llm.backends.timeouts import attempt_timeout_for
from workbench.llm.batch.provider import BatchLine, LineResult, RemoteJob, RemoteState
from workbench.llm.batch.providers import split_lines
from workbench.llm.types import LLMRequest

INLINE_MAX_BYTES = 19_000_000
"""Largest job sent inline. The Batch API docs keep inline requests under 20 MB for the whole
batch-create request; 1 MB is left for its envelope (model, metadata keys, display name)."""

FILE_MAX_BYTES = 2_000_000_000
"""Largest job: the Files API takes files of up to 2 GB (Gemini API docs, Files API limits)."""

TRANSFER_TIMEOUT_S = 600.0
"""Seconds an upload or a download of a result file may take (files of up to 2 GB)."""

_FILE_MIME_TYPE = "jsonl"  # what the Batch API docs upload batch input files as

_STATES: dict[str, RemoteState] = {
    "JOB_STATE_QUEUED": "pending",
    "JOB_STATE_PENDING": "pending",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_PAUSED": "running",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
    "JOB_STATE_EXPIRED": "expired",
}
_T = TypeVar("_T")


class GeminiBatchProvider:
    """The Gemini Batch API for one model. Construction checks credentials; nothing is sent
    until `submit`.

    Args:
        model: The model name, e.g. "gemini-3-flash".
        config: Gemini settings (base_url).
        gateway: Timeout settings for the job-management calls.

    Raises:
        MissingCredentialsError: as for the live backend.
        WorkbenchError: the client is set up for Vertex AI, which has no inline/file batch input.
    """

    name = "gemini"

    def __init__(self, model: str, config: GeminiConfig, gateway: GatewayConfig) -> None:
        self._backend = GeminiBackend(model, config, gateway)
        self._client = self._backend.client
        if self._client.vertexai:
            raise WorkbenchError(
                f"Batch mode for {model!r} needs the Gemini API; Vertex AI batch jobs read their input "
                "from Cloud Storage or BigQuery, which the workbench does not manage.",
                hint="Unset GOOGLE_GENAI_USE_VERTEXAI and set GEMINI_API_KEY for batch runs, or run without --batch.",
            )
        self._model = model
        self._timeout_s = attempt_timeout_for(gateway, None)

    def line_body(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> dict[str, Any]:
        """The REST body a live generateContent call sends for `request` (thought signatures as base64)."""
        contents, config = generate_content_args(request, json_schema)
        # google-genai has no public "build the request" call; these are the steps its own
        # generate_content runs (AsyncModels._generate_content), so the body is the live one.
        api_client = self._client._api_client
        params = types._GenerateContentParameters(model=self._model, contents=cast(Any, contents), config=config)
        body = genai_models._GenerateContentParameters_to_mldev(api_client, params, None, params)
        body = genai_common.encode_unserializable_types(genai_common.convert_to_dict(body))
        # `_url` and `_query` address the call; `config` is what the SDK keeps for itself.
        return {k: v for k, v in body.items() if not k.startswith("_") and k != "config"}

    def split(self, lines: Sequence[BatchLine]) -> list[list[BatchLine]]:
        """Groups of at most FILE_MAX_BYTES of JSONL each."""
        return split_lines(lines, _file_line_size, FILE_MAX_BYTES)

    async def submit(self, lines: Sequence[BatchLine], display_name: str) -> str:
        """Create one job: inline up to INLINE_MAX_BYTES, else from an uploaded JSONL file.

        Raises:
            BackendError: the upload or the creation failed (as a live call's errors).
        """
        src: Any
        if sum(_file_line_size(line) for line in lines) <= INLINE_MAX_BYTES:
            src = [_inlined_request(self._model, line) for line in lines]
        else:
            src = await self._upload(lines, display_name)
        config: Any = {"display_name": display_name, "http_options": http_options(self._timeout_s)}
        job = await self._call(self._client.aio.batches.create(model=self._model, src=src, config=config))
        return str(job.name)

    async def find(self, display_name: str) -> RemoteJob | None:
        """The job created under `display_name`, looked up in the list of this key's jobs."""
        return await self._call(self._find(display_name))

    async def _find(self, display_name: str) -> RemoteJob | None:
        config: Any = {"page_size": 100, "http_options": http_options(self._timeout_s)}
        async for job in await self._client.aio.batches.list(config=config):
            if job.display_name == display_name:
                return _remote_job(job)
        return None

    async def get(self, remote_id: str) -> RemoteJob:
        """The job's state (the Gemini API reports no per-request counts through the SDK)."""
        return _remote_job(await self._get(remote_id))

    async def results(self, remote_id: str) -> list[LineResult]:
        """Every answered request of a final job: inline responses, or the lines of its result file."""
        dest = (await self._get(remote_id)).dest
        if dest is None:
            return []
        if dest.inlined_responses is not None:
            return [result for r in dest.inlined_responses if (result := _line_result(r)) is not None]
        if dest.file_name is None:
            return []
        config: Any = {"http_options": http_options(TRANSFER_TIMEOUT_S)}
        download = self._client.aio.files.download(file=dest.file_name, config=config)
        data = await self._call(download, TRANSFER_TIMEOUT_S)
        return [result for text in data.decode().splitlines() if text.strip() and (result := _file_result(text))]

    async def cancel(self, remote_id: str) -> None:
        """Ask the API to cancel the job."""
        config: Any = {"http_options": http_options(self._timeout_s)}
        await self._call(self._client.aio.batches.cancel(name=remote_id, config=config))

    async def aclose(self) -> None:
        """Close the client."""
        await self._backend.aclose()

    async def _get(self, remote_id: str) -> types.BatchJob:
        config: Any = {"http_options": http_options(self._timeout_s)}
        return await self._call(self._client.aio.batches.get(name=remote_id, config=config))

    async def _upload(self, lines: Sequence[BatchLine], display_name: str) -> str:
        data = b"".join(_file_line(line) for line in lines)
        config: Any = {
            "mime_type": _FILE_MIME_TYPE,
            "display_name": display_name,
            "http_options": http_options(TRANSFER_TIMEOUT_S),
        }
        upload = self._client.aio.files.upload(file=io.BytesIO(data), config=config)
        uploaded = await self._call(upload, TRANSFER_TIMEOUT_S)
        return str(uploaded.name)

    async def _call(self, request: Awaitable[_T], timeout_s: float | None = None) -> _T:
        """Await an SDK call with the live backend's error mapping (`timeout_s`: the call's own
        timeout, for messages; the job-management timeout by default)."""
        return await self._backend.send(request, self._timeout_s if timeout_s is None else timeout_s)


def _file_line(line: BatchLine) -> bytes:
    """One line of a JSONL input file: the request under its key."""
    return (
        json.dumps({"key": line.key, "request": line.body}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    )


def _file_line_size(line: BatchLine) -> int:
    return len(_file_line(line))


def _inlined_request(model: str, line: BatchLine) -> types.InlinedRequest:
    """A REST body as the SDK's InlinedRequest, which the SDK turns back into the same body.

    The request-level fields (systemInstruction, tools, ...) and generationConfig's all live in
    the SDK's one GenerateContentConfig, under the same camelCase names. Validated from JSON so
    base64 thought signatures decode to the bytes the SDK re-encodes.
    """
    body = dict(line.body)
    contents = body.pop("contents")
    config = {**body.pop("generationConfig", {}), **body}
    inline = {"model": model, "contents": contents, "config": config, "metadata": {"key": line.key}}
    return types.InlinedRequest.model_validate_json(json.dumps(inline))


def _line_result(response: types.InlinedResponse) -> LineResult | None:
    """One request's outcome; None when the response carries no key to match it by."""
    key = (response.metadata or {}).get("key")
    if key is None:
        return None
    if response.error is not None:
        return LineResult(key, error=f"{response.error.code} {response.error.message or ''}".strip())
    if response.response is None:
        return LineResult(key, error="the batch sent neither a response nor an error")
    return LineResult(key, response=to_backend_response(response.response))


def _file_result(text: str) -> LineResult | None:
    """One line of a result file (`{"key", "response"}` or `{"key", "error"}`), read as the SDK
    reads an inline response."""
    obj = json.loads(text)
    status = obj.get("error") or obj.get("status")  # a google.rpc.Status either way
    # Its `details` are typed objects the SDK's JobError (a list of strings) cannot hold.
    error = {k: status.get(k) for k in ("code", "message")} if isinstance(status, dict) else None
    raw = {"response": obj.get("response"), "error": error, "metadata": {"key": obj.get("key")}}
    converted = genai_batches._InlinedResponse_from_mldev({k: v for k, v in raw.items() if v is not None})
    return _line_result(types.InlinedResponse._from_response(response=converted, kwargs={}))


def _remote_job(job: types.BatchJob) -> RemoteJob:
    state = str(getattr(job.state, "value", job.state or "JOB_STATE_UNSPECIFIED"))
    detail = state + (f": {job.error.message}" if job.error is not None and job.error.message else "")
    # An unknown state is taken as still running: polling on is safe, collecting early is not.
    return RemoteJob(
        remote_id=str(job.name),
        state=_STATES.get(state, "running"),
        display_name=job.display_name,
        detail=detail,
    )
