"""Boundaries: telling the things an assistant must not do apart from the traits it should have.

    kind = item_kind(text, guidance=False, prohibited=is_boundary_lead_in("It should never:"))

A list of behaviours to avoid ("We would be unhappy if the assistant: - refuses a reasonable
request citing unlikely harms") describes anti-patterns; instilled as traits it would teach the
opposite of what the author meant. Every Markdown and plain-text reader asks this module whether
a heading, a list's lead-in or an item prohibits, and makes what it does a "boundary" chunk:
guidance the generator respects and the critic checks, never a trait. A guidance section
(`is_guidance_heading`) stays guidance: "When not to apply a trait: - Do not hedge simple facts"
is advice about traits, not a prohibition of its own.

The vocabulary is deliberately narrow: a missed boundary stays a trait the user can see in the
preview and exclude, while a trait wrongly taken for a boundary would silently not be instilled.
"""

from __future__ import annotations

import re

from workbench.traits.model import ChunkKind

# Headings that open a section of things not to do. START words must begin the heading
# ("Never …", "Avoid …", "Don't …"); ANYWHERE phrases may sit inside it ("Behaviours to avoid").
BOUNDARY_HEADING_STARTS = (
    "never", "avoid", "don't", "do not", "must not", "should not", "prohibited", "prohibitions",
    "forbidden", "hard constraints", "hard constraint", "things to avoid", "what not to do",
)  # fmt: skip
BOUNDARY_HEADING_ANYWHERE = ("to avoid", "anti-pattern", "antipattern", "failure mode", "hard constraint", "not to do")

# Lead-ins: the sentence ending with ":" right before a list. Named anti-pattern phrases count
# anywhere in it ("A thoughtful reviewer would be unhappy if the assistant:"); a negation only when
# the list completes it ("It should never:", "We would not want it to:", "Avoid these:"), so
# "… facts it cannot check:" followed by examples of such facts stays neutral.
BOUNDARY_LEAD_INS = (
    r"\bunhappy if\b",
    r"\buncomfortable if\b",
    r"\bthings to avoid\b",
    r"\bhard constraints?\b",
    r"\banti-?patterns?\b",
    r"\bfailure modes?\b",
    r"\bprohibit",
    r"\bforbidden\b",
    r"\b(?:never|not|cannot|\w+n't)(?: ever)?(?: do)?(?: (?:any of )?(?:the following|these|this))?"
    r"(?: want(?: \w+){1,2} to)?\s*:$",
    r"\bavoid(?:s|ing)?(?: (?:any of )?(?:the following|these|this))?\s*:$",
)
MAX_LEAD_IN_CHARS = 200

# Items that prohibit by themselves: "Never reveal …", "**Don't** lecture.", "Avoid jargon".
# Whole words only: "Avoids jargon" and "Does not flatter" describe a trait, they forbid nothing.
BOUNDARY_ITEM_STARTS = ("never", "do not", "don't", "avoid", "must not", "mustn't", "should not", "shouldn't")

_LEAD_IN = re.compile("|".join(BOUNDARY_LEAD_INS))
_HEADING_START = re.compile(r"^(?:" + "|".join(re.escape(w) for w in BOUNDARY_HEADING_STARTS) + r")\b")
_HEADING_ANYWHERE = re.compile("|".join(re.escape(w) for w in BOUNDARY_HEADING_ANYWHERE))
_ITEM_START = re.compile(r"^(?:" + "|".join(re.escape(w) for w in BOUNDARY_ITEM_STARTS) + r")\b")
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)")


def _plain(text: str) -> str:
    """Lower case, curly apostrophes straightened, leading numbering and emphasis dropped."""
    text = text.strip().lower().replace("\u2019", "'")
    return text.lstrip("0123456789.)*_#>- \t")


def is_boundary_heading(heading: str) -> bool:
    """Whether a heading opens a section of prohibitions ("Things to avoid", "Never …")."""
    plain = _plain(heading)
    return bool(_HEADING_START.match(plain) or _HEADING_ANYWHERE.search(plain))


def is_boundary_lead_in(paragraph: str) -> bool:
    """Whether a paragraph ends with a lead-in that introduces a list of things not to do."""
    text = paragraph.strip()
    if not text.endswith(":"):
        return False
    breaks = list(_SENTENCE_BREAK.finditer(text[:-1]))
    sentence = _plain(text[breaks[-1].end() :] if breaks else text)
    return len(sentence) <= MAX_LEAD_IN_CHARS and bool(_LEAD_IN.search(sentence))


def is_prohibition(item: str) -> bool:
    """Whether a list item or rule forbids something by its own first words ("Never …")."""
    return bool(_ITEM_START.match(_plain(item)))


def item_kind(text: str, *, guidance: bool, prohibited: bool) -> ChunkKind:
    """The kind of a would-be trait (a list item, a rule, a principle).

    Args:
        text: Its text (or its heading).
        guidance: It sits in a guidance section; that wins over everything.
        prohibited: Its context prohibits: a boundary heading above it or a prohibiting lead-in.
    """
    if guidance:
        return "guidance"
    return "boundary" if prohibited or is_prohibition(text) else "trait"
