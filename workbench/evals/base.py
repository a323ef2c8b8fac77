"""What a suite is: a case model, a way to run one case, and the sample it returns.

Suites register themselves by defining `SUITE` in a module of `workbench/evals/suites/`; the
registry finds them there, so adding a suite touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.evals.context import EvalContext

SampleStatus = Literal["ok", "invalid", "judge_failed"]
T = TypeVar("T")


class Case(BaseModel):
    """What every eval case has: an id, unique within its file. Suites subclass it."""

    id: str = Field(description="Unique within the cases file; samples are keyed by it.")


@dataclass
class Sample:
    """One finished case.

    Attributes:
        status: ok; invalid (the target never replied, or the setup failed: not a score of the
            target); judge_failed (the judge refused or its answer could not be parsed).
        score: The headline score (None unless ok).
        scores: Sub-scores (per point, per turn, per verdict ...).
        transcript: The conversation as it went: [{role, content, ...}].
        rationale: The judge's reasons, quoting the transcript.
        reason: Why the sample is invalid or the judge failed.
        details: Anything else worth keeping (strategy assessments, retries, tool calls).
    """

    status: SampleStatus
    score: float | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    rationale: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A suite of eval cases.

    Attributes:
        name: The suite's name (`--suite`), also its cases file's stem under data/evals/.
        case_model: The pydantic model each case must validate against (it needs an `id`).
        run_case: Plays and judges one case.
        description: One line for `workbench eval suites`.
        score_range: The headline score's range, for charts.
        higher_is_better: Whether a higher headline score is the desired behaviour.
        beside: Numeric sub-scores (keys of `Sample.scores`) the report shows beside the headline,
            each as a mean with its interval (ODCV: the mean violation score beside the violation rate).
        weight: The key of `Sample.scores` holding each sample's weight in the headline mean (knowledge:
            its number of points, so the headline is the mean over all points made); None: equal weights.
        epochs: How many times `workbench eval run` plays each case unless `--epochs` says otherwise.
        judge: Scores a played sample again with the context's judges, from its transcript and
            details alone (the suite's judging step, which `run_case` ends with); `workbench eval
            rejudge` uses it. None: the suite has no judge (its scores are computed).
    """

    name: str
    case_model: type[Case]
    run_case: Callable[[EvalContext, Any], Awaitable[Sample]]
    description: str
    score_range: tuple[float, float]
    higher_is_better: bool = True
    beside: tuple[str, ...] = ()
    weight: str | None = None
    epochs: int = 1
    judge: Callable[[EvalContext, Any, Sample], Awaitable[Sample]] | None = None


def suites() -> dict[str, Suite]:
    """Every suite defined in `workbench.evals.suites`, by name."""
    from workbench.evals import suites as package

    return {suite.name: suite for suite in registered(package.__name__, package.__path__, "SUITE", Suite)}


def registered(package: str, path: Iterable[str], attribute: str, kind: type[T]) -> list[T]:
    """The `attribute` of every module of a package that defines one of type `kind`: how suites and
    importers register, so that adding one touches no shared file."""
    found = []
    for module in pkgutil.iter_modules(path):
        value = getattr(importlib.import_module(f"{package}.{module.name}"), attribute, None)
        if isinstance(value, kind):
            found.append(value)
    return found


def get_suite(name: str) -> Suite:
    """A suite by name.

    Raises:
        WorkbenchError: no such suite.
    """
    known = suites()
    if name not in known:
        raise WorkbenchError(f"Unknown eval suite {name!r}.", hint=f"Suites: {', '.join(sorted(known)) or 'none'}.")
    return known[name]
