"""Schema-constrained decoding in the `hf` backend, on the tiny random model (tests/tiny_model.py).

A random model left free writes gibberish; under a schema's grammar even it can only write
schema-valid JSON, which makes it a sharp test of the logits processor: any row the grammar did
not hold would fail to parse. (The real model's answers are checked in test_real_model.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from tests.test_backend_hf import ask
from workbench.generate.schemas import ExampleRating
from workbench.llm.backends import hf_grammar
from workbench.llm.backends.hf_grammar import MIN_STRING_CHARS, cap_strings
from workbench.llm.structured import json_schema_for
from workbench.llm.types import LLMRequest, SamplingParams


class Verdict(BaseModel):
    label: Literal["keep", "drop"]
    rows: list[int] = Field(max_length=3)


SAMPLED = SamplingParams(temperature=1.0, max_output_tokens=200, seed=3)


def test_rows_with_different_schemas_or_none_share_a_batch_and_each_obeys_its_own(tiny_model_path: Path) -> None:
    rating, verdict = json_schema_for(ExampleRating), json_schema_for(Verdict)
    requests = [LLMRequest.from_prompt(f"Rate example {i}.", params=SAMPLED) for i in range(5)]
    schemas = [rating, verdict, None, rating, verdict]

    responses = ask_with_schemas(tiny_model_path, requests, schemas)

    for response, schema in zip(responses, schemas, strict=True):
        if schema is None:
            with pytest.raises(ValueError):  # the free row is the random model's gibberish
                json.loads(response.text)
            continue
        assert response.finish_reason == "stop", response.text
        model = ExampleRating if schema is rating else Verdict
        model.model_validate_json(response.text)


def ask_with_schemas(path: Path, requests: list[LLMRequest], schemas: list[dict[str, Any] | None]) -> list[Any]:
    """Like `ask`, but each request with its own schema (all sent together, so one batch)."""
    import asyncio

    from tests.test_backend_hf import opened, run

    async def main() -> list[Any]:
        async with opened(path, batch_size=len(requests)) as backend:
            return list(await asyncio.gather(*(backend.generate(r, s) for r, s in zip(requests, schemas, strict=True))))

    return run(main(), timeout=120)


def test_a_schema_is_compiled_once_per_budget(tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    original = hf_grammar.xgr.GrammarCompiler.compile_json_schema

    def spy(self: Any, schema: str, **kwargs: Any) -> Any:
        compiled.append(schema)
        return original(self, schema, **kwargs)

    monkeypatch.setattr(hf_grammar.xgr.GrammarCompiler, "compile_json_schema", spy)
    requests = [LLMRequest.from_prompt(f"q{i}", params=SAMPLED) for i in range(3)]

    ask(tiny_model_path, *requests, schema=json_schema_for(Verdict))

    assert len(compiled) == 1


def test_free_strings_get_a_length_that_fits_the_budget_and_bounded_ones_are_left_alone() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": ["string", "null"]},
            "c": {"type": "string", "enum": ["x", "y"]},
            "d": {"type": "string", "maxLength": 5},
            "e": {"type": "array", "items": {"$ref": "#/$defs/Note"}},
        },
        "$defs": {"Note": {"type": "object", "properties": {"text": {"type": "string"}}}},
    }

    capped = cap_strings(schema, max_new_tokens=300)

    fifty = r'^[^"\\\x00-\x1f]{0,50}$'  # 300 // (2 * three free strings) plain characters
    assert capped["properties"]["a"]["pattern"] == capped["properties"]["b"]["pattern"] == fifty
    assert capped["$defs"]["Note"]["properties"]["text"]["pattern"] == fifty
    assert "pattern" not in capped["properties"]["c"] and "pattern" not in capped["properties"]["d"]
    assert "pattern" not in schema["properties"]["a"]  # the caller's schema is not changed
    assert cap_strings(schema, max_new_tokens=10)["properties"]["a"]["pattern"].endswith(f"{{0,{MIN_STRING_CHARS}}}$")
    assert re.fullmatch(fifty, "plain text, 'quoted' and caf\u00e9") and not re.fullmatch(fifty, 'a "quote"')
