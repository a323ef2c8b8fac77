"""Projected calls, tokens and cost of a run, from what earlier (pilot) runs actually measured.

`project_cost` is the arithmetic any pipeline shares; `project_sft_cost` feeds it the SFT slots
(the documents pipeline feeds it its own, in `generate/docs_pipeline.py`).
A projection is per traits document: it reads only the ledger rows of runs on that document's
versions and the slots they filled (`generate/cost_basis.py`), never an average over the project.
Dividing each stage's requests by the scenario slots that reached that stage gives per-slot
averages (attempts, repairs, revision rounds and drops included); multiplying by the slots a run
would still fill gives its projection. Input tokens are projected trait by trait: the measured
per-call input scaled by each remaining trait's prompt size (its template, trait, guidance and
boundaries) relative to the pilot's, so `largest_call` names the biggest prompt a run would send
and for which trait. Cached
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
from typing import Any

from workbench.errors import WorkbenchError
from workbench.generate.context import select_traits
from workbench.generate.cost_basis import DocumentBasis, document_basis
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
class LargestCall:
    """The biggest prompt a run is expected to send: its stage, its trait (None: any) and its input tokens."""

    stage: str
    trait: str | None
    tokens_in: float


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
        largest_call: The biggest call a run would send, where known.
    """

    measured_slots: int
    remaining_slots: int
    stages: list[StageProjection]
    unmeasured: list[str]
    budget_usd: float | None
    outliers: list[Outliers] = field(default_factory=list)
    largest_call: LargestCall | None = None

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


# The scenario slots of a document's versions each stage reached, per (version, trait): a
# generation (or a deduplicated example) belongs to its scenario's slot, whatever its subject.
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
SELECT stage, s.traits_version, s.chunk_id, count(DISTINCT s.slot)
FROM owner JOIN sft_scenarios s ON s.id = owner.scenario_id
WHERE s.traits_version IN (SELECT unnest(?)) GROUP BY ALL
"""

SFT_TEMPLATES = {
    "sft.scenario": "scenarios", "sft.critique": "scenario_critique", "sft.conditioned": "conditioned_system",
    "sft.refined": "refine", "sft.rating": "autorate", "sft.rejected": "rejected_system",
    "sft.rejected_check": "rejected_check",
}  # fmt: skip
"""The template each SFT ledger stage's prompts are made from (the baseline's is the bare user prompt)."""


def _expected_stages(project: Project) -> list[str]:
    steps = ["scenario", "baseline", "critique", "conditioned", "refined", "rating"]
    if project.config.sft.preference:
        # The baseline source's first try is the critique step's answer: its `rejected` calls are retries only.
        contrastive = project.config.sft.rejected_source == "contrastive"
        steps += ["rejected", "rejected_check"] if contrastive else ["rejected_check"]
    return [f"sft.{s}" for s in steps]


def project_sft_cost(
    project: Project, traits_ref: str, *, chunk_keys: Sequence[str] | None = None, scenarios: int | None = None
) -> CostProjection:
    """Project the cost of filling `scenarios` slots per trait from the pilot of the same traits document.

    Raises:
        WorkbenchError: nothing has been measured on this document yet (run a pilot first).
    """
    version = get_version(project.store, traits_ref)
    traits = select_traits(version_chunks(project.store, version.id), chunk_keys)
    per_trait = scenarios if scenarios is not None else project.config.sft.scenarios_per_chunk
    with project.store.connect() as con:
        filled = set(
            con.execute(
                "SELECT DISTINCT chunk_id, slot FROM sft_scenarios WHERE traits_version = ?"
                " AND chunk_id IN (SELECT unnest(?)) AND slot < ?",
                [version.id, [t.id for t in traits], per_trait],
            ).fetchall()
        )
    remaining = {t.id: sum((t.id, slot) not in filled for slot in range(per_trait)) for t in traits}
    # Slot i of a trait with questions takes question i as its prompt: no scenario call for it.
    seeded = {
        t.id: sum((t.id, slot) not in filled for slot in range(min(len(t.questions), per_trait)))
        for t in traits
        if project.config.sft.seed_prompts != "off"
    }
    basis = document_basis(project, version, slots_sql=_SLOTS_PER_STAGE, remaining=remaining,
                           templates=SFT_TEMPLATES, skipped={"sft.scenario": seeded})  # fmt: skip
    return project_cost(
        project, "sft", work=f"sft:{version.id}", reached=basis.reached,
        remaining=sum(remaining.values()), expected=_expected_stages(project), label="SFT",
        hint="Run a pilot first, e.g. `workbench sft run TRAITS --pilot 2`.", basis=basis,
    )  # fmt: skip


def project_cost(
    project: Project,
    prefix: str,
    *,
    work: str,
    reached: dict[str, int],
    remaining: int,
    expected: Sequence[str],
    label: str,
    hint: str,
    basis: DocumentBasis | None = None,
) -> CostProjection:
    """Scale each `{prefix}.*` ledger stage's totals by `remaining` over the slots that reached it.

    Args:
        project: Whose ledger and budget.
        prefix: The pipeline's ledger stage prefix ("sft", "docs").
        work: The piece of work a run would advance (its cap is the one shown).
        reached: Stage -> slots that reached it (those the ledger's figures were spent on).
        remaining: Slots the run would still fill.
        expected: Every stage a full run goes through (those missing are listed as unmeasured).
        label: The pipeline's name in messages ("SFT", "documents").
        hint: What to run when nothing has been measured.
        basis: The traits document projected for: only its runs' ledger rows count, and input
            tokens are projected per trait (None: the whole ledger, scaled evenly).

    Raises:
        WorkbenchError: nothing has been measured yet.
    """
    stages = _ledger_stages(project, prefix, basis)
    # The slots measured: those that reached the stage most did (every slot passes the first stage,
    # but a seeded SFT slot skips the scenario call and starts at the baseline).
    measured_slots = max(reached.values(), default=0)
    if not measured_slots or not stages:
        where = f" on the traits document {basis.document!r}" if basis else " in this project"
        raise WorkbenchError(f"Nothing to project from: no {label} run has been measured{where} yet.", hint=hint)
    projections, scales, largest = [], {}, []
    for stage, (calls, tin, tout, cost, in_cost, unpriced) in stages.items():
        slots = max(1, reached.get(stage, measured_slots))
        left = remaining - (basis.skipped.get(stage, 0) if basis else 0)
        scale = scales[stage] = left / slots
        targets = basis.targets.get(stage) if basis else None
        pilot = basis.pilot_part.get(stage) if basis else None
        per_call = tin / calls if calls else 0.0
        if targets and pilot:  # each trait's calls scaled by its prompt size relative to the pilot's
            projected_in = sum(t.remaining * calls / slots * per_call * t.tokens / pilot for t in targets)
            largest += [LargestCall(stage, t.trait, per_call * t.tokens / pilot) for t in targets]
        else:
            projected_in = tin * scale
            largest.append(LargestCall(stage, None, per_call))
        # The input's share of the cost follows the projected input tokens; the output's, the slots.
        price = None if unpriced else (cost - in_cost) * scale + (in_cost * projected_in / tin if tin else 0.0)
        projections.append(StageProjection(stage, calls * scale, projected_in, tout * scale, price))
    unmeasured = [s for s in expected if s not in {p.stage for p in projections}]
    budget = work_cap(project.store, work, project.config.budget.max_cost_usd_per_run)
    outliers = _call_outliers(project, prefix, scales, sum(p.tokens_in for p in projections), basis)
    biggest = max(largest, key=lambda c: (c.tokens_in, c.stage, c.trait or ""), default=None)
    return CostProjection(measured_slots, remaining, projections, unmeasured, budget, outliers, biggest)


def _runs_of(basis: DocumentBasis | None) -> tuple[str, list[Any]]:
    """A WHERE fragment over ledger alias `l`: only runs on the basis's document (everything without one)."""
    if basis is None:
        return "", []
    return " AND l.run_id IN (SELECT id FROM runs WHERE traits_version IN (SELECT unnest(?)))", [basis.versions]


def _ledger_stages(
    project: Project, prefix: str, basis: DocumentBasis | None
) -> dict[str, tuple[int, int, int, float, float, bool]]:
    """Stage -> (calls, tokens in, tokens out, cost, the input's part of the cost, any call unpriced)."""
    where, params = _runs_of(basis)
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT l.stage, l.model, count(*), coalesce(sum(l.tokens_in), 0), coalesce(sum(l.tokens_out), 0),"
            " coalesce(sum(l.cost_usd), 0), count(*) FILTER (WHERE l.cost_usd IS NULL AND l.tokens_in IS NOT NULL)"
            f" FROM llm_calls l WHERE starts_with(l.stage, ?){where} GROUP BY ALL ORDER BY l.stage, l.model",
            [f"{prefix}.", *params],
        ).fetchall()
    stages: dict[str, tuple[int, int, int, float, float, bool]] = {}
    for stage, model, calls, tin, tout, cost, unpriced in rows:
        in_cost = _input_cost(project, model, tin, tout, cost)
        before = stages.get(stage, (0, 0, 0, 0.0, 0.0, False))
        stages[stage] = (before[0] + calls, before[1] + tin, before[2] + tout, before[3] + cost,
                         before[4] + in_cost, before[5] or bool(unpriced))  # fmt: skip
    return stages


