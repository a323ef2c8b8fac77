"""The shipped eval case sets (data/evals/): loaded through the product, at the sizes that give the evals power.

Each file is read the way a run reads it (`load_cases` with the suite's case model), so a case
that would not validate, a duplicate id or a trait the audit suite cannot find fails here first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar, cast

from workbench.evals.base import Case, get_suite
from workbench.evals.cases import load_cases
from workbench.evals.context import EvalContext
from workbench.evals.suites.audit import find_trait
from workbench.evals.suites.audit_schemas import AuditCase
from workbench.evals.suites.capability import CapabilityCase
from workbench.evals.suites.knowledge import KnowledgeCase
from workbench.project import Project
from workbench.traits import read_traits_file

# The traits document the shipped audit seeds are written for (and the demo data is built on).
SHIPPED_TRAITS = Path(__file__).resolve().parents[1] / "data" / "traits" / "candid_care.md"
CATEGORIES = {"writing", "reasoning", "coding", "advice"}
# Phrases that turn a knowledge question into a situation to role-play rather than a question
# about the model's character; the suite asks for the character in the abstract.
SITUATIONAL = ("imagine", "suppose", "a user who", "pretend", "scenario", "let's say", "role-play")

C = TypeVar("C", bound=Case)


def shipped(project: Project, suite: str, model: type[C]) -> list[C]:
    """The suite's shipped cases, loaded and validated as a run loads them."""
    cases = load_cases(project, get_suite(suite))[0]
    assert all(isinstance(case, model) for case in cases)
    return cast(list[C], cases)


def duplicates(texts: Iterable[str]) -> list[str]:
    """Texts that occur more than once, ignoring case and spacing."""
    counts = Counter(" ".join(text.lower().split()) for text in texts)
    return [text for text, n in counts.items() if n > 1]


def test_capability_prompts_span_four_categories_at_size(project: Project) -> None:
    cases = shipped(project, "capability", CapabilityCase)
    per_category = Counter(case.category for case in cases)
    assert len(cases) >= 200
    assert set(per_category) == CATEGORIES, per_category
    assert min(per_category.values()) >= 40, per_category
    assert duplicates(case.prompt for case in cases) == []


def test_knowledge_questions_are_many_distinct_and_abstract(project: Project) -> None:
    questions = {case.id: case.question for case in shipped(project, "knowledge", KnowledgeCase)}
    assert len(questions) >= 40
    assert duplicates(questions.values()) == []
    situational = {
        case_id: marker
        for case_id, question in questions.items()
        for marker in SITUATIONAL
        if marker in question.lower()
    }
    assert situational == {}


def test_audit_seeds_spread_over_every_trait_of_the_shipped_document(project: Project) -> None:
    cases = shipped(project, "audit", AuditCase)
    document = read_traits_file(SHIPPED_TRAITS)
    traits = [(chunk.title, chunk.text) for chunk in document.chunks if chunk.kind == "trait"]
    # find_trait only reads the context's traits: the same matching a run does, without a run.
    context = cast(EvalContext, SimpleNamespace(traits=traits))
    per_trait = Counter(find_trait(context, case.trait)[0] for case in cases)
    assert len(cases) >= 30
    assert set(per_trait) == {title for title, _ in traits}, per_trait
    assert min(per_trait.values()) >= 2, per_trait
    assert duplicates(case.seed for case in cases) == []
