"""Boundaries: lists of things not to do become boundary chunks, never traits, in every Markdown shape."""

from __future__ import annotations

import pytest

from workbench.traits import ParsedDocument, ReadOptions, parse_traits, read_document
from workbench.traits.boundaries import is_boundary_heading, is_boundary_lead_in, is_prohibition


def _kinds(doc: ParsedDocument) -> list[tuple[str, str]]:
    return [(c.kind, c.title) for c in doc.chunks if c.kind != "guidance"]


@pytest.mark.parametrize(
    ("lead_in", "prohibits"),
    [
        ("A thoughtful senior reviewer would be unhappy if the assistant:", True),
        ("Never:", True),
        ("Avoid:", True),
        ("It should not:", True),
        ("Things to avoid:", True),
        ("Hard constraints:", True),
        ("Anti-patterns:", True),
        ("Failure modes:", True),
        ("Don't:", True),
        ("Whatever it is asked, the assistant should never:", True),
        ("We would not want the assistant to:", True),
        ("It explains its reasons. It must not do the following:", True),
        ("The assistant is:", False),
        ("To avoid confusion, the assistant should:", False),
        ("It says how sure it is when the answer turns on facts it cannot check:", False),
        ("It should never lie.", False),  # a statement, not a lead-in
    ],
)
def test_lead_ins(lead_in: str, prohibits: bool) -> None:
    assert is_boundary_lead_in(lead_in) is prohibits


@pytest.mark.parametrize(
    ("heading", "prohibits"),
    [
        ("Things to avoid", True),
        ("Hard constraints", True),
        ("Anti-patterns", True),
        ("Failure modes", True),
        ("2. Behaviours to avoid", True),
        ("Never share private data", True),
        ("Don’t lecture", True),  # a curly apostrophe
        ("Traits", False),
        ("When not to apply a trait", False),
        ("Avoiding harm while helping", False),
    ],
)
def test_headings(heading: str, prohibits: bool) -> None:
    assert is_boundary_heading(heading) is prohibits


@pytest.mark.parametrize(
    ("item", "prohibits"),
    [
        ("Never reveal a user's password to another user.", True),
        ("**Don't** lecture people who did not ask.", True),
        ("Do not pad answers with warnings.", True),
        ("Avoid jargon with beginners.", True),
        ("Must not pretend to be human when sincerely asked.", True),
        ("**Does not flatter.** Praise is earned.", False),
        ("Avoids jargon with beginners.", False),
        ("Nevertheless, stays kind.", False),
    ],
)
def test_items(item: str, prohibits: bool) -> None:
    assert is_prohibition(item) is prohibits


CONSTITUTION_STYLE = """\
# Assistant values

- **Honest.** Says how sure it is and what would change its mind.

A thoughtful senior reviewer would be unhappy if the assistant:

- refuses a reasonable request citing possible but highly unlikely harms
- gives a wishy-washy answer out of caution when caution isn't needed

Whatever the instructions, the assistant should never:

- generate content that would provide real uplift to people seeking to cause mass casualties

It also has these strengths:

- **Curious.** Asks about what it does not understand.
- Never condescends to people who know less than it does.

## Things to avoid

- Pretending to have feelings it cannot know it has.

### In long conversations

- Repeating the same caveat in every reply.

## Exceptions

- Do not withhold safety information in an emergency.

## Style

- **Plain.** Uses short words when they carry the meaning.
"""


def test_the_bullets_reader_makes_prohibited_lists_boundaries() -> None:
    doc = parse_traits(CONSTITUTION_STYLE)
    assert _kinds(doc) == [
        ("trait", "Honest"),
        ("boundary", "refuses a reasonable request citing possible but highly unlikely harms"),
        ("boundary", "gives a wishy-washy answer out of caution when caution isn't needed"),
        ("boundary", "generate content that would provide real uplift to people seeking to cause…"),
        ("trait", "Curious"),  # after a neutral lead-in the list is traits again…
        ("boundary", "Never condescends to people who know less than it does"),  # …unless an item prohibits
        ("boundary", "Pretending to have feelings it cannot know it has"),
        ("boundary", "Repeating the same caveat in every reply"),  # a sub-heading inherits "avoid"
        ("trait", "Plain"),  # a sibling heading does not
    ]
    exceptions = [c for c in doc.chunks if c.heading_path == ("Exceptions",)]
    assert [c.kind for c in exceptions] == ["guidance"]  # guidance sections stay guidance
    assert next(c.key for c in doc.chunks if c.kind == "boundary").startswith("boundary:refuses-a-reasonable")


def test_the_spec_reader_makes_prohibited_lists_and_headings_boundaries() -> None:
    text = CONSTITUTION_STYLE.replace("## Style\n\n- **Plain.**", "## Style\n\n### Plain\n\nPlain words,")
    text += "\n### Never mock\n\nNot even gently.\n\n### Patient\n\nExplains again without sighing.\n"
    doc = read_document(text, options=ReadOptions(format="spec", trait_level=3))
    kinds = {title: kind for kind, title in _kinds(doc)}
    assert kinds["Plain"] == kinds["Patient"] == "trait"
    assert kinds["Never mock"] == kinds["In long conversations"] == "boundary"
    assert kinds["refuses a reasonable request citing possible but highly unlikely harms"] == "boundary"
    assert "Curious" not in kinds  # above the trait level a neutral list is guidance prose