def _input_cost(project: Project, model: str, tokens_in: int, tokens_out: int, cost: float) -> float:
    """The part of `cost` spent on input: by the model's price, else in proportion to the tokens."""
    prices = project.config.prices
    price = prices.get(model) or prices.get(model.split(":", 1)[-1].split("@", 1)[0])
    if price is None:
        return cost * tokens_in / max(1, tokens_in + tokens_out)
    return min(cost, tokens_in * price.input_per_mtok / 1e6)


# The generations table of each pipeline's stages: a call's row is found by its cache key.
_GENERATIONS = {"sft": "sft_generations", "docs": "doc_generations"}


def _call_outliers(
    project: Project, prefix: str, scales: dict[str, float], total: float, basis: DocumentBasis | None
) -> list[Outliers]:
    """Per stage, the measured calls whose prompt is far longer than the stage's median.

    Each measured call is scaled up like the rest of its stage, so one giant prompt in a pilot
    can dominate the projection; its share says by how much.
    """
    table = _GENERATIONS.get(prefix)
    row = f"(SELECT any_value(g.subject_id) FROM {table} g WHERE g.cache_key = l.cache_key)" if table else "NULL"
    where, params = _runs_of(basis)
    with project.store.connect() as con:
        calls = con.execute(
            f"SELECT l.stage, l.id, coalesce({row}, l.id), l.tokens_in FROM llm_calls l WHERE starts_with(l.stage, ?)"
            f" AND l.purpose = 'call' AND l.tokens_in IS NOT NULL{where}",
            [f"{prefix}.", *params],
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
