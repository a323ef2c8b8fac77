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
    """The autorater's scores for one finished example or document (1 = worst, 5 = best, except leakage)."""

    realism: int = Field(ge=1, le=5, description="How realistic the exchange is, 1-5.")
    quality: int = Field(ge=1, le=5, description="How helpful and well written the answer is, 1-5.")
    embodiment: int = Field(ge=1, le=5, description="How naturally the answer embodies the trait, 1-5.")
    # Optional because the midtraining documents' autorater shares this schema and never asks for it;
    # the SFT autorater asks for it on every example and a trait-off example is judged by it.
    fit: int | None = Field(
        None,
        ge=1,
        le=5,
        description="How well the amount of the trait suits the situation (full where it matters, little or none "
        "where it does not), 1-5.",
    )
    leakage: int = Field(
        ge=1,
        le=5,
        description="How much the text refers to the material it was made from, on the prompt's leakage scale: "
        "1 = not at all, 5 = explicitly. In a chat answer, any mention of traits, guidelines, a document, a system "
        "prompt or numbered principles. In a midtraining document, only meta-references (the traits document, a "
        "numbered trait, a system prompt, instructions to the writer): in-world statements of the model's values "
        "are not leakage.",
    )
    reasons: str = Field(description="One or two sentences per score.")


class DocBrainstorm(BaseModel):
    """The plan of one midtraining document: what trait it shows, how, and how the why gets in."""

    what: str = Field(description="Which aspect of the trait this document shows, in one sentence.")
    how: list[str] = Field(
        min_length=1, description="The concrete things the model is described as doing, one action per item."
    )
    why: str = Field(description="Why those actions display the trait (the reasoning a careful reader would see).")
    why_enters_text: Literal["quote", "observer", "consequences"] = Field(
        description="How the why gets into the text: the model is quoted explaining itself (quote), someone who "
        "watched infers it (observer), or what happened next makes it plain (consequences)."
    )
    setting: str = Field(description="Who writes the document, for whom, where and when; the situation it reports.")
    people: list[str] = Field(description="The people who appear, each 'Name: role', using the names offered.")
    tension: str = Field(description="What makes it worth reading: the stakes, disagreement or surprise.")


class DocCritique(BaseModel):
    """The critic's verdict on a draft document (1 = worst, 5 = best)."""

    naturalness: int = Field(ge=1, le=5, description="Would it pass as a real document of its type, 1-5?")
    embodiment: int = Field(ge=1, le=5, description="How clearly and concretely the model shows the trait, 1-5.")
    consistency: int = Field(ge=1, le=5, description="How well it respects the guidance on trade-offs, 1-5.")
    tropes: list[str] = Field(description="Stock moves and clichés found, each quoted or described; [] if none.")
    problems: list[str] = Field(description="Everything else a rewrite must fix, most important first.")
    verdict: Literal["rewrite", "minor_fixes"] = Field(
        description="rewrite: start again from the plan; minor_fixes: the rewrite may keep the draft's bones."
    )
    reasons: str = Field(description="Why, citing the draft.")
