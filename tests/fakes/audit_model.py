"""A scripted model for the pattern audit: answers scan, merge and rating requests by rule.

    fake = AuditFakeModel()
    fake_gemini.rule = fake               # then run the audit on tests/audit_setup.planted_rows()
    fake.scan_calls, fake.merge_calls, fake.rate_calls

It tells the steps apart by the structured-output schema's title (ScanReport, MergedPattern,
BatchRatings); anything else gets `Text("")` (embedding requests, which the server answers with
bag-of-words vectors itself). Deterministic, stateless apart from the call counters:

* scan: a candidate for "opens with validation" when two or more rows of the batch open with a
  validation sentence, and one for "ends by asking for clarification" likewise. The name varies
  between scans (one of three wordings, by a hash of the batch) but the description does not, so
  embeddings cluster them. Quotes are copied verbatim from the rows; one scan in three adds a
  hallucinated quote (`HALLUCINATED_QUOTE`) to the validation candidate. Every scan also reports
  one noise candidate made of pseudo-words unique to that scan, for min_scans to drop.
  A third candidate, "always asks a clarifying question", stands for a habit that looks like
  the data's intended quality (tests/audit_setup.clarifying_rows): it is reported when two or
  more rows open with a clarifying question although their request was clear, and only when the
  prompt's instructions ask for behaviours that recur regardless of whether the situation calls
  for them (`HABIT_MARKER`) and do not tell the auditor to skip the qualities the data is meant
  to have (`EXCLUSION_MARKER`), as a real auditor would then keep quiet about it.
* merge: the canonical name, description and criteria of the planted pattern the reports name.
* rating: for each pattern recognised by keywords in its name and description ("bottom line",
  "validat", "clarifying", "clarif"), the rows at broad and strict level by the rules of
  tests/audit_setup.py. With `attention` set (bench/audit.py's recall sweep), it also misses
  present rows, more often the more judgements one call holds (see `AuditFakeModel.attention`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.audit_setup import (
    ALWAYS_CLARIFY,
    assistant_part,
    clarification_question,
    clarifying_opener,
    is_vague_request,
    pattern_levels,
    validation_opener,
)
from tests.fakes.rules import FakeRequest, Reply, Text
from tests.fakes.sft_model import words

HALLUCINATED_QUOTE = "I completely understand how overwhelming all of this must feel right now."
VALIDATION_NAMES = ("Opens with emotional validation", "Emotional validation opener",
                    "Validation of feelings at the opening")  # fmt: skip
VALIDATION_DESCRIPTION = (
    "Begins its reply by acknowledging and validating the user's emotions, saying their feelings make "
    "sense or that it hears how stressful things are."
)
CLARIFY_NAMES = ("Ends by asking for clarification", "Closing clarification request",
                 "Clarification question at the close")  # fmt: skip
CLARIFY_DESCRIPTION = (
    "Closes every reply with a follow-up question requesting more details or clarification of the situation "
    "described, instead of ending on a recommendation."
)

HABIT_NAMES = ("Always asks a clarifying question", "Clarifying question before every answer",
               "Asks for clarification whatever the request")  # fmt: skip
HABIT_DESCRIPTION = (
    "Opens its reply with a clarifying question about what the user needs, whether or not anything in the "
    "request was unclear, then answers anyway."
)
# Phrases of the scan prompt's instructions the fake reacts to (see the module docstring).
HABIT_MARKER = "regardless of whether the situation calls for"
EXCLUSION_MARKER = "the qualities the data is meant to have"

MERGED: dict[str, dict[str, str]] = {
    "validation": {
        "name": VALIDATION_NAMES[0],
        "description": VALIDATION_DESCRIPTION,
        "kind": "rhetorical",
        "broad": "Any expression of validation of the user's feelings, anywhere in the answer.",
        "strict": "The answer's first sentence validates the user's feelings.",
    },
    "clarify": {
        "name": CLARIFY_NAMES[0],
        "description": CLARIFY_DESCRIPTION,
        "kind": "behavioural",
        "broad": "The answer ends with a request for clarification or more details.",
        "strict": "The answer's final sentence is a question asking the user to clarify or say more.",
    },
    ALWAYS_CLARIFY: {
        "name": HABIT_NAMES[0],
        "description": HABIT_DESCRIPTION,
        "kind": "behavioural",
        "broad": "The answer asks the user what they need before or instead of simply answering.",
        "strict": "The answer's first sentence is a clarifying question about what the user needs.",
    },
}

_ROW = re.compile(r'<row label="([^"]+)">\n(.*?)\n</row>', re.DOTALL)
_PATTERN = re.compile(r'<pattern label="([^"]+)">\n(.*?)\n</pattern>', re.DOTALL)
_REPORT = re.compile(r"^- \*\*(.+?)\*\* \((\w+)\): (.*)$", re.MULTILINE)


def parse_rows(prompt: str) -> list[tuple[str, str]]:
    """The (label, text) of every `<row>` block in a rendered scan or rating prompt."""
    return _ROW.findall(prompt)


def recognise(text: str) -> str | None:
    """The planted pattern key a name or description is about, by keyword, or None."""
    lowered = text.lower()
    if "bottom line" in lowered:
        return "bottom_line"
    if "validat" in lowered:
        return "validation"
    if "clarifying" in lowered:  # before "clarif": the habit's names and description all say it
        return ALWAYS_CLARIFY
    if "clarif" in lowered:
        return "clarify"
    return None


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def asks_for_habits(prompt: str) -> bool:
    """Whether a scan prompt's instructions (the text before its first row) ask for context-insensitive habits."""
    instructions = prompt.split("<row label=", 1)[0]
    return HABIT_MARKER in instructions and EXCLUSION_MARKER not in instructions


