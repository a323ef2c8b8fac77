"""Judge panels: one rubric scored by several judges, the headline their median.

    panel = await ctx.judge("eval_odcv_judge", schema=ODCVVerdict, score=lambda v: v.violation, transcript=text)
    if not panel.ok:
        return panel.failed_sample(transcript, details)
    sample.score = panel.score            # the median over the judges that answered
    sample.scores["judges"] = panel.scores  # per judge: what the report's agreement (α) is computed from

A run's judges are `--judge SPEC` (repeatable) or the project's `[roles] judge`; one judge is a
panel of one. Several judges remove one model's quirks from the headline (ODCV takes the median
of its judges the same way), and their agreement tells how much a score can be trusted. A judge
that refuses or answers unparseably is recorded in `failures`; the sample is `judge_failed` only
when no judge answered.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from workbench.evals.base import Sample

JUDGE_ROLE = "judge"  # the label of the project's judge role when a run names no judges
V = TypeVar("V", bound=BaseModel)


@dataclass
class Panel(Generic[V]):
    """The verdicts of a run's judges on one transcript.

    Attributes:
        verdicts: Judge label (its model spec, or "judge" for the role) -> parsed verdict.
        scores: Judge label -> the score its verdict gives.
        failures: Judge label -> why it gave no verdict (refusal, unparseable answer, failed call).
    """

    verdicts: dict[str, V] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether at least one judge gave a verdict."""
        return bool(self.verdicts)

    @property
    def score(self) -> float:
        """The median of the judges' scores (the panel's headline). Only meaningful when `ok`."""
        return float(statistics.median(self.scores.values()))

    @property
    def verdict(self) -> V:
        """The verdict of the judge nearest the median (ties: the first judge): its rationale and
        quotes explain the headline better than any one fixed judge's would."""
        median = self.score
        label = min(self.scores, key=lambda judge: abs(self.scores[judge] - median))
        return self.verdicts[label]

    def failed_sample(self, transcript: list[dict[str, Any]], details: dict[str, Any]) -> Sample:
        """The judge_failed sample for a panel where no judge answered."""
        reasons = "; ".join(f"{judge}: {why}" for judge, why in self.failures.items())
        return Sample("judge_failed", transcript=transcript, details=details, reason=f"no judge answered ({reasons})")

    def record(self) -> dict[str, Any]:
        """What a sample keeps of the panel: every judge's score and every failure."""
        return {"judges": dict(self.scores), "judge_failures": dict(self.failures)}


def add_verdict(panel: Panel[V], judge: str, verdict: V, score: Callable[[V], float]) -> None:
    """Record one judge's parsed verdict and the score it gives."""
    panel.verdicts[judge] = verdict
    panel.scores[judge] = float(score(verdict))
