"""The `rules` shape: plain-text specs of numbered rules (model-spec-midtraining style).

    SP1: {model_name} tells users plainly when it is unsure.
    GP3. {model_name} keeps the user's goal in view.
    ### SP2: Honest refusals
    Prose under the heading is the rule's text.

* A **rule** starts with an id of 1-4 capital letters and a number followed by `:` or `.` (`SP1:`,
  `GP3.`), at the start of a line, a heading or a list item. It is a trait with `attrs` ("rule", "SP1")
  and a title without the id: a heading rule's title is the rest of the heading and its text the
  content under it (deeper headings included); a line rule's title is its first sentence and its
  text the rule without the id, with the lines directly under it and a list that follows it.
  Rules whose titles would clash get their id appended to the title, so a long spec of
  similarly worded rules still reads.
* **Prose** outside rules is guidance, one chunk per section; headings form the heading path.
* **Boundaries** (`workbench.traits.boundaries`): a rule under a heading that prohibits ("Hard
  constraints"), after a prohibiting lead-in ("The assistant must never:"), or starting with
  "Never"/"Do not" is a boundary, and so is such a list item in the prose. In a guidance section
  everything is guidance.
* `{model_name}`-style placeholders are filled by `workbench.traits.read` before this reads.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.traits.boundaries import is_boundary_lead_in, item_kind
from workbench.traits.drafts import Draft, build_chunks, fail
from workbench.traits.markdown import Block, bullet_text, feed, heading, render
from workbench.traits.model import ParsedDocument, normalise_chunk_text, slugify
from workbench.traits.parse import chunk_title
from workbench.traits.sections import Sections

if TYPE_CHECKING:
    from workbench.traits.read import ReadOptions

RULE_ID = re.compile(r"^([A-Z]{1,4}\d+)[:.][ \t]+(?=\S)")
MIN_RULES = 3
RULE_EXAMPLE = "SP1: The assistant says how sure it is, and why."


def _rule_line(line: str) -> re.Match[str] | None:
    """The id match of a rule line, rule heading or rule list item, else None."""
    found = heading(line)
    if found:
        return RULE_ID.match(found[1])
    return RULE_ID.match(line[2:] if line[:2] in ("- ", "* ") else line)


def looks_like_rules(text: str) -> bool:
    """Whether at least three lines (headings, list items) start with a rule id such as `SP1:`."""
    found = 0
    for line in text.split("\n"):
        # The cheap first-character test keeps this one pass of string checks on long documents.
        if (line[:1].isupper() or line[:1] in ("#", "-", "*")) and _rule_line(line):
            found += 1
            if found == MIN_RULES:
                return True
    return False


@dataclass
class _Rule:
    rule: str
    line: int
    path: tuple[str, ...]
    guidance: bool
    prohibited: bool
    level: int = 0  # a heading rule's level; 0 for a line rule
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)


class _Reader:
    """Walks blocks keeping the heading stack; rules become drafts, the rest section prose."""

    def __init__(self) -> None:
        self.sections = Sections()
        self.rule: _Rule | None = None
        self.prose: list[Block] = []
        self.lead_in = False
        self.drafts: list[Draft] = []

    @property
    def path(self) -> tuple[str, ...]:
        return self.sections.path

    def context(self) -> tuple[bool, bool]:
        """(in a guidance section, prohibited by a heading or the lead-in above)."""
        guidance, boundary = self.sections.flags
        return guidance, boundary or self.lead_in

    def close_rule(self) -> None:
        rule, self.rule = self.rule, None
        if rule is None:
            return
        # A heading rule's text is what is under it; a line rule's is the rule without its id.
        text = render(rule.blocks)
        text = (text or rule.title or "") if rule.level else normalise_chunk_text(RULE_ID.sub("", text, count=1))
        title = rule.title or chunk_title(text.split("\n\n", 1)[0].replace("\n", " "))  # a rule may wrap
        kind = item_kind(title, guidance=rule.guidance, prohibited=rule.prohibited)
        self.drafts.append(Draft(kind, text, rule.path, rule.line, title=title, attrs=(("rule", rule.rule),)))

    def flush_prose(self) -> None:
        self.close_rule()
        if self.prose:
            self.drafts.append(Draft("guidance", render(self.prose), self.path, self.prose[0].line))
            self.prose = []

    def open_rule(self, rule: str, line: int, level: int = 0, title: str | None = None) -> _Rule:
        self.close_rule()
        self.rule = _Rule(rule, line, self.path, *self.context(), level, title)
        return self.rule

    def heading(self, block: Block) -> None:
        text = block.lines[0].strip()
        found = RULE_ID.match(text)
        if found:
            self.open_rule(found.group(1), block.line, block.level, text[found.end() :].strip())
            return
        if self.rule and block.level > self.rule.level > 0:
            self.rule.blocks.append(block)  # a sub-heading of a heading rule
            return
        self.flush_prose()
        self.lead_in = False
        self.sections.enter(block.level, text, first_content=not self.drafts)

    def para(self, block: Block) -> None:
        """Split a paragraph at its rule lines: each rule takes the lines up to the next one."""
        start = 0
        for n, line in enumerate(block.lines):
            found = RULE_ID.match(line)
            if found:
                self.other(Block("para", block.line + start, block.lines[start:n]))
                self.open_rule(found.group(1), block.line + n)
                start = n
        self.other(Block("para", block.line + start, block.lines[start:]))

    def other(self, block: Block) -> None:
        if not block.lines:
            return
        if self.rule and (self.rule.level or RULE_ID.match(block.lines[0])):
            self.rule.blocks.append(block)
            return
        self.close_rule()  # prose after a line rule ends it
        self.lead_in = is_boundary_lead_in(block.text)
        self.prose.append(block)

    def bullet(self, block: Block) -> None:
        text = bullet_text(block)
        found = RULE_ID.match(text)
        if found:  # "- SP1: …": a rule written as a list item
            self.open_rule(found.group(1), block.line).blocks.append(Block("para", block.line, text.split("\n")))
            return
        if self.rule:
            self.rule.blocks.append(block)
            return
        guidance, prohibited = self.context()
        if item_kind(text, guidance=guidance, prohibited=prohibited) == "boundary":
            self.drafts.append(Draft("boundary", text, self.path, block.line))
        else:
            self.prose.append(block)


def _distinct_titles(drafts: list[Draft]) -> list[Draft]:
    """Rules whose titles would clash (keys are made from titles) get their id appended."""
    keys = [f"{d.kind}:{slugify(d.title or '')}" for d in drafts]
    counts = Counter(key for d, key in zip(drafts, keys, strict=True) if d.title and d.kind != "guidance")
    out = []
    for d, key in zip(drafts, keys, strict=True):
        if d.attrs and counts[key] > 1:
            d = dataclasses.replace(d, title=f"{d.title} ({d.attrs[0][1]})")
        out.append(d)
    return out


def read_rules(text: str, source: str, options: ReadOptions) -> ParsedDocument:
    """Read a numbered-rules spec (rules in the module docstring).

    Raises:
        WorkbenchError: No rule lines, no traits among them, or duplicate rules.
    """
    reader = _Reader()
    feed(reader, text)
    if not any(d.attrs for d in reader.drafts):
        raise fail(source, 1, "no numbered rules found.", hint=f"A rule is a line like: {RULE_EXAMPLE}")
    chunks = build_chunks(_distinct_titles(reader.drafts), source, chunk_title)
    if not any(c.kind == "trait" for c in chunks):
        raise fail(source, 1, "no traits: every rule is guidance or a boundary.", hint="Check the section headings.")
    return ParsedDocument(reader.sections.title, chunks, (), text)
