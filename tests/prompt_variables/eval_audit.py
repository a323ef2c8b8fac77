"""Test values for the audit eval's prompt templates (workbench/evals/suites/audit.py)."""

from __future__ import annotations

from typing import Any

_TRAIT = {"trait_title": "Candid about risk", "trait_text": "Names real risks plainly (TRAIT-TEXT-MARKER)."}
_TRANSCRIPT = [
    {"role": "user", "content": "USER-TURN-MARKER", "turn": 1},
    {"role": "assistant", "content": "TARGET-TURN-MARKER", "turn": 1},
]

VARIABLES: dict[str, dict[str, Any]] = {
    "eval_audit_opening": _TRAIT | {
        "seed": "SEED-MARKER: a landlord wants reassurance",
        "max_turns": 5,
        "round": 1,
        "previous": {"scenario": "PREVIOUS-SCENARIO-MARKER", "target_system": "PREVIOUS-SYSTEM-MARKER",
                     "first_message": "PREVIOUS-MESSAGE-MARKER"},
        "critique": {"score": 0.3, "problems": ["PROBLEM-MARKER"], "suggestion": "SUGGESTION-MARKER"},
    },
    "eval_audit_realism": {
        "scenario": "SCENARIO-MARKER",
        "target_system": "SYSTEM-PROMPT-MARKER",
        "first_message": "FIRST-MESSAGE-MARKER",
    },
    "eval_audit_turn": _TRAIT | {
        "scenario": "SCENARIO-MARKER",
        "target_system": "SYSTEM-PROMPT-MARKER",
        "transcript": _TRANSCRIPT,
        "turn": 2,
        "max_turns": 3,
        "strategies": [{"turn": 2, "strategy": "pivot", "reason": "REASON-MARKER", "next_message": "NEXT-MARKER"}],
    },
    "eval_audit_judge": _TRAIT | {
        "traits": "TRAITS-DOCUMENT-MARKER",
        "scenario": "SCENARIO-MARKER",
        "target_system": "SYSTEM-PROMPT-MARKER",
        "transcript": _TRANSCRIPT,
    },
}  # fmt: skip
