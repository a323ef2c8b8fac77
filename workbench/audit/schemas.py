"""Structured outputs of the pattern audit's model calls (sent to the API as JSON schemas).

Each class is the answer of one prompt template in `workbench/prompts/`. Rows and patterns are
referred to by the short labels the prompt gives them (`R3`, `P2`), never by store ids: short
labels are what a model copies back reliably.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

PatternKind = Literal["structural", "rhetorical", "behavioural"]


class Evidence(BaseModel):
    """One place a pattern shows up."""

    row: str = Field(description="The label of the row, exactly as given (e.g. R3).")
    quote: str = Field(description="A short verbatim quote from that row that shows the pattern.")


class ScannedPattern(BaseModel):
    """A recurring pattern one scan noticed across several rows."""

    name: str = Field(description="A short name, e.g. 'opens by restating the question'.")
    description: str = Field(description="One or two sentences: what recurs, concretely enough to check.")
    kind: PatternKind = Field(
        description="structural (layout, length, order), rhetorical (phrasing, tone, openers, closers) "
        "or behavioural (what the assistant does: asks, refuses, hedges, recommends)."
    )
    evidence: list[Evidence] = Field(description="Two to five rows showing it, each with a verbatim quote.")


class ScanReport(BaseModel):
    """Every recurring pattern in one batch of rows."""

    patterns: list[ScannedPattern] = Field(description="The patterns, most widespread first; empty if none recur.")


class MergedPattern(BaseModel):
    """One pattern named from a group of similar candidates, with criteria a rater can apply."""

    name: str = Field(description="A short name that tells this pattern apart from its neighbours.")
    description: str = Field(description="One or two sentences: what recurs, and what it is not.")
    kind: PatternKind = Field(description="structural, rhetorical or behavioural.")
    broad: str = Field(description="The criterion for the pattern being loosely present: any recognisable form.")
    strict: str = Field(description="The criterion for it being unambiguously present: the clear, full form.")


class PatternMatches(BaseModel):
    """The rows in which one pattern is present."""

    pattern: str = Field(description="The label of the pattern, exactly as given (e.g. P2).")
    broad: list[str] = Field(description="Labels of the rows meeting the broad criterion (strict rows included).")
    strict: list[str] = Field(description="Labels of the rows meeting the strict criterion.")


class BatchRatings(BaseModel):
    """For each pattern of the prompt, the rows of the prompt that show it."""

    patterns: list[PatternMatches] = Field(description="One entry per pattern, every pattern listed once.")
