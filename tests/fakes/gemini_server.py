"""A fake Gemini API server (generativelanguage REST) for the real google-genai client.

Serves `POST /{version}/models/{model}:generateContent` with the JSON the SDK sends and parses:
`contents`, `systemInstruction`, `generationConfig` (incl. `responseJsonSchema`) in;
`candidates[].content.parts[].text`, `candidates[].finishReason`, `promptFeedback.blockReason`,
`usageMetadata` out, and `{"error": {"code", "message", "status"}}` for faults. Native tools:
`tools[].functionDeclarations` and `functionResponse` parts in; a `ToolCalls` reply is rendered
as `functionCall` parts, each with a `thoughtSignature` (`signature_for`), as Gemini 3 sends them.

Also serves `POST /{version}/models/{model}:batchEmbedContents`, what the SDK's `embed_content`
sends for the Gemini API: `requests[].content.parts[].text` in, `embeddings[].values` out. The
vectors are feature-hashed bags of lower-cased words (`fake_embedding`): deterministic, similar
for texts sharing most words, near-orthogonal for unrelated ones. The rule is consulted as for
generation, so a `Fault` fails the request; any other reply means "answer with the vectors".

Batch API (tests/fakes/batch_jobs.py has the job lifecycle): `POST models/{m}:batchGenerateContent`
with inline `requests` (each `{"request", "metadata": {"key"}}`) or an uploaded `fileName`;
`GET batches/{id}`, `GET batches`, `POST batches/{id}:cancel` answer long-running operations whose
`metadata.state` is `BATCH_STATE_*` and whose `metadata.output` holds `inlinedResponses` or a
`responsesFile` of `{"key", "response" | "error"}` lines. Files: the SDK's resumable upload
(`POST upload/{v}/files`, start then `upload, finalize` commands) and `GET files/{id}:download`.

    with FakeGeminiServer() as server:
        server.rule = lambda req: Text("hi")
        client = genai.Client(api_key="k", http_options=HttpOptions(base_url=server.base_url))
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.batch_jobs import BatchJobs, BatchScripting, FakeBatchJob, Line
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
    count_tokens,
    tokens_for,
)

_GENERATE = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):generateContent$")
_EMBED = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):batchEmbedContents$")
_BATCH_CREATE = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):batchGenerateContent$")
_BATCH = re.compile(r"^/(?P<version>[^/]+)/batches/(?P<id>[^/:]+)(?P<cancel>:cancel)?$")
_BATCH_LIST = re.compile(r"^/(?P<version>[^/]+)/batches$")
_UPLOAD = re.compile(r"^/upload/(?P<version>[^/]+)/files$")
_DOWNLOAD = re.compile(r"^/(?P<version>[^/]+)/files/(?P<name>[^/:]+):download$")
_WORD = re.compile(r"\w+")
EMBEDDING_DIMS = 64

# google.rpc.Code names the real API puts in error.status.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}

_BLOCKED_RATING = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]


def gemini_error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The body of a Gemini API error."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def _text_of(content: dict[str, Any] | None) -> str:
    return "".join(part.get("text", "") for part in (content or {}).get("parts", []))


def signature_for(name: str, index: int) -> str:
    """The thought signature (base64) the fake puts on call `index` of tool `name`."""
    return base64.b64encode(f"signature:{name}:{index}".encode()).decode("ascii")


def _messages(contents: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) per content; each functionResponse part is a ("tool", output) turn of its own."""
    messages = []
    for content in contents:
        results = [p["functionResponse"] for p in content.get("parts", []) if "functionResponse" in p]
        if results:
            messages += [("tool", str(r.get("response", {}).get("output", ""))) for r in results]
        else:
            messages.append(("assistant" if content.get("role") == "model" else "user", _text_of(content)))
    return messages


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    declarations = [d for tool in body.get("tools", []) for d in tool.get("functionDeclarations", [])]
    return [
        {
            "name": d.get("name"),
            "description": d.get("description"),
            # The SDK sends the proto field name; the API takes it or its camelCase form.
            "parameters": d.get("parametersJsonSchema", d.get("parameters_json_schema", d.get("parameters"))),
        }
        for d in declarations
    ]


def parse_request(path: str, model: str, body: dict[str, Any], api_key: str | None, attempt: int) -> FakeRequest:
    """Turn a generateContent body into a protocol-neutral `FakeRequest`."""
    config = body.get("generationConfig", {})
    names = {
        "temperature": "temperature",
        "topP": "top_p",
        "maxOutputTokens": "max_output_tokens",
        "seed": "seed",
    }
    system = _text_of(body["systemInstruction"]) if "systemInstruction" in body else None
    messages = _messages(body.get("contents", []))
    return FakeRequest(
        path=path,
        model=model,
        system=system,
        messages=messages,
        json_schema=config.get("responseJsonSchema", config.get("responseSchema")),
        params={names[k]: v for k, v in config.items() if k in names},
        attempt=attempt,
        api_key=api_key,
        body=body,
        tools=_tools(body),
    )


