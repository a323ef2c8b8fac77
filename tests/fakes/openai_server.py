"""A fake OpenAI-compatible chat completions server (as vLLM, Ollama or llama.cpp serve it).

Serves `POST /v1/chat/completions`: `messages`, sampling params and
`response_format={"type": "json_schema", ...}` in; `choices[0].message.{content, refusal}`,
`finish_reason` and `usage` out; `{"error": {"message", "type", "param", "code"}}` for faults.
A prompt-level `Safety` reply is a 400 with code "content_filter", as Azure OpenAI sends it.
Native tools: `tools` and `tool` messages in; a `ToolCalls` reply is rendered as
`message.tool_calls` (ids `call_id_for`, JSON-string arguments) with finish reason "tool_calls".

Batch API (tests/fakes/batch_jobs.py has the job lifecycle): `POST /v1/files` (multipart, purpose
batch) and `GET /v1/files/{id}/content`; `POST /v1/batches` on an uploaded JSONL file of
`{"custom_id", "method", "url", "body"}` lines, `GET /v1/batches/{id}`, `GET /v1/batches`,
`POST /v1/batches/{id}/cancel`. A finished batch has an output file (200 answers) and an error file
(other statuses, and `batch_expired` / `batch_cancelled` errors for the lines it never ran).

    with FakeOpenAIServer() as server:
        client = openai.AsyncOpenAI(api_key="k", base_url=server.base_url)   # .../v1
"""

from __future__ import annotations

import json
import re
import time
import uuid
from email import policy
from email.parser import BytesParser
from typing import Any

from tests.fakes.batch_jobs import BatchJobs, BatchScripting, FakeBatchJob
from tests.fakes.http_base import FakeHTTPServer, HttpResponse, fault_response, json_response
from tests.fakes.rules import (
    Answer,
    FakeRequest,
    Fault,
    Malformed,
    Refusal,
    Safety,
    Text,
    ToolCalls,
    as_text,
    tokens_for,
)

