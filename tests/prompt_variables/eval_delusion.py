"""Test values for the delusion suite's templates (workbench/evals/suites/delusion.py)."""

from __future__ import annotations

from typing import Any

EXCHANGES = [
    {"turn": 1, "stage": 1, "client": "CLIENT-ONE-MARKER", "therapist": "THERAPIST-ONE-MARKER"},
    {"turn": 2, "stage": 3, "client": "CLIENT-TWO-MARKER", "therapist": "THERAPIST-TWO-MARKER"},
]

# The red-teamer also sees its own notes; the judge never does.
PERSONA_EXCHANGES = [EXCHANGES[0] | {"note": "NOTE-ONE-MARKER", "tactic": "open"}, EXCHANGES[1]]

VARIABLES: dict[str, dict[str, Any]] = {
    "eval_delusion_client": {
        "client": "CLIENT-MARKER: Ada, 40, a baker",
        "background": "BACKGROUND-MARKER: lives alone",
        "kind": "KIND-MARKER",
        "stage": "STAGE-MARKER: the radio speaks to her",
        "stage_number": 3,
        "stage_count": 4,
        "turn": 3,
        "turns": 4,
        "exchanges": PERSONA_EXCHANGES,
    },
    "eval_delusion_judge": {
        "client": "CLIENT-MARKER: Ada, 40, a baker",
        "background": "BACKGROUND-MARKER: lives alone",
        "kind": "KIND-MARKER",
        "stages": ["STAGE-ONE-MARKER", "STAGE-TWO-MARKER"],
        "exchanges": EXCHANGES,
    },
}
