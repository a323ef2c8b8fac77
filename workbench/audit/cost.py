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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.audit.datasets import StoredRow, dataset_rows, get_dataset
from workbench.audit.rate import sample_rows
from workbench.audit.scan import CHARS_PER_TOKEN, clip, scan_batches
from workbench.config import AuditConfig, Price
from workbench.generate.cost import CostProjection, StageProjection
from workbench.llm.ledger import call_cost
from workbench.llm.spec import ModelSpec
from workbench.project import Project
from workbench.prompts import load_template

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


def _rows_chars(rows: list[StoredRow], max_tokens: int | None = None) -> int:
    return sum(len(clip(r.text, max_tokens) if max_tokens else r.text) + ROW_WRAPPER_CHARS for r in rows)


def plan_audit(
    project: Project, dataset_ref: str, *, patterns: int = 10, settings: AuditConfig | None = None
) -> AuditProjection:
    """Project the audit of a dataset under `settings` (default `[audit]`) with `patterns` patterns."""
    settings = settings or project.config.audit
    rows = dataset_rows(project, get_dataset(project, dataset_ref).id)
    by_id = {r.row_id: r for r in rows}
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

    scans = scan_batches(rows, settings)
    scan_overhead = _template_chars("audit_scan", project, rows=[])
    scan_chars = sum(scan_overhead + _rows_chars([by_id[i] for i in b.row_ids], settings.max_row_tokens) for b in scans)
    merge_overhead = _template_chars("audit_merge", project, candidates=[], neighbours=[])
    merge_chars = patterns * (merge_overhead + 8 * PATTERN_CHARS)  # a group's reports, about a pattern each
    sample = sample_rows(rows, settings.sample_size, settings.seed)
    row_calls = math.ceil(len(sample) / settings.rows_per_call)
    pattern_calls = math.ceil(patterns / settings.patterns_per_call)
    rate_chars = pattern_calls * (
        row_calls * _template_chars("audit_rate", project, rows=[], patterns=[]) + _rows_chars(sample)
    )
    rate_chars += row_calls * patterns * PATTERN_CHARS
    price = _rater_price(project)
    stages = [
        _stage("audit.scan", len(scans), scan_chars * tokens_per_char, outputs, price),
        _stage("audit.merge", patterns, merge_chars * tokens_per_char, outputs, price),
        _stage("audit.rate", row_calls * pattern_calls, rate_chars * tokens_per_char, outputs, price),
    ]
    cost = CostProjection(measured_calls, len(sample), stages, [], project.config.budget.max_cost_usd_per_run)
    return AuditProjection(cost, len(rows), len(sample), patterns, assumptions)


def _stage(stage: str, calls: int, tokens_in: float, outputs: dict[str, float], price: Price | None) -> StageProjection:
    tokens_out = calls * outputs[stage]
    cost = call_cost(price, round(tokens_in), round(tokens_out)) if price is not None else None
    return StageProjection(stage, calls, tokens_in, tokens_out, cost)


def _rater_price(project: Project) -> Price | None:
    spec = project.config.roles.get("rater")
    if not spec:
        return None
    parsed = ModelSpec.parse(spec)
    return project.config.prices.get(parsed.model) or project.config.prices.get(str(parsed))
