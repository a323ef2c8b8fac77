"""Structured output: the JSON schema sent to the model, validation, and the repair turn.

The schema goes to the API so the model is constrained where the backend supports it. The
answer is still validated against the pydantic model; on failure the model gets one repair
turn that shows it the error, and a second failure is recorded as `parse_failed`.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from workbench.llm.types import LLMRequest, Message

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def json_schema_for(schema: type[BaseModel] | None) -> dict[str, Any] | None:
    """The JSON schema of a pydantic model, as sent to the API and hashed into the cache key."""
    return _json_schema(schema) if schema is not None else None


@functools.cache
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    # Generating a schema costs far more than the rest of a call's bookkeeping; do it once per class.
    return schema.model_json_schema()


def parse_answer(text: str, schema: type[BaseModel]) -> tuple[dict[str, Any] | None, str | None]:
    """Validate a model's text against `schema`.

    Returns:
        (the validated object as a dict, None) or (None, a short description of what was wrong).
    """
    # Models sometimes wrap JSON in a Markdown fence even when asked not to; that is not an error.
    match = _FENCE.match(text)
    candidate = match.group(1) if match else text
    try:
        return schema.model_validate_json(candidate).model_dump(mode="json"), None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"])) or "(top level)"
        return None, f"{first['msg']} at {where}" + (f" ({e.error_count()} errors)" if e.error_count() > 1 else "")


def repair_request(request: LLMRequest, bad_text: str, problem: str) -> LLMRequest:
    """The follow-up turn asking the model to correct an answer that failed validation."""
    schema = json.dumps(json_schema_for(request.schema), ensure_ascii=False)
    instruction = (
        f"Your previous reply could not be used: {problem}.\n"
        f"Reply again with only a JSON object that matches this JSON schema, and nothing else:\n{schema}"
    )
    return LLMRequest(
        messages=(*request.messages, Message("assistant", bad_text), Message("user", instruction)),
        system=request.system,
        params=request.params,
        schema=request.schema,
        sample_index=request.sample_index,
        template_hash=request.template_hash,
    )
