"""Structured outputs of the SFT pipeline's model calls (sent to the API as JSON schemas).

Each class is the answer of one prompt template in `workbench/prompts/`. Field descriptions
travel with the schema, so they double as instructions to the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ScenarioDraft(BaseModel):
    """A situation in which the trait should direct the assistant's behaviour, and the user's message."""

    scenario: str = Field(description="The situation in two to four sentences: who the user is, what is at stake.")
    user_prompt: str = Field(description="The message the user actually sends, in their own voice.")


class ScenarioCritique(BaseModel):
    """The critic's verdict on one scenario, given the baseline model's answer to it."""

    realistic: bool = Field(description="Would a real person plausibly send this message?")
    elicits_trait: bool = Field(description="Does answering it well genuinely require the trait?")
    baseline_too_easy: bool = Field(
        description="Is the baseline answer already adequate with platitudes or common wisdom?"
    )
    verdict: Literal["keep", "revise", "drop"] = Field(description="keep, revise (rewrite the prompt) or drop.")
    reasons: str = Field(description="Why, citing the scenario and the baseline answer.")
    revised_user_prompt: str | None = Field(
        None, description="For 'revise': the rewritten user message that forces engagement with the specifics."
    )


class RejectedCheck(BaseModel):
    """Whether a dispreferred answer still embodies the trait (it must not)."""

    embodies_trait: bool = Field(description="True if the answer shows the trait, even partly.")
    reasons: str = Field(description="What in the answer shows or lacks the trait.")


class ExampleRating(BaseModel):
    """The autorater's scores for one finished example (1 = worst, 5 = best, except leakage)."""

    realism: int = Field(ge=1, le=5, description="How realistic the exchange is, 1-5.")
    quality: int = Field(ge=1, le=5, description="How helpful and well written the answer is, 1-5.")
    embodiment: int = Field(ge=1, le=5, description="How naturally the answer embodies the trait, 1-5.")
    leakage: int = Field(
        ge=1,
        le=5,
        description="How much the answer refers to traits, guidelines, a document, a system prompt or "
        "numbered principles: 1 = not at all, 5 = explicitly.",
    )
    reasons: str = Field(description="One or two sentences per score.")
