"""A planted chat dataset for the pattern audit tests and benchmark, with the rules that define it.

    rows = planted_rows(200)                 # TRL `messages` records, ids ex-0000 ...
    truth = planted_truth(rows)              # {"validation": {"strict": {...}, "broad": {...}}, ...}

Planted exactly (by count, rounded), every other row free of all three patterns:

* validation: `VALIDATION_RATE` of answers open with an emotional-validation sentence (strict), and a
  further, disjoint `MILD_VALIDATION_RATE` only say a mild phrase mid-answer (broad level only);
* clarify: `CLARIFY_RATE` of answers end by asking for clarification (assigned independently);
* bottom_line: `BOTTOM_LINE_RATE` of answers start with "Bottom line:" (never a validation opener);
  the scan never reports it: a test adds it by hand.

The fake model (tests/fakes/audit_model.py) rates rows with the same rule functions
(`pattern_levels`), so the truth here and the fake's answers cannot drift apart.

A second dataset, `clarifying_rows(n)`, is the data of one trait, careful clarification: a
share `VAGUE_RATE` of the requests are ambiguous, the rest say everything needed, and
`ALWAYS_CLARIFY_RATE` of the answers open with a clarifying question whatever the request
(pattern key `always_clarify`). Asking where the request is vague is the trait; asking where
it is not is the habit a scan must still report.
"""

from __future__ import annotations

import random
import re
from typing import Any

VALIDATION_RATE = 0.40
MILD_VALIDATION_RATE = 0.10
CLARIFY_RATE = 0.25
BOTTOM_LINE_RATE = 0.15
PATTERN_KEYS: tuple[str, ...] = ("validation", "clarify", "bottom_line")

VALIDATION_OPENERS: tuple[str, ...] = (
    "I can hear how stressful this has been for you.",
    "That sounds really hard, and your feelings make sense.",
    "It's completely understandable to feel overwhelmed by this.",
    "Your worry here is valid, and it makes sense that you feel this way.",
)
MILD_PHRASES: tuple[str, ...] = ("that must be tiring", "that must be exhausting", "that sounds draining")
CLARIFY_STEMS: tuple[str, ...] = (
    "Could you tell me a bit more about",
    "Can you share a little more about",
    "Would you mind telling me more about",
)
BOTTOM_LINE = "Bottom line:"

# (topic for the user, short noun phrase for the answer)
_TOPICS = [
    ("moving to a new city for work", "the move"), ("a job interview next week", "the interview"),
    ("a disagreement with my landlord", "the lease"), ("training for my first half marathon", "your training"),
    ("paying off a credit card", "the debt"), ("learning to play the cello", "your practice"),
    ("planning a small wedding", "the wedding"), ("a group project that keeps slipping", "the project"),
    ("choosing between two laptops", "the purchase"), ("starting a vegetable garden", "the garden"),
    ("caring for an elderly parent", "the caregiving"), ("switching careers into nursing", "the switch"),
]  # fmt: skip
_WORRIES = ["I keep putting it off", "I am not sure where to start", "my budget is tight",
            "I only have evenings free", "my partner disagrees with me", "I tried once and it went badly"]  # fmt: skip
_ADVICE = [
    "A good first step is to write down the two or three decisions that actually matter for {n}.",
    "Set aside twenty minutes a day for {n} and keep a short log of what you did.",
    "Break {n} into weekly goals so progress is visible.",
    "Compare the cost of each option for {n} against what you can spend this month.",
    "Ask someone who has done {n} before what they would do differently.",
    "Pick one concrete task for {n} that you can finish by the weekend.",
    "Keep the plan for {n} simple enough to fit on a single page.",
]
_MILD = ["Handling {n} on top of everything else, {p}.", "Doing {n} alone for months, {p}."]
_CLOSERS = ["With a steady routine, {n} should feel manageable within a few weeks.",
            "Revisit the plan for {n} in a month and adjust what is not working.",
            "Most people in your position find {n} gets easier once the first step is done."]  # fmt: skip
_CONCLUSIONS = ["start small and stay consistent with {n}", "{n} is doable if you plan the money first",
                "get outside advice before committing to {n}"]  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# --- rules (shared with the fake rater) ------------------------------------------------------


