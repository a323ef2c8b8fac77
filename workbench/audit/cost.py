"""What an audit will cost, before it runs: calls, tokens and USD per step.

    projection = plan_audit(project, "sft", patterns=10)
    print(projection.cost.calls, projection.cost.cost_usd, projection.assumptions)

Calls are exact: the scans are the configured number, merges one per expected pattern, and
rating ceil(S / rows_per_call) x ceil(P / patterns_per_call). Input tokens come from the prompts
the audit would send, built from this dataset's rows: the scan batches and the rating sample
are drawn exactly as the run draws them, and their characters are converted to tokens at the
rate the project's earlier audit calls measured (prompt characters against the tokens the API
billed). Output tokens per call are likewise measured per step. Until an audit has run in this
project, the rate and the outputs are assumptions, listed in `assumptions` so nobody mistakes
them for measurements.

As in the run, a row over `[limits] max_row_chars` is cut in the scans and left out of rating.
The projection's `cost.outliers` sums up the rows longer than `[limits] outlier_factor` times the
median row, or over the cap: how many, the longest, and their share of the input tokens.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from workbench.audit.datasets import StoredRow, dataset_rows, get_dataset
from workbench.audit.rate import sample_rows
from workbench.audit.scan import clip, scan_batches
from workbench.config import Price
from workbench.config_stages import AuditConfig
from workbench.generate.cost import CostProjection, StageProjection, find_outliers
from workbench.llm.ledger import call_cost
from workbench.llm.spec import ModelSpec
from workbench.project import Project
from workbench.prompts import load_template
from workbench.tokens import CHARS_PER_TOKEN

# Output tokens per call until measured, and the prompt length of one pattern in a rating call.
ASSUMED_OUTPUT = {"audit.scan": 900, "audit.merge": 250, "audit.rate": 150}
PATTERN_CHARS = 450
ROW_WRAPPER_CHARS = 30  # the <row label="R12"> ... </row> around each row


@dataclass(frozen=True)
class AuditProjection:
    """An audit's projected cost and the figures that are assumed rather than measured."""

    cost: CostProjection  # measured_slots: earlier audit calls measured; remaining_slots: rows to rate
    rows: int
    sample: int
    patterns: int
    assumptions: list[str]


def _measured(project: Project) -> tuple[float | None, dict[str, float], int]:
    """Tokens per prompt character, output tokens per call by stage, and the calls they come from."""
    with project.store.connect() as con:
        ratio = con.execute(
            "SELECT sum(l.tokens_in) / nullif(sum(length(json_extract_string(c.request, '$.messages[0][1]'))), 0)"
            " FROM llm_calls l JOIN llm_cache c ON c.key = l.cache_key"
            " WHERE starts_with(l.stage, 'audit.') AND l.purpose = 'call' AND l.tokens_in IS NOT NULL",
        ).fetchone()
        outputs = con.execute(
            "SELECT stage, avg(tokens_out), count(*) FROM llm_calls WHERE starts_with(stage, 'audit.')"
            " AND purpose = 'call' AND tokens_out IS NOT NULL GROUP BY stage"
        ).fetchall()
    per_call = {stage: float(avg) for stage, avg, _ in outputs}
    return (float(ratio[0]) if ratio and ratio[0] else None), per_call, sum(n for *_, n in outputs)


def _template_chars(name: str, project: Project, **variables: object) -> int:
    return len(load_template(name, project.root).render(**variables))


def _row_chars(row: StoredRow, scan: AuditConfig | None = None, cap: int | None = None) -> int:
    """The characters a row takes in a prompt: cut as a scan cuts it (with `scan`), else whole."""
    return len(clip(row.text, scan.max_row_tokens, cap) if scan else row.text) + ROW_WRAPPER_CHARS


