"""JSON-schema-constrained decoding for the `hf` backend, with xgrammar.

    grammars = SchemaGrammars(tokenizer, vocab_size=model.config.vocab_size, stop_token_ids=eos_ids)
    processor = grammars.processor([schema_a, None, schema_b], max_new_tokens=256)  # one schema per row
    model.generate(**encoded, logits_processor=LogitsProcessorList([processor]))

At every step xgrammar computes, per row, the set of tokens that keep the text a valid prefix of
a JSON document matching the row's schema (a bitmask over the vocabulary), and the processor
sets every other token's logit to -inf; once the document is complete only a stop token (EOS) is
allowed. So a constrained row ends as schema-valid JSON unless it runs out of
`max_output_tokens` first (the gateway then sees a truncated answer).

Running out is what a small model does when left free inside a string: it repeats itself
("1.1.1.1…") until the budget is gone. So each free-form string of the schema (no maxLength,
enum, const, pattern or format of its own) is capped to leave room in the token budget: half of
`max_new_tokens` shared among those strings, at least `MIN_STRING_CHARS` characters (a token
is rarely less than one character, so a string seldom takes more tokens than characters). The cap is a
`pattern` of at most that many plain characters (no quote, backslash or control character), not
a `maxLength`: xgrammar 0.2's maxLength rule lets control characters into the string, which makes
invalid JSON. Anything the capped grammar allows also validates against the original schema.
Arrays are not capped, so a schema with open-ended lists (of strings especially) can still run
out of tokens: give such calls a generous `max_output_tokens`.

Rows are independent: each has its own matcher and schema, and a row without a schema (None)
is left alone, so requests with different schemas, or none, share one batch. A schema is
compiled once per tokenizer (`SchemaGrammars` lives as long as the loaded model) and reused.

The JSON is compact (`any_whitespace=False`): free whitespace lets a small model pad with
newlines until it runs out of tokens. xgrammar was chosen over llguidance and outlines because it
is what vLLM and SGLang use, ships CPU wheels, and is fast on a CPU: about 0.01 ms per row and
step to fill SmolLM2's 49k-token mask (measured on 2 cores), 0.4 s to compile a rating schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

MIN_STRING_CHARS = 16
# Keywords that already bound a string, or say which strings are allowed.
_BOUNDED_STRING = ("maxLength", "enum", "const", "pattern", "format")
_PLAIN_CHARS = r'^[^"\\\x00-\x1f]'  # characters a JSON string holds unescaped


class SchemaGrammars:
    """Compiled JSON-schema grammars for one tokenizer, each schema compiled once.

    Args:
        tokenizer: The model's transformers tokenizer.
        vocab_size: Rows of the model's output layer (may exceed the tokenizer's vocabulary).
        stop_token_ids: The tokens that end generation (the backend's EOS set): the only ones
            allowed once the JSON is complete.
    """

    def __init__(self, tokenizer: Any, *, vocab_size: int, stop_token_ids: Sequence[int]) -> None:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop_token_ids))
        self._compiler = xgr.GrammarCompiler(info)
        self._compiled: dict[str, xgr.CompiledGrammar] = {}
        self.vocab_size = vocab_size

    def compile(self, schema: dict[str, Any], max_new_tokens: int) -> xgr.CompiledGrammar:
        """The grammar of `schema` with its strings capped for this token budget, compiled on first use."""
        key = json.dumps(cap_strings(schema, max_new_tokens), sort_keys=True)
        if key not in self._compiled:
            self._compiled[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
        return self._compiled[key]

    def processor(self, schemas: Sequence[dict[str, Any] | None], *, max_new_tokens: int) -> SchemaLogitsProcessor:
        """A logits processor for one `generate` call whose batch rows have these schemas (None: free)."""
        grammars = [None if s is None else self.compile(s, max_new_tokens) for s in schemas]
        return SchemaLogitsProcessor(grammars, self.vocab_size)


def cap_strings(schema: dict[str, Any], max_new_tokens: int) -> dict[str, Any]:
    """A copy of `schema` whose free-form strings have a length cap that fits `max_new_tokens` (module docstring)."""
    free = _free_strings(schema)
    if not free:
        return schema
    limit = max(MIN_STRING_CHARS, max_new_tokens // (2 * len(free)))
    capped: dict[str, Any] = json.loads(json.dumps(schema))  # a deep copy; the caller's schema is shared
    for node in _free_strings(capped):
        node["pattern"] = _PLAIN_CHARS + f"{{0,{limit}}}$"
    return capped


def _free_strings(node: Any) -> list[dict[str, Any]]:
    """Every schema node (however deep, `$defs` included) that is an unbounded string."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        kind = node.get("type")
        if (kind == "string" or (isinstance(kind, list) and "string" in kind)) and not any(
            k in node for k in _BOUNDED_STRING
        ):
            found.append(node)
        for value in node.values():
            found += _free_strings(value)
    elif isinstance(node, list):
        for value in node:
            found += _free_strings(value)
    return found


class SchemaLogitsProcessor(LogitsProcessor):
    """Masks each constrained row's logits to the tokens its grammar allows next.

    For one `generate` call only: matchers follow the rows from the first step, so a new call
    needs a new processor.
    """

    def __init__(self, grammars: Sequence[xgr.CompiledGrammar | None], vocab_size: int) -> None:
        self._matchers = {row: xgr.GrammarMatcher(g) for row, g in enumerate(grammars) if g is not None}
        self._bitmask = xgr.allocate_token_bitmask(len(grammars), vocab_size)
        self._vocab_size = vocab_size
        self._started = False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Advance each row's matcher by the token chosen last step, then mask this step's logits."""
        masked = []
        for row, matcher in self._matchers.items():
            # The previous step's mask allowed only grammatical tokens, so accepting cannot fail
            # unless something after this processor changed the choice.
            chosen = int(input_ids[row, -1])
            if self._started and not matcher.is_terminated() and not matcher.accept_token(chosen):
                raise RuntimeError(f"row {row}: the chosen token {chosen} breaks its grammar")
            # A terminated row has emitted its stop token; generate pads it from now on.
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self._bitmask, row)
                masked.append(row)
        self._started = True
        if masked:
            bitmask = self._bitmask.to(scores.device)
            xgr.apply_token_bitmask_inplace(scores, bitmask, vocab_size=self._vocab_size, indices=masked)
        return scores