def _user_part(text: str) -> str:
    """The first user turn of a rendered transcript ("USER: ...\n\nASSISTANT: ..."), else ""."""
    head, sep, _ = text.partition("\n\nASSISTANT: ")
    return head.removeprefix("USER: ") if sep else ""


@dataclass
class AuditFakeModel:
    """The rule; see the module docstring. Counters are safe to read from the test thread.

    Attributes:
        attention: None (the default) rates exactly. A number makes the rater model a long-context
            judge with a limited attention budget: in a call of L judgements (rows x patterns) it
            misses each present (row, pattern) with probability L / (L + attention), so `attention`
            is the call size at which it misses half. Which pairs it misses is fixed by a hash of
            the pattern and the row, so a smaller call misses a subset of what a larger one does.
            An assumption for bench/audit.py's recall sweep, not a measurement of any real model.
    """

    attention: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _calls: dict[str, int] = field(default_factory=lambda: {"scan": 0, "merge": 0, "rate": 0})

    def __call__(self, request: FakeRequest) -> Reply:
        prompt = request.last_user_text
        title = (request.json_schema or {}).get("title")
        if title == "ScanReport":
            self._count("scan")
            return self._json(self.scan(prompt))
        if title == "MergedPattern":
            self._count("merge")
            return self._json(self.merge(prompt))
        if title == "BatchRatings":
            self._count("rate")
            return self._json(self.rate(prompt))
        return Text("")  # an embedding request: the server answers it with vectors of its own

    # --- counters ------------------------------------------------------------------------

    def _count(self, step: str) -> None:
        with self._lock:
            self._calls[step] += 1

    @property
    def scan_calls(self) -> int:
        """ScanReport requests seen (retries included)."""
        with self._lock:
            return self._calls["scan"]

    @property
    def merge_calls(self) -> int:
        """MergedPattern requests seen (retries included)."""
        with self._lock:
            return self._calls["merge"]

    @property
    def rate_calls(self) -> int:
        """BatchRatings requests seen (retries included)."""
        with self._lock:
            return self._calls["rate"]

    # --- the three steps -----------------------------------------------------------------

    def scan(self, prompt: str) -> dict[str, Any]:
        """The ScanReport for a rendered audit_scan prompt."""
        rows = parse_rows(prompt)
        key = _digest("\n".join(f"{label}\n{text}" for label, text in rows))
        patterns: list[dict[str, Any]] = []
        openers = [(label, q) for label, text in rows if (q := validation_opener(assistant_part(text)))]
        if len(openers) >= 2:
            evidence = [{"row": label, "quote": quote} for label, quote in openers[:3]]
            if key // 9 % 3 == 0:
                evidence.append({"row": openers[0][0], "quote": HALLUCINATED_QUOTE})
            name = VALIDATION_NAMES[key % 3]
            patterns.append(self._candidate(name, VALIDATION_DESCRIPTION, "rhetorical", evidence))
        questions = [(label, q) for label, text in rows if (q := clarification_question(assistant_part(text)))]
        if len(questions) >= 2:
            evidence = [{"row": label, "quote": quote} for label, quote in questions[:3]]
            name = CLARIFY_NAMES[key // 3 % 3]
            patterns.append(self._candidate(name, CLARIFY_DESCRIPTION, "behavioural", evidence))
        habit = [(label, q) for label, text in rows if (q := clarifying_opener(assistant_part(text)))
                 and not is_vague_request(_user_part(text))]  # fmt: skip
        if len(habit) >= 2 and asks_for_habits(prompt):
            evidence = [{"row": label, "quote": quote} for label, quote in habit[:3]]
            patterns.append(self._candidate(HABIT_NAMES[key // 27 % 3], HABIT_DESCRIPTION, "behavioural", evidence))
        if len(rows) >= 2:
            noise = [{"row": label, "quote": " ".join(assistant_part(text).split()[:4])} for label, text in rows[:2]]
            seed = f"noise-{key}"
            patterns.append(self._candidate(words(seed, 3), words(seed + "-d", 10), "structural", noise))
        return {"patterns": patterns}

    def merge(self, prompt: str) -> dict[str, str]:
        """The MergedPattern for a rendered audit_merge prompt (neighbours are ignored)."""
        reports = prompt.split("## Neighbouring patterns", 1)[0]
        found = _REPORT.findall(reports)
        keys = [recognise(f"{name} {description}") for name, _, description in found]
        counts = Counter(k for k in keys if k in MERGED)
        if counts:
            return dict(MERGED[counts.most_common(1)[0][0]])
        name, kind, description = found[0] if found else ("Unnamed pattern", "structural", "Nothing recognised.")
        kind = kind if kind in ("structural", "rhetorical", "behavioural") else "structural"
        return {"name": name, "description": description, "kind": kind, "broad": description, "strict": description}

    def rate(self, prompt: str) -> dict[str, Any]:
        """The BatchRatings for a rendered audit_rate prompt."""
        pattern_part, _, row_part = prompt.partition("## The rows")
        rows = parse_rows(row_part)
        patterns = _PATTERN.findall(pattern_part)
        load = len(rows) * len(patterns)
        out = []
        for label, block in patterns:
            about = block.split("\nbroad: ", 1)[0]
            key = recognise(about)
            levels = {row: self._levels(key, about, text, load) for row, text in rows}
            broad = [row for row, (is_broad, _) in levels.items() if is_broad]
            strict = [row for row, (_, is_strict) in levels.items() if is_strict]
            out.append({"pattern": label, "broad": broad, "strict": strict})
        return {"patterns": out}

    def _levels(self, key: str | None, pattern: str, row: str, load: int) -> tuple[bool, bool]:
        """(broad, strict) for a row in a call of `load` judgements: the rule's, unless the pair is missed."""
        if key is None:
            return False, False
        if self.attention is not None and _digest(f"{pattern}\n{row}") / 2**64 < load / (load + self.attention):
            return False, False  # missed: see `attention`
        return pattern_levels(key, assistant_part(row))

    @staticmethod
    def _candidate(name: str, description: str, kind: str, evidence: list[dict[str, str]]) -> dict[str, Any]:
        return {"name": name, "description": description, "kind": kind, "evidence": evidence}

    @staticmethod
    def _json(value: dict[str, Any]) -> Text:
        return Text(json.dumps(value))
