"""Projected calls, tokens and cost of a run, from what earlier (pilot) runs actually measured.

`project_cost` is the arithmetic any pipeline shares; `project_sft_cost` feeds it the SFT slots
(the documents pipeline feeds it its own, in `generate/docs_pipeline.py`).
The ledger has every request the SFT stages sent. Dividing each stage's requests by the scenario
slots that reached that stage gives per-slot averages (attempts, repairs, revision rounds and
drops included); multiplying by the slots a run would still fill gives its projection. Cached
answers are free, so slots already filled cost nothing and are not counted. A pilot that stopped
at the human gate has measured only the stages before it: the projection lists the stages it
could not measure, so nobody mistakes a partial figure for the whole.

Since one outlier (a measured call with a giant prompt) is scaled up with the rest, each
projection lists its `outliers`: rows longer than `[limits] outlier_factor` times the median
(or over `[limits] max_row_chars`), how many, the longest, and their share of the projected
input tokens (`find_outliers`; the audit's plan uses it on a dataset's rows).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workbench.errors import WorkbenchError
from workbench.generate.context import select_traits
from workbench.project import Project
from workbench.runs import work_cap
from workbench.store.traits import get_version, version_chunks


@dataclass(frozen=True)
class StageProjection:
    """Projected requests, tokens and cost of one stage."""

    stage: str
    calls: float
    tokens_in: float
    tokens_out: float
    cost_usd: float | None


@dataclass(frozen=True)
class Outliers:
    """Rows that weigh on a projection far beyond their number: much longer than the median, or over the cap.

    Attributes:
        what: The rows looked at ("rows of 'chats'", "sft.refined calls").
        unit: What the lengths count ("characters", "prompt tokens").
        rows: How many rows were looked at.
        median: Their median length.
        factor: A row longer than `factor` x the median is an outlier.
        outliers: How many rows are longer than that.
        cap: `[limits] max_row_chars`, where the lengths are characters (else None).
        over_cap: How many rows are longer than the cap.
        longest_id: The longest row.
        longest: Its length.
        share: The flagged rows' share of the projection's input tokens (0 to 1).
    """

    what: str
    unit: str
    rows: int
    median: float
    factor: float
    outliers: int
    cap: int | None
    over_cap: int
    longest_id: str
    longest: int
    share: float


def find_outliers(
    lengths: Mapping[str, int],
    projected: Mapping[str, float],
    total: float,
    *,
    what: str,
    unit: str,
    factor: float,
    cap: int | None = None,
) -> Outliers | None:
    """The rows longer than `factor` x the median length or than `cap`, summed up; None if there are none.

    Args:
        lengths: Row id -> length.
        projected: Row id -> the input tokens the projection counts for it (0 if absent).
        total: The projection's input tokens, which the flagged rows' share is of.
        what: The rows, for people.
        unit: What the lengths count.
        factor: `[limits] outlier_factor`.
        cap: `[limits] max_row_chars`, if the lengths are characters.
    """
    if not lengths:
        return None
    median = statistics.median(lengths.values())
    # With a median of 0 (mostly empty rows) every non-empty row would be "far longer": no signal.
    long = {i for i, n in lengths.items() if n > factor * median} if median > 0 else set()
    over = {i for i, n in lengths.items() if cap is not None and n > cap}
    if not long and not over:
        return None
    longest_id = max(lengths, key=lambda i: lengths[i])
    share = sum(projected.get(i, 0.0) for i in long | over) / total if total else 0.0
    return Outliers(what, unit, len(lengths), median, factor, len(long), cap, len(over), longest_id,
                    lengths[longest_id], min(share, 1.0))  # fmt: skip


@dataclass(frozen=True)
class CostProjection:
    """What filling the remaining scenario slots is expected to take.

    Attributes:
        measured_slots: Slots filled by earlier runs (the basis of the averages).
        remaining_slots: Slots the run would still fill.
        stages: Per-stage projections.
        unmeasured: Stages a run goes through that no earlier run reached (not in the totals).
        budget_usd: The cap of the piece of work a run would advance (None: no cap).
        outliers: Rows (measured calls, a dataset's rows) far longer than the rest, per kind of row.
    """

    measured_slots: int
    remaining_slots: int
    stages: list[StageProjection]
    unmeasured: list[str]
    budget_usd: float | None
    outliers: list[Outliers] = field(default_factory=list)

    @property
    def calls(self) -> float:
        return sum(s.calls for s in self.stages)

    @property
    def tokens(self) -> float:
        return sum(s.tokens_in + s.tokens_out for s in self.stages)

    @property
    def cost_usd(self) -> float | None:
        costs = [s.cost_usd for s in self.stages]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


# The scenario slot each generation (and each deduplicated example) belongs to, whatever its
# subject: a scenario, an answer to one, or an example.
_SLOTS_PER_STAGE = """
WITH owner AS (
    SELECT 'sft.' || g.step AS stage, coalesce(s.id, parent.subject_id, e.scenario_id) AS scenario_id
    FROM sft_generations g
    LEFT JOIN sft_scenarios s ON s.id = g.subject_id
    LEFT JOIN sft_generations parent ON parent.id = g.subject_id
    LEFT JOIN sft_examples e ON e.id = g.subject_id
    UNION ALL
    SELECT 'sft.dedup', scenario_id FROM sft_examples WHERE status NOT IN ('new', 'rated')
)
SELECT stage, count(DISTINCT (s.traits_version, s.chunk_id, s.slot))
FROM owner JOIN sft_scenarios s ON s.id = owner.scenario_id GROUP BY stage
"""


def _expected_stages(project: Project) -> list[str]:
    steps = ["scenario", "baseline", "critique", "conditioned", "refined", "rating"]
    if project.config.sft.preference:
        steps += ["rejected", "rejected_check"]
    return [f"sft.{s}" for s in steps]


def project_sft_cost(
    project: Project, traits_ref: str, *, chunk_keys: Sequence[str] | None = None, scenarios: int | None = None
) -> CostProjection:
    """Project the cost of filling `scenarios` slots per trait from the pilot's measured averages.

    Raises:
        WorkbenchError: nothing has been measured yet (run a pilot first).
    """
    version = get_version(project.store, traits_ref)
    traits = select_traits(version_chunks(project.store, version.id), chunk_keys)
    per_trait = scenarios if scenarios is not None else project.config.sft.scenarios_per_chunk
    with project.store.connect() as con:
        reached: dict[str, int] = {stage: int(n) for stage, n in con.execute(_SLOTS_PER_STAGE).fetchall()}
        filled = con.execute(
            "SELECT count(DISTINCT (chunk_id, slot)) FROM sft_scenarios WHERE traits_version = ?"
            " AND chunk_id IN (SELECT unnest(?)) AND slot < ?",
            [version.id, [t.id for t in traits], per_trait],
        ).fetchone()[0]  # type: ignore[index]
    return project_cost(
        project, "sft", work=f"sft:{version.id}", reached=reached, first_stage="sft.scenario",
        remaining=len(traits) * per_trait - int(filled),
        expected=_expected_stages(project), label="SFT",
        hint="Run a pilot first, e.g. `workbench sft run TRAITS --pilot 2`.",
    )  # fmt: skip


def project_cost(
    project: Project,
    prefix: str,
    *,
    work: str,
    reached: dict[str, int],
    first_stage: str,
    remaining: int,
    expected: Sequence[str],
    label: str,
    hint: str,
) -> CostProjection:
    """Scale each `{prefix}.*` ledger stage's totals by `remaining` over the slots that reached it.

    Args:
        project: Whose ledger and budget.
        prefix: The pipeline's ledger stage prefix ("sft", "docs").
        work: The piece of work a run would advance (its cap is the one shown).
        reached: Stage -> slots that reached it (those the ledger's figures were spent on).
        first_stage: The stage every slot passes first; its count is the measured slots.
        remaining: Slots the run would still fill.
        expected: Every stage a full run goes through (those missing are listed as unmeasured).
        label: The pipeline's name in messages ("SFT", "documents").
        hint: What to run when nothing has been measured.

    Raises:
        WorkbenchError: nothing has been measured yet.
    """
    with project.store.connect() as con:
        stages = con.execute(
            "SELECT stage, count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), sum(cost_usd),"
            " count(*) FILTER (WHERE cost_usd IS NULL AND tokens_in IS NOT NULL)"
            " FROM llm_calls WHERE starts_with(stage, ?) GROUP BY stage ORDER BY stage",
            [f"{prefix}."],
        ).fetchall()
    measured_slots = reached.get(first_stage, 0)
    if not measured_slots or not stages:
        raise WorkbenchError(
            f"Nothing to project from: no {label} run has been measured in this project yet.", hint=hint
        )
    projections = []
    scales = {}
    for stage, calls, tin, tout, cost, unpriced in stages:
        scale = scales[stage] = remaining / max(1, reached.get(stage, measured_slots))
        projection = (calls * scale, tin * scale, tout * scale, None if unpriced else (cost or 0.0) * scale)
        projections.append(StageProjection(stage, *projection))
    unmeasured = [s for s in expected if s not in {p.stage for p in projections}]
    budget = work_cap(project.store, work, project.config.budget.max_cost_usd_per_run)
    outliers = _call_outliers(project, prefix, scales, sum(p.tokens_in for p in projections))
    return CostProjection(measured_slots, remaining, projections, unmeasured, budget, outliers)


# The generations table of each pipeline's stages: a call's row is found by its cache key.
_GENERATIONS = {"sft": "sft_generations", "docs": "doc_generations"}


def _call_outliers(project: Project, prefix: str, scales: dict[str, float], total: float) -> list[Outliers]:
    """Per stage, the measured calls whose prompt is far longer than the stage's median.

    Each measured call is scaled up like the rest of its stage, so one giant prompt in a pilot
    can dominate the projection; its share says by how much.
    """
    table = _GENERATIONS.get(prefix)
    row = f"(SELECT any_value(g.subject_id) FROM {table} g WHERE g.cache_key = l.cache_key)" if table else "NULL"
    with project.store.connect() as con:
        calls = con.execute(
            f"SELECT l.stage, l.id, coalesce({row}, l.id), l.tokens_in FROM llm_calls l WHERE starts_with(l.stage, ?)"
            " AND l.purpose = 'call' AND l.tokens_in IS NOT NULL",
            [f"{prefix}."],
        ).fetchall()
    by_stage: dict[str, dict[str, int]] = {}
    subjects = {}
    for stage, call, subject, tokens in calls:
        by_stage.setdefault(stage, {})[call] = tokens
        subjects[call] = subject
    found = []
    for stage, lengths in sorted(by_stage.items()):
        projected = {call: n * scales.get(stage, 0.0) for call, n in lengths.items()}
        outliers = find_outliers(lengths, projected, total, what=f"{stage} calls", unit="prompt tokens",
                                 factor=project.config.limits.outlier_factor)  # fmt: skip
        if outliers is not None:  # named by the row the call was about, which a person can look up
            found.append(dataclasses.replace(outliers, longest_id=subjects[outliers.longest_id]))
    return found