def plan_audit(
    project: Project, dataset_ref: str, *, patterns: int = 10, settings: AuditConfig | None = None
) -> AuditProjection:
    """Project the audit of a dataset under `settings` (default `[audit]`) with `patterns` patterns."""
    settings = settings or project.config.audit
    dataset = get_dataset(project, dataset_ref)
    rows = dataset_rows(project, dataset.id)
    tokens_per_char, outputs, measured_calls, assumptions = _rates(project, patterns)
    cap = project.config.limits.max_row_chars
    scans = scan_batches(rows, settings)
    scanned = Counter(row_id for b in scans for row_id in b.row_ids)  # a row may be in several scans
    sample = [r for r in sample_rows(rows, settings.sample_size, settings.seed) if len(r.text) <= cap]
    row_calls = math.ceil(len(sample) / settings.rows_per_call)
    pattern_calls = math.ceil(patterns / settings.patterns_per_call)
    # The characters each row puts into the prompts: cut in each of its scans, whole in its ratings.
    in_scans = {r.row_id: scanned[r.row_id] * _row_chars(r, settings, cap) for r in rows}
    in_rating = {r.row_id: pattern_calls * _row_chars(r) for r in sample}
    scan_chars = len(scans) * _template_chars("audit_scan", project, rows=[]) + sum(in_scans.values())
    merge_overhead = _template_chars("audit_merge", project, candidates=[], neighbours=[])
    merge_chars = patterns * (merge_overhead + 8 * PATTERN_CHARS)  # a group's reports, about a pattern each
    rate_overhead = _template_chars("audit_rate", project, rows=[], patterns=[])
    rate_chars = row_calls * (pattern_calls * rate_overhead + patterns * PATTERN_CHARS) + sum(in_rating.values())
    price = _rater_price(project)
    stages = [
        _stage("audit.scan", len(scans), scan_chars * tokens_per_char, outputs, price),
        _stage("audit.merge", patterns, merge_chars * tokens_per_char, outputs, price),
        _stage("audit.rate", row_calls * pattern_calls, rate_chars * tokens_per_char, outputs, price),
    ]
    outliers = find_outliers(
        {r.row_id: len(r.text) for r in rows},
        {i: (n + in_rating.get(i, 0)) * tokens_per_char for i, n in in_scans.items()},
        sum(s.tokens_in for s in stages),
        what=f"rows of {dataset.name!r}", unit="characters", factor=project.config.limits.outlier_factor, cap=cap,
    )  # fmt: skip
    budget = project.config.budget.max_cost_usd_per_run
    cost = CostProjection(measured_calls, len(sample), stages, [], budget, [outliers] if outliers else [])
    return AuditProjection(cost, len(rows), len(sample), patterns, assumptions)


def _rates(project: Project, patterns: int) -> tuple[float, dict[str, float], int, list[str]]:
    """Tokens per character and output tokens per call by stage, measured or else assumed (and listed)."""
    tokens_per_char, outputs, measured_calls = _measured(project)
    assumptions = []
    if tokens_per_char is None:
        tokens_per_char = 1 / CHARS_PER_TOKEN
        assumptions.append(f"{CHARS_PER_TOKEN} characters per token (no audit has been measured here yet)")
    for stage, tokens in ASSUMED_OUTPUT.items():
        if stage not in outputs:
            outputs[stage] = tokens
            assumptions.append(f"{tokens} output tokens per {stage.removeprefix('audit.')} call")
    assumptions.append(f"{patterns} patterns of about {PATTERN_CHARS} characters each")
    return tokens_per_char, outputs, measured_calls, assumptions


def _stage(stage: str, calls: int, tokens_in: float, outputs: dict[str, float], price: Price | None) -> StageProjection:
    tokens_out = calls * outputs[stage]
    cost = call_cost(price, round(tokens_in), round(tokens_out)) if price is not None else None
    return StageProjection(stage, calls, tokens_in, tokens_out, cost)


def _rater_price(project: Project) -> Price | None:
    spec = project.config.roles.get("rater")
    if not spec:
        return None
    parsed = ModelSpec.parse(spec)
    return project.config.price_of(parsed)
