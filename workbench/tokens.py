"""Token estimates for sizing prompts before they are sent: one rule for every pipeline.

    estimate_tokens("Hello there")   # 3

A low module (it imports nothing of the workbench), so generation and the audit size texts the
same way without either importing the other. Nothing is billed by these figures: the ledger
records what the provider counted.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4  # a rough average for English; prompts are sized by it, nothing is billed by it


def estimate_tokens(text: str) -> int:
    """Tokens a text is expected to take (characters / 4, rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