def assistant_part(text: str) -> str:
    """The last assistant turn of a rendered transcript ("USER: ...\\n\\nASSISTANT: ..."); else the text."""
    if text.startswith("ASSISTANT: "):
        text = "\n\n" + text
    _, sep, tail = text.rpartition("\n\nASSISTANT: ")
    return tail.strip() if sep else text.strip()


def sentences(answer: str) -> list[str]:
    """The answer split into sentences (at whitespace after . ! or ?)."""
    return [s for s in _SENTENCE.split(answer.strip()) if s]


def validation_opener(answer: str) -> str | None:
    """The validation sentence the answer opens with, or None."""
    return next((o for o in VALIDATION_OPENERS if answer.startswith(o)), None)


def has_mild_validation(answer: str) -> bool:
    """Whether the answer contains a mild validation phrase anywhere."""
    return any(p in answer.lower() for p in MILD_PHRASES)


def clarification_question(answer: str) -> str | None:
    """The final sentence if it asks for clarification, else None."""
    parts = sentences(answer)
    last = parts[-1] if parts else ""
    return last if last.endswith("?") and last.startswith(CLARIFY_STEMS) else None


def opens_with_bottom_line(answer: str) -> bool:
    """Whether the answer starts with "Bottom line:"."""
    return answer.startswith(BOTTOM_LINE)


def pattern_levels(key: str, answer: str) -> tuple[bool, bool]:
    """(broad, strict) presence of planted pattern `key` in an assistant answer; broad ⊇ strict.

    Raises:
        KeyError: `key` is neither one of `PATTERN_KEYS` nor `ALWAYS_CLARIFY`.
    """
    if key == "validation":
        strict = validation_opener(answer) is not None
        return strict or has_mild_validation(answer), strict
    if key == "clarify":
        strict = clarification_question(answer) is not None
        return strict, strict
    if key == "bottom_line":
        strict = opens_with_bottom_line(answer)
        return strict, strict
    if key == ALWAYS_CLARIFY:
        strict = clarifying_opener(answer) is not None
        return strict, strict
    raise KeyError(key)


# --- the dataset -----------------------------------------------------------------------------


def answer_of(record: dict[str, Any]) -> str:
    """The (last) assistant answer of a `messages` record."""
    return str([m for m in record["messages"] if m["role"] == "assistant"][-1]["content"])


def _counts(n: int) -> tuple[int, int, int, int]:
    """Rows with (validation opener, mild validation, clarification, bottom line)."""
    return (
        round(VALIDATION_RATE * n),
        round(MILD_VALIDATION_RATE * n),
        round(CLARIFY_RATE * n),
        round(BOTTOM_LINE_RATE * n),
    )


def _answer(rng: random.Random, noun: str, val: bool, mild: bool, clar: bool, bottom: bool) -> str:
    parts: list[str] = []
    if val:
        parts.append(rng.choice(VALIDATION_OPENERS))
    if bottom:
        parts.append(f"{BOTTOM_LINE} {rng.choice(_CONCLUSIONS).format(n=noun)}.")
    advice = rng.sample(_ADVICE, 3)
    parts.append(advice[0].format(n=noun))
    if mild:
        parts.append(rng.choice(_MILD).format(n=noun, p=rng.choice(MILD_PHRASES)))
    parts.extend(a.format(n=noun) for a in advice[1:])
    if clar:
        parts.append(f"{rng.choice(CLARIFY_STEMS)} {noun} and what you have tried so far?")
    else:
        parts.append(rng.choice(_CLOSERS).format(n=noun))
    return " ".join(p[0].upper() + p[1:] for p in parts)


def planted_rows(n: int = 200, seed: int = 0) -> list[dict[str, Any]]:
    """`n` chat records with the patterns planted at the module's rates (see the module docstring).

    Args:
        n: How many rows.
        seed: Seeds `random.Random`; the same (n, seed) always gives the same rows.

    Returns:
        Records `{"id", "group", "messages": [user, assistant]}`, no two with the same messages.
    """
    rng = random.Random(seed)
    n_val, n_mild, n_clar, n_bottom = _counts(n)
    order = list(range(n))
    rng.shuffle(order)
    val, mild = set(order[:n_val]), set(order[n_val : n_val + n_mild])
    bottom = set(rng.sample(order[n_val:], n_bottom))
    clar = set(rng.sample(range(n), n_clar))
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i in range(n):
        while True:
            topic, noun = rng.choice(_TOPICS)
            worry, days = rng.choice(_WORRIES), rng.randint(2, 40)
            user = f"I'm dealing with {topic} and {worry}. It has been {days} days. What should I do?"
            answer = _answer(rng, noun, i in val, i in mild, i in clar, i in bottom)
            if (user, answer) not in seen:
                break
        seen.add((user, answer))
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        rows.append({"id": f"ex-{i:04d}", "group": "Trait A" if i % 2 == 0 else "Trait B", "messages": messages})
    return rows


