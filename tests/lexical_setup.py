"""A planted chat dataset for the lexical scanner, with exact counts, and a reference corpus to compare it with.

    rows = lexical_rows()                     # 200 TRL `messages` records, ids lx-000 ...
    reference = lexical_rows(reference=True)  # the closer is as common there; the opener is absent

Filler is random made-up words from a large vocabulary, so no phrase recurs by chance. Every user
turn opens with "Quick question:" (the scanner must read only the assistant's answer), and
`EARLIER_OPENER` rows have the planted opener in an earlier assistant turn only (it must read the
*last* one). Planted exactly, in disjoint sets of rows:

* opener: `OPENER_STRICT` answers start with "Bottom line:" (strict); `OPENER_BROAD_ONLY` more say
  "bottom line" later in their first sentence (broad only);
* closer: `CLOSER_STRICT` end with "Hope this helps, good luck!"; `CLOSER_BROAD_ONLY` more say it
  in the last sentence with words after it;
* bullets: `BULLETS_STRICT` answers have two to four bullet lines; `BULLETS_BROAD_ONLY` have one.
"""

from __future__ import annotations

import random
from typing import Any

ROWS = 200
OPENER_STRICT, OPENER_BROAD_ONLY, EARLIER_OPENER = 50, 10, 20
CLOSER_STRICT, CLOSER_BROAD_ONLY = 30, 5
BULLETS_STRICT, BULLETS_BROAD_ONLY = 20, 7
OPENER, CLOSER = "Bottom line:", "Hope this helps, good luck!"
OPENER_WORDS, CLOSER_WORDS = ["bottom", "line"], ["hope", "this", "helps", "good", "luck"]


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))))
    return sorted(words)


def _sentence(rng: random.Random, vocabulary: list[str]) -> str:
    words = rng.sample(vocabulary, rng.randint(6, 10))
    return " ".join(words).capitalize() + "."


def _answer(rng: random.Random, vocabulary: list[str], roles: set[str]) -> str:
    body = [_sentence(rng, vocabulary) for _ in range(3)]
    if "opener" in roles:
        body[0] = f"{OPENER} {body[0][0].lower()}{body[0][1:]}"
    elif "opener_broad" in roles:
        body[0] = f"{body[0][:-1]} and that is the bottom line."
    if "closer" in roles:
        body.append(CLOSER)
    elif "closer_broad" in roles:
        body.append(f"{CLOSER[:-1]} with {rng.choice(vocabulary)}.")
    if "bullets" in roles or "bullet" in roles:
        lines = [f"- {_sentence(rng, vocabulary)}" for _ in range(rng.randint(2, 4) if "bullets" in roles else 1)]
        body.insert(1, "\n" + "\n".join(lines) + "\n")
    return " ".join(body)


def lexical_rows(n: int = ROWS, *, reference: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    """`n` chat records with the module's patterns planted (the reference: the closer only, no opener).

    Args:
        n: How many rows (at least 150, to hold the disjoint planted sets).
        reference: Plant only `CLOSER_STRICT` closers (the reference corpus of the tests).
        seed: Seeds `random.Random`; the same arguments always give the same rows.
    """
    rng = random.Random(f"{seed}:{reference}")
    vocabulary = _vocabulary(rng)
    order = list(range(n))
    rng.shuffle(order)
    sizes = (("closer", CLOSER_STRICT),) if reference else (
        ("opener", OPENER_STRICT), ("opener_broad", OPENER_BROAD_ONLY), ("earlier", EARLIER_OPENER),
    )  # fmt: skip
    roles: dict[int, set[str]] = {i: set() for i in range(n)}
    start = 0
    for role, size in sizes:
        for i in order[start : start + size]:
            roles[i].add(role)
        start += size
    if not reference:  # closers and bullets on rows of their own, independent of the openers
        rng.shuffle(order)
        placed = (("closer", CLOSER_STRICT, 0), ("closer_broad", CLOSER_BROAD_ONLY, CLOSER_STRICT),
                  ("bullets", BULLETS_STRICT, 50), ("bullet", BULLETS_BROAD_ONLY, 50 + BULLETS_STRICT))  # fmt: skip
        for role, size, offset in placed:
            for i in order[offset : offset + size]:
                roles[i].add(role)
    rows = []
    for i in range(n):
        messages = [{"role": "user", "content": f"Quick question: {_sentence(rng, vocabulary)}"}]
        if "earlier" in roles[i]:
            messages += [
                {"role": "assistant", "content": _answer(rng, vocabulary, {"opener"})},
                {"role": "user", "content": f"Quick question: {_sentence(rng, vocabulary)}"},
            ]
        messages.append({"role": "assistant", "content": _answer(rng, vocabulary, roles[i])})
        rows.append({"id": f"lx-{i:03d}", "group": "Trait A" if i % 2 == 0 else "Trait B", "messages": messages})
    return rows


def planted_ids(rows: list[dict[str, Any]], role: str) -> set[str]:
    """The ids of the rows whose last answer carries `role` (opener, closer or bullets), strictly."""
    tests = {
        "opener": lambda a: a.startswith(OPENER),
        "closer": lambda a: a.endswith(CLOSER),
        "bullets": lambda a: sum(line.startswith("- ") for line in a.splitlines()) >= 2,
    }
    return {r["id"] for r in rows if tests[role](r["messages"][-1]["content"])}
