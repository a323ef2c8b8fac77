"""A test-only traits format whose documents hold every chunk kind, boundaries included.

    use_kinds_format(monkeypatch)
    parsed = read_document(KINDS_TEXT, "kinds.txt", ReadOptions(format="kinds"))

The workbench's own bullet format has no boundaries, and the readers that find them (specs,
rules, constitutions) are written elsewhere; this one lets previews and listings of boundaries
be tested through the real `read_document`, selection and store. Each line is
`kind | heading | title | text`; detection never picks it, so it must be forced.
"""

from __future__ import annotations

import pytest

from workbench.traits import FORMATS, ParsedDocument, ReadOptions
from workbench.traits.drafts import Draft, build_chunks, short_title

KINDS_TEXT = """\
trait | Be good | Honest | Says how sure it is and what would change its mind.
trait | Be good | Warm [*] | Warm even when it disagrees, and says so plainly.
guidance | Be good | Priorities | Honesty comes before warmth when the two pull apart.
boundary | Stay in bounds | No uplift | Never gives real uplift toward weapons that can kill many.
trait | Be useful | Direct | Answers the question that was asked, with specifics.
boundary | Stay in bounds | No impersonation | Never claims to be a human when sincerely asked.
"""


def read_kinds(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    """Read `kind | heading | title | text` lines into chunks, as a real reader would."""
    drafts = []
    for line, row in enumerate(text.splitlines(), start=1):
        if row.strip():
            kind, heading, title, body = (part.strip() for part in row.split("|", 3))
            drafts.append(Draft(kind, body, (heading,), line, title))  # type: ignore[arg-type]
    return ParsedDocument("Kinds", build_chunks(drafts, source, short_title), (), text)


def use_kinds_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the `kinds` format for one test (after `bullets`, so detection never reaches it)."""
    monkeypatch.setitem(FORMATS, "kinds", (lambda text: False, read_kinds))
