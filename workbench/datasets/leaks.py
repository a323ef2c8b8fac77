"""The leak check: no training row may mention the traits document; no synthetic row may carry a system turn.

    ngrams = traits_ngrams(chunk.text for chunk in chunks)
    check_leaks(rows, ngrams)          # raises WorkbenchError naming up to 10 rows and what matched

The trait must live in the weights, not in text that points at a document. A row leaks when:

* any of its texts (every turn, or the document) contains a run of `NGRAM` (8) consecutive
  words of a chunk of the traits version(s) — words are lower-cased, punctuation stripped, so
  quoting a trait verbatim is caught whatever the formatting (chunks shorter than 8 words are
  not looked for);
* the model's side of it (assistant turns, chosen and rejected answers, a document) contains one
  of `LEAK_PHRASES`, a word-bounded start ("system prompts" matches "system prompt"). A *user*
  may well say "system prompt" or "my guidelines"; the model talking about its own is the leak;
* it is a synthetic row with a turn with the `system` role: the conditioning system prompt a
  response was written under stays in the store. A baseline row may keep its own system turns
  (`baseline.py`): following a system prompt is part of what the baseline teaches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.datasets.sources import MixRow
from workbench.errors import WorkbenchError

NGRAM = 8
LEAK_PHRASES: tuple[str, ...] = (
    "traits document",
    "trait document",
    "system prompt",
    "my guidelines",
    "my instructions",
    "the guidelines i was given",
)
MAX_REPORTED = 10

_APOSTROPHES = re.compile(r"['’`]")
_WORD = re.compile(r"[^\W_]+")
_PHRASES = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in LEAK_PHRASES) + ")")


@dataclass(frozen=True)
class Leak:
    """One row that fails the check.

    Attributes:
        origin: `synthetic` or `baseline`.
        source_id: The row's id.
        matched: What was found: the 8 words, the phrase, or "a system turn".
    """

    origin: str
    source_id: str
    matched: str


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation ("Don't panic!" → ["dont", "panic"])."""
    return _WORD.findall(_APOSTROPHES.sub("", text.lower()))


def traits_ngrams(texts: Iterable[str]) -> set[str]:
    """Every run of `NGRAM` consecutive words of the texts, space-joined."""
    found: set[str] = set()
    for text in texts:
        w = words(text)
        found.update(" ".join(w[i : i + NGRAM]) for i in range(len(w) - NGRAM + 1))
    return found


def _turns(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) for every turn of a chat or preference record; a document is one `assistant` text."""
    if "text" in record:
        return [("assistant", record["text"])]
    turns = [t for key in ("messages", "prompt", "chosen", "rejected") for t in record.get(key, [])]
    return [(t["role"], t["content"]) for t in turns]


def _row_leak(row: MixRow, ngrams: set[str]) -> str | None:
    """What in one row leaks, or None."""
    for role, text in _turns(row.record):
        if role == "system" and row.origin == "synthetic":
            return "a system turn"
        w = words(text)
        for i in range(len(w) - NGRAM + 1):
            run = " ".join(w[i : i + NGRAM])
            if run in ngrams:
                return f"quotes the traits document: {run!r}"
        if role == "assistant" and (phrase := _PHRASES.search(" ".join(w))):
            return f"mentions {phrase.group(0)!r}"
    return None


def find_leaks(rows: Sequence[MixRow], ngrams: set[str]) -> list[Leak]:
    """Every row that leaks, in row order."""
    leaks = []
    for row in rows:
        matched = _row_leak(row, ngrams)
        if matched is not None:
            leaks.append(Leak(row.origin, row.source_id, matched))
    return leaks


def check_leaks(rows: Sequence[MixRow], ngrams: set[str]) -> None:
    """Raise if any row leaks.

    Raises:
        WorkbenchError: listing up to `MAX_REPORTED` leaking rows (origin, id, what matched).
    """
    leaks = find_leaks(rows, ngrams)
    if not leaks:
        return
    listed = "\n".join(f"  {leak.origin} {leak.source_id}: {leak.matched}" for leak in leaks[:MAX_REPORTED])
    more = f"\n  ... and {len(leaks) - MAX_REPORTED} more" if len(leaks) > MAX_REPORTED else ""
    raise WorkbenchError(
        f"{len(leaks)} training row(s) mention the traits document, or are synthetic with a system turn; "
        f"no dataset was built.\n{listed}{more}",
        hint="Reject or edit those examples (`workbench sft review`), remove those baseline rows, "
        "or exclude them with --min-score / --keep-audit-dataset.",
    )
