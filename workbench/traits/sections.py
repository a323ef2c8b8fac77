"""The heading stack a Markdown or plain-text reader walks: where a block sits, and what that section is.

    sections = Sections()
    if not sections.enter(level, "Trade-offs", first_content=not drafts):   # False: the H1 named the document
        ...
    sections.path          # ("Being useful", "Trade-offs")
    sections.flags         # (in a guidance section, in a section that prohibits)

A heading opens a guidance section when its text starts with guidance, holistic, trade-off,
exception, when not, priorit, conflict or caveat (any case, leading numbering ignored), and a
boundary section when it prohibits (`workbench.traits.boundaries`); every heading below one
inherits that.
"""

from __future__ import annotations

import re

from workbench.traits.boundaries import is_boundary_heading

_GUIDANCE_HEADING = re.compile(r"(guidance|holistic|trade-?off|exception|when not|priorit|conflict|caveat)")


def is_guidance_heading(heading: str) -> bool:
    """Whether a heading opens a guidance section (see module docstring)."""
    bare = re.sub(r"^[\W\d_]+", "", heading.lower())  # "3. Trade-offs", "**Exceptions**"
    return bool(_GUIDANCE_HEADING.match(bare))


class Sections:
    """The enclosing headings of the current block, with the document's title once it is known."""

    def __init__(self) -> None:
        self.title: str | None = None
        self.stack: list[tuple[int, str, bool, bool]] = []  # (level, text, is_guidance, is_boundary)

    @property
    def path(self) -> tuple[str, ...]:
        """The enclosing headings, outermost first (the document's title excluded)."""
        return tuple(entry[1] for entry in self.stack)

    @property
    def flags(self) -> tuple[bool, bool]:
        """(the current section is guidance, the current section prohibits)."""
        return (self.stack[-1][2], self.stack[-1][3]) if self.stack else (False, False)

    def enter(self, level: int, text: str, *, first_content: bool) -> bool:
        """Enter a heading; False when it is instead the document's title (an H1 before any content)."""
        if level == 1 and self.title is None and first_content and not self.stack:
            self.title = text
            return False
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        guidance, boundary = self.flags
        self.stack.append((level, text, guidance or is_guidance_heading(text), boundary or is_boundary_heading(text)))
        return True