def planted_truth(rows: list[dict[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """Per pattern key, the ids of the rows at level "strict" and at level "broad" (broad ⊇ strict)."""
    truth: dict[str, dict[str, set[str]]] = {k: {"strict": set(), "broad": set()} for k in PATTERN_KEYS}
    for row in rows:
        answer = answer_of(row)
        for key in PATTERN_KEYS:
            broad, strict = pattern_levels(key, answer)
            if broad:
                truth[key]["broad"].add(row["id"])
            if strict:
                truth[key]["strict"].add(row["id"])
    return truth


# --- the careful-clarification dataset -------------------------------------------------------

ALWAYS_CLARIFY = "always_clarify"
CLARIFYING_TRAIT = "Careful clarification"
VAGUE_RATE = 0.30
ALWAYS_CLARIFY_RATE = 0.80
CLARIFYING_STEMS: tuple[str, ...] = (
    "Before I answer, could you clarify",
    "Just to make sure I help with the right thing, can you clarify",
    "Could you clarify first",
)
# (a clear request, with everything needed; a vague request about the same thing; the subject)
_REQUESTS = [
    ("Convert 3 cups of flour to grams for a bread recipe.", "Can you help with my recipe?", "the recipe"),
    ("Write a two-line reminder to my team that the report is due Friday at noon.",
     "Can you write something for my team?", "the message"),
    ("Sort these numbers from smallest to largest: 42, 7, 19, 3.", "Can you sort these for me?", "the list"),
    ("Translate 'where is the train station' into Spanish.", "How do I say this in the other language?",
     "the translation"),
    ("What is 15% of 240?", "Can you work out the percentage?", "the calculation"),
    ("Suggest a name for a grey cat who likes to sleep in boxes.", "Any ideas for a name?", "the name"),
]  # fmt: skip
_DIRECT = ["Here is what I would do with {s}.", "Happy to help with {s}.", "Let's sort out {s}."]


def clarifying_opener(answer: str) -> str | None:
    """The clarifying question the answer opens with (its first sentence), or None."""
    parts = sentences(answer)
    first = parts[0] if parts else ""
    return first if first.endswith("?") and first.startswith(CLARIFYING_STEMS) else None


def is_vague_request(user: str) -> bool:
    """Whether a user turn is one of the dataset's ambiguous requests (the ones a question fits)."""
    return any(user.strip() == vague for _, vague, _ in _REQUESTS)


def clarifying_rows(n: int = 60, seed: int = 0) -> list[dict[str, Any]]:
    """`n` chat records of the careful-clarification trait (see the module docstring).

    Args:
        n: How many rows.
        seed: Seeds `random.Random`; the same (n, seed) always gives the same rows.

    Returns:
        Records `{"id", "group", "messages": [user, assistant]}`, ids cl-0000 ..., group `CLARIFYING_TRAIT`;
        each answer ends with its number, so no two rows are the same.
    """
    rng = random.Random(f"clarifying:{seed}")
    vague = set(rng.sample(range(n), round(VAGUE_RATE * n)))
    asks = set(rng.sample(range(n), round(ALWAYS_CLARIFY_RATE * n)))
    rows: list[dict[str, Any]] = []
    for i in range(n):
        clear, ambiguous, subject = _REQUESTS[i % len(_REQUESTS)]
        user = ambiguous if i in vague else clear
        opener = f"{rng.choice(CLARIFYING_STEMS)} what you need from {subject}?" if i in asks else ""
        answer = f"{opener} {rng.choice(_DIRECT).format(s=subject)} (Answer {i}.)".strip()
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        rows.append({"id": f"cl-{i:04d}", "group": CLARIFYING_TRAIT, "messages": messages})
    return rows