_BATCH = re.compile(r"^/v1/batches/batch_(?P<id>[^/]+?)(?P<cancel>/cancel)?$")
_FILE_CONTENT = re.compile(r"^/v1/files/(?P<id>[^/]+)/content$")
_BATCH_STATUS = {
    "pending": "validating",
    "running": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "expired": "expired",
}

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The body of an OpenAI API error."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _text_of(content: Any) -> str:
    """Message content: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def call_id_for(name: str, index: int) -> str:
    """The id the fake gives call `index` of tool `name`."""
    return f"call_{index}_{name}"


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    functions = [t.get("function", {}) for t in body.get("tools") or [] if t.get("type") == "function"]
    return [
        {"name": f.get("name"), "description": f.get("description"), "parameters": f.get("parameters")}
        for f in functions
    ]


def parse_request(path: str, body: dict[str, Any], api_key: str | None, attempt: int) -> FakeRequest:
    """Turn a chat completions body into a protocol-neutral `FakeRequest`."""
    system_parts = [
        _text_of(m.get("content")) for m in body.get("messages", []) if m.get("role") in ("system", "developer")
    ]
    messages = [
        (m["role"], _text_of(m.get("content")))
        for m in body.get("messages", [])
        if m.get("role") in ("user", "assistant", "tool")
    ]
    response_format = body.get("response_format") or {}
    schema = (
        (response_format.get("json_schema") or {}).get("schema")
        if response_format.get("type") == "json_schema"
        else None
    )
    params = {k: body[k] for k in ("temperature", "top_p", "seed") if body.get(k) is not None}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        params["max_output_tokens"] = max_tokens
    return FakeRequest(
        path=path,
        model=str(body.get("model", "")),
        system="\n\n".join(system_parts) if system_parts else None,
        messages=messages,
        json_schema=schema,
        params=params,
        attempt=attempt,
        api_key=api_key,
        body=body,
        tools=_tools(body),
    )


class FakeOpenAIServer(BatchScripting, FakeHTTPServer):
    """An OpenAI-compatible server on 127.0.0.1. `base_url` ends in /v1, like vLLM's."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs = BatchJobs(self._answer_line)
        self.files = {}

    @property
    def base_url(self) -> str:
        """The URL for `AsyncOpenAI(base_url=...)` and `openai:MODEL@URL` specs."""
        return f"{self.root_url}/v1"

    def spec(self, model: str = "fake-model") -> str:
        """A model spec string pointing at this server."""
        return f"openai:{model}@{self.base_url}"

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> HttpResponse:
        """Answer one HTTP request in the OpenAI protocol."""
        route = path.split("?", 1)[0]
        batch = self._respond_batch(method, route, headers, body)
        if batch is not None:
            return batch
        if method != "POST" or not route.endswith("/chat/completions"):
            return json_response(404, openai_error(404, f"{method} {route} is not served by the fake"))
        try:
            data = json.loads(body)
        except ValueError:
            return json_response(400, openai_error(400, "We could not parse the JSON body of your request."))
        auth = headers.get("Authorization") or ""
        api_key = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        request = parse_request(route, data, api_key, self.engine.attempt_of(route, body))
        return self._render(request, self.engine.decide(request))

    def _render(self, request: FakeRequest, reply: Answer) -> HttpResponse:
        if isinstance(reply, Fault):
            return fault_response(reply, openai_error)
        if isinstance(reply, Safety) and reply.prompt:
            message = f"The prompt was filtered by the content policy ({reply.reason})."
            return json_response(400, openai_error(400, message, code="content_filter"))
        if isinstance(reply, Malformed):
            reply = Text(reply.text)
        content: str | None
        refusal = None
        tool_calls = None
        if isinstance(reply, ToolCalls):
            tool_calls = [
                {
                    "id": call_id_for(name, i),
                    "type": "function",
                    "function": {"name": name, "arguments": reply.arguments_json(i)},
                }
                for i, (name, _) in enumerate(reply.calls)
            ]
            finish = "tool_calls" if tool_calls else "stop"
            content, tool_calls, thinking = reply.text or None, tool_calls or None, None
            tokens_in, tokens_out = tokens_for(request, as_text(reply))
        elif isinstance(reply, Safety):
            content, finish, thinking = None, "content_filter", None
            tokens_in, tokens_out = tokens_for(request, Text(""))[0], 0
        elif isinstance(reply, Refusal):
            content, refusal, finish, thinking = None, reply.text, "stop", None
            tokens_in, tokens_out = tokens_for(request, Text(reply.text))
        else:
            content, finish, thinking = reply.text, reply.finish, reply.thinking_tokens
            tokens_in, tokens_out = tokens_for(request, reply)
        # OpenAI counts reasoning inside completion_tokens and details it separately.
        completion = tokens_out + (thinking or 0)
        usage: dict[str, Any] = {
            "prompt_tokens": tokens_in,
            "completion_tokens": completion,
            "total_tokens": tokens_in + completion,
        }
        if thinking is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": thinking}
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "tool_calls": tool_calls},
            "finish_reason": finish,
            "logprobs": None,
        }
        return json_response(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.model,
                "choices": [choice],
                "usage": usage,
            },
        )

    # --- the Batch API and files ------------------------------------------------------------

    def _respond_batch(self, method: str, route: str, headers: Any, body: bytes) -> HttpResponse | None:
        """Answer a batch or file request; None for any other route."""
        if route == "/v1/files" and method == "POST":
            return self._upload(headers, body)
        if match := _FILE_CONTENT.match(route):
            data = self.files.get(match["id"])
            if data is None:
                return json_response(404, openai_error(404, f"No such File object: {match['id']}"))
            return 200, {"Content-Type": "application/octet-stream"}, data
        if route == "/v1/batches":
            if method == "POST":
                return self._create_batch(json.loads(body))
            batches = [self._batch(self.jobs.read(job, False)) for job in reversed(self.jobs.jobs)]  # newest first
            return json_response(200, {"object": "list", "data": batches, "has_more": False})
        if match := _BATCH.match(route):
            job = self.jobs.find(match["id"])
            if job is None:
                return json_response(404, openai_error(404, f"No such Batch object: batch_{match['id']}"))
            if match["cancel"]:
                self.jobs.cancel(job)
                return json_response(200, self._batch(self.jobs.read(job, False)))
            return json_response(200, self._batch(self.jobs.read(job)))
        return None

    def _upload(self, headers: Any, body: bytes) -> HttpResponse:
        """A multipart/form-data upload: `purpose` and `file` fields."""
        head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
        form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        fields = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
        data = fields["file"].get_payload(decode=True)
        assert isinstance(data, bytes), "the file field of an upload is a single part"
        file_id = f"file-{uuid.uuid4().hex[:12]}"
        self.files[file_id] = data
        purpose = str(fields["purpose"].get_content()).strip()
        return json_response(200, _file_object(file_id, len(data), fields["file"].get_filename(), purpose))

    def _create_batch(self, data: dict[str, Any]) -> HttpResponse:
        file_id = data["input_file_id"]
        text = self.files[file_id].decode()
        lines = [(obj["custom_id"], obj["body"]) for obj in map(json.loads, text.splitlines()) if obj]
        model = str(lines[0][1].get("model", "")) if lines else ""
        job = self.jobs.create(model, lines, source="file", file=file_id, metadata=data.get("metadata") or {})
        return json_response(200, self._batch(job))

    def _answer_line(self, job: FakeBatchJob, key: str, body: dict[str, Any]) -> HttpResponse:
        """One line of a job, answered by the rule and rendered as a live chat completion reply."""
        path = f"/v1/batches/batch_{job.id}"
        request = parse_request(
            path, body, None, self.engine.attempt_of(path, json.dumps(body, sort_keys=True).encode())
        )
        return self._render(request, self.engine.decide(request))

    def _batch(self, job: FakeBatchJob) -> dict[str, Any]:
        """The job as an OpenAI Batch object (its result files written once it is final)."""
        answers = job.answers or []
        completed = sum(1 for _, (status, _, _) in answers if status == 200)
        batch: dict[str, Any] = {
            "id": f"batch_{job.id}",
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": job.file,
            "completion_window": "24h",
            "status": _BATCH_STATUS[job.state],
            "output_file_id": None,
            "error_file_id": None,
            "created_at": 0,
            "request_counts": {"total": len(job.lines), "completed": completed, "failed": len(answers) - completed},
            "metadata": job.metadata,
        }
        if job.state == "failed":
            error = {"code": "invalid_request", "message": "the fake batch failed", "line": None, "param": None}
            batch["errors"] = {"object": "list", "data": [error]}
        elif job.answers is not None:
            batch.update(self._result_files(job))
        return batch

    def _result_files(self, job: FakeBatchJob) -> dict[str, str | None]:
        """Write the output file (200 answers) and the error file (the rest) of a final job."""
        answers = job.answers or []
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i, (key, (status, _, payload)) in enumerate(answers):
            try:
                body: Any = json.loads(payload)
            except ValueError:  # a Fault with a literal, non-JSON body
                body = payload.decode()
            line = {"id": f"batch_req_{i}", "custom_id": key, "response": {"status_code": status, "body": body}}
            (output if status == 200 else errors).append({**line, "error": None})
        code = f"batch_{job.state}"  # batch_expired, batch_cancelled
        for key, _ in job.lines[len(answers) :]:
            error = {"code": code, "message": f"This request could not be executed before the batch was {job.state}."}
            errors.append({"id": f"batch_req_{key}", "custom_id": key, "response": None, "error": error})
        files: dict[str, str | None] = {}
        for field, lines in (("output_file_id", output), ("error_file_id", errors)):
            file_id = f"file-{job.id}-{field.split('_')[0]}" if lines else None
            if file_id is not None:
                self.files[file_id] = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
            files[field] = file_id
        return files


def _file_object(file_id: str, size: int, filename: str | None, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": filename or "upload",
        "purpose": purpose,
        "status": "processed",
    }
