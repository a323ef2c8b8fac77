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


class FakeGeminiServer(FakeHTTPServer):
    """A Gemini API on 127.0.0.1. `base_url` is what `HttpOptions(base_url=...)` or
    `GOOGLE_GEMINI_BASE_URL` should be set to."""

    def respond(self, method: str, path: str, headers: Any, body: bytes) -> HttpResponse:
        """Answer one HTTP request in the Gemini protocol."""
        route = path.split("?", 1)[0]
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