def parse_embed_request(path: str, model: str, body: dict[str, Any], api_key: str | None, attempt: int) -> FakeRequest:
    """Turn a batchEmbedContents body into a `FakeRequest`: one user message per text."""
    texts = [_text_of(r.get("content")) for r in body.get("requests", [])]
    return FakeRequest(
        path=path,
        model=model,
        system=None,
        messages=[("user", text) for text in texts],
        json_schema=None,
        params={},
        attempt=attempt,
        api_key=api_key,
        body=body,
    )


def fake_embedding(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A deterministic stand-in embedding: each lower-cased word adds ±1 to a hashed dimension.

    Not normalised (like Gemini's vectors below 3072 dimensions); the empty text is all zeros.
    """
    vector = [0.0] * dims
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dims] += 1.0 if digest[4] % 2 else -1.0
    return vector


class FakeGeminiServer(BatchScripting, FakeHTTPServer):
    """A Gemini API on 127.0.0.1. `base_url` is what `HttpOptions(base_url=...)` or
    `GOOGLE_GEMINI_BASE_URL` should be set to."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs = BatchJobs(self._answer_line)
        self.files = {}
        self._uploads: dict[str, bytearray] = {}

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> HttpResponse:
        """Answer one HTTP request in the Gemini protocol."""
        route = path.split("?", 1)[0]
        batch = self._respond_batch(method, route, path, headers, body)
        if batch is not None:
            return batch
        match = _GENERATE.match(route) or _EMBED.match(route)
        if method != "POST" or match is None:
            return json_response(404, gemini_error(404, f"{method} {route} is not served by the fake"))
        try:
            data = json.loads(body)
        except ValueError:
            return json_response(400, gemini_error(400, "Invalid JSON payload received."))
        attempt = self.engine.attempt_of(route, body)
        key = headers.get("x-goog-api-key")
        if match.re is _EMBED:
            request = parse_embed_request(route, match["model"], data, key, attempt)
            return self._render_embeddings(request, self.engine.decide(request))
        request = parse_request(route, match["model"], data, key, attempt)
        return self._render(request, self.engine.decide(request))

    def _render_embeddings(self, request: FakeRequest, reply: Answer) -> HttpResponse:
        if isinstance(reply, Fault):
            return fault_response(reply, gemini_error)
        texts = [text for _, text in request.messages]
        dims = [r.get("outputDimensionality") or EMBEDDING_DIMS for r in request.body.get("requests", [])]
        tokens = sum(count_tokens(text) for text in texts)
        return json_response(
            200,
            {
                "embeddings": [{"values": fake_embedding(t, d)} for t, d in zip(texts, dims, strict=True)],
                "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens},
            },
        )

    def _render(self, request: FakeRequest, reply: Answer) -> HttpResponse:
        if isinstance(reply, Fault):
            return fault_response(reply, gemini_error)
        parts: list[dict[str, Any]] = []
        if isinstance(reply, ToolCalls):
            parts = [{"text": reply.text}] if reply.text else []
            parts += [
                {"functionCall": {"name": name, "args": args}, "thoughtSignature": signature_for(name, i)}
                for i, (name, args) in enumerate(reply.calls)
            ]
            reply = as_text(reply)
        if isinstance(reply, Refusal):  # Gemini has no refusal field: a refusal is just text
            reply = Text(reply.text)
        if isinstance(reply, Malformed):
            reply = Text(reply.text)
        prompt_tokens = tokens_for(request, Text(""))[0]
        if isinstance(reply, Safety):
            usage = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
            if reply.prompt:
                feedback = {"blockReason": reply.reason, "safetyRatings": _BLOCKED_RATING}
                return json_response(200, {"promptFeedback": feedback, "usageMetadata": usage})
            candidate = {"finishReason": reply.reason, "index": 0, "safetyRatings": _BLOCKED_RATING}
            return json_response(200, {"candidates": [candidate], "usageMetadata": usage})
        tokens_in, tokens_out = tokens_for(request, reply)
        usage = {
            "promptTokenCount": tokens_in,
            "candidatesTokenCount": tokens_out,
            "totalTokenCount": tokens_in + tokens_out + (reply.thinking_tokens or 0),
        }
        if reply.thinking_tokens is not None:
            usage["thoughtsTokenCount"] = reply.thinking_tokens
        candidate = {
            "content": {"parts": parts or [{"text": reply.text}], "role": "model"},
            "finishReason": _FINISH.get(reply.finish, reply.finish),
            "index": 0,
        }
        return json_response(
            200,
            {
                "candidates": [candidate],
                "usageMetadata": usage,
                "modelVersion": request.model,
                "responseId": uuid.uuid4().hex,
            },
        )

    # --- the Batch API and files ------------------------------------------------------------

    def _respond_batch(self, method: str, route: str, path: str, headers: Any, body: bytes) -> HttpResponse | None:
        """Answer a batch or file request; None for any other route."""
        if (match := _BATCH_CREATE.match(route)) and method == "POST":
            return self._create_batch(match["model"], json.loads(body))
        if match := _BATCH.match(route):
            job = self.jobs.find(match["id"])
            if job is None:
                return json_response(404, gemini_error(404, f"batches/{match['id']} not found"))
            if match["cancel"]:
                self.jobs.cancel(job)
                return json_response(200, {})
            return json_response(200, self._operation(self.jobs.read(job)))
        if _BATCH_LIST.match(route):
            return json_response(
                200, {"operations": [self._operation(self.jobs.read(j, False)) for j in self.jobs.jobs]}
            )
        if _UPLOAD.match(route) and method == "POST":
            return self._upload(path, headers, body)
        if match := _DOWNLOAD.match(route):
            data = self.files.get(f"files/{match['name']}")
            if data is None:
                return json_response(404, gemini_error(404, f"files/{match['name']} not found"))
            return 200, {"Content-Type": "application/octet-stream"}, data
        return None

    def _create_batch(self, model: str, data: dict[str, Any]) -> HttpResponse:
        batch = data.get("batch", {})
        source = batch.get("inputConfig", {})
        lines: list[Line]
        if "fileName" in source:
            text = self.files[source["fileName"]].decode()
            lines = [(obj["key"], obj["request"]) for obj in map(json.loads, text.splitlines()) if obj]
        else:
            inlined = source.get("requests", {}).get("requests", [])
            lines = [(r.get("metadata", {}).get("key", str(i)), r["request"]) for i, r in enumerate(inlined)]
        kind = "file" if "fileName" in source else "inline"
        job = self.jobs.create(
            model, lines, source=kind, display_name=batch.get("displayName"), file=source.get("fileName")
        )
        return json_response(200, self._operation(job))

    def _answer_line(self, job: FakeBatchJob, key: str, body: dict[str, Any]) -> HttpResponse:
        """One line of a job, answered by the rule and rendered as a live generateContent reply."""
        path = f"/v1beta/batches/{job.id}"
        attempt = self.engine.attempt_of(path, json.dumps(body, sort_keys=True).encode())
        request = parse_request(path, job.model, body, None, attempt)
        return self._render(request, self.engine.decide(request))

    def _operation(self, job: FakeBatchJob) -> dict[str, Any]:
        """The job as the long-running operation the Batch API returns."""
        metadata: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
            "name": f"batches/{job.id}",
            "model": f"models/{job.model}",
            "displayName": job.display_name,
            "state": f"BATCH_STATE_{job.state.upper()}",
        }
        if job.answers is not None and job.state != "failed":
            results = [(key, _batch_result(reply)) for key, reply in job.answers]
            if job.source == "inline":
                inlined = [{**result, "metadata": {"key": key}} for key, result in results]
                metadata["output"] = {"inlinedResponses": {"inlinedResponses": inlined}}
            else:
                name = f"files/{job.id}-results"
                self.files[name] = b"".join(json.dumps({"key": k, **r}).encode() + b"\n" for k, r in results)
                metadata["output"] = {"responsesFile": name}
        return {"name": f"batches/{job.id}", "metadata": metadata, "done": job.final}

    def _upload(self, path: str, headers: Any, body: bytes) -> HttpResponse:
        """The resumable upload protocol: `start` returns an upload URL; chunks follow, the last
        with `finalize`, which stores the file."""
        command = headers.get("X-Goog-Upload-Command", "")
        if "start" in command:
            upload_id = uuid.uuid4().hex[:12]
            self._uploads[upload_id] = bytearray()
            url = f"{self.root_url}/upload/v1beta/files?upload_id={upload_id}"
            return 200, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}, b""
        upload_id = parse_qs(urlsplit(path).query)["upload_id"][0]
        self._uploads[upload_id] += body
        if "finalize" not in command:
            return 200, {"X-Goog-Upload-Status": "active"}, b""
        name = f"files/{upload_id}"
        self.files[name] = bytes(self._uploads.pop(upload_id))
        file = {"name": name, "sizeBytes": str(len(self.files[name])), "state": "ACTIVE", "source": "UPLOADED"}
        return json_response(200, {"file": file}, {"X-Goog-Upload-Status": "final"})


def _batch_result(reply: HttpResponse) -> dict[str, Any]:
    """A live reply as one batch result: `{"response": ...}`, or `{"error": {"code", "message"}}`."""
    status, _, payload = reply
    if status == 200:
        return {"response": json.loads(payload)}
    try:
        message = json.loads(payload)["error"]["message"]
    except (ValueError, KeyError, TypeError):  # a Fault with a literal, non-JSON body
        message = payload.decode()
    return {"error": {"code": status, "message": message}}
