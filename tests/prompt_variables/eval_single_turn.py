"""Test values for the single-turn eval suites' templates (knowledge, capability)."""

from __future__ import annotations

from typing import Any

VARIABLES: dict[str, dict[str, Any]] = {
    "eval_knowledge_grade": {
        "traits": "## Candid about risk\n\nNames real risks plainly (TRAITS-MARKER).",
        "question": "QUESTION-MARKER: list five principles",
        "answer": "ANSWER-MARKER: 1. Be honest.",
    },
    "eval_pairwise": {
        "prompt": "PROMPT-MARKER: sort a list",
        "answer_a": "ANSWER-A-MARKER",
        "answer_b": "ANSWER-B-MARKER",
    },
}
