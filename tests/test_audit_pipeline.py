"""The pattern audit end to end: a planted dataset, the real google-genai client, a fake answering by rule.

200 chat rows: 40% open with emotional validation (10% more only validate mildly, mid-answer),
25% end by asking for clarification, 15% start with "Bottom line:" (never reported by a scan,
added by hand). The fake rater applies the rules that planted them (tests/audit_setup.py), so the
audit must find the two patterns, drop each scan's one-off noise, and measure rates whose Wilson
intervals contain the planted ones.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.audit_fixtures import CLARIFY, ROWS, SAMPLE, VALIDATION, audit, by_name
from tests.audit_setup import (
    BOTTOM_LINE_RATE,
    CLARIFY_RATE,
    MILD_VALIDATION_RATE,
    VALIDATION_RATE,
    planted_rows,
    planted_truth,
)
from tests.fakes.audit_model import CLARIFY_NAMES, HALLUCINATED_QUOTE, VALIDATION_NAMES, AuditFakeModel
from tests.sft_setup import rows
from workbench.audit.cost import plan_audit
from workbench.audit.datasets import DatasetRow, dataset_rows, export_dataset
from workbench.audit.filters import filter_dataset, rate_outputs
from workbench.audit.patterns import add_pattern, edit_pattern, get_pattern, list_patterns
from workbench.audit.prevalence import audit_report
from workbench.project import Project
from workbench.status import project_status


def test_audit_finds_both_planted_patterns_and_measures_them(audit_project: Project, fake: AuditFakeModel) -> None:
    result = audit(audit_project)

    found = by_name(result.report)
    assert set(found) == {VALIDATION, CLARIFY}  # each scan's one-off noise is dropped
    planted_names = [*VALIDATION_NAMES, *CLARIFY_NAMES]
    noise = rows(audit_project, "SELECT count(DISTINCT scan) FROM audit_candidates WHERE name NOT IN "
                 "(SELECT unnest(?))", planted_names)  # fmt: skip
    assert noise[0][0] == 8  # every scan reported noise, none of it survived
    for p in found.values():
        assert len(p.pattern.scans) >= 2 and p.pattern.origin == "found"
        assert p.pattern.broad and p.pattern.strict
    validation, clarify = found[VALIDATION], found[CLARIFY]
    assert validation.strict.n == clarify.strict.n == SAMPLE and validation.unrated == 0
    assert validation.strict.contains(VALIDATION_RATE)
    assert validation.broad.contains(VALIDATION_RATE + MILD_VALIDATION_RATE)
    assert validation.broad.k > validation.strict.k  # the mild rows count as broad only
    assert clarify.strict.contains(CLARIFY_RATE)
    assert set(validation.by_group) == {"Trait A", "Trait B"}
    assert sum(g.strict.n for g in validation.by_group.values()) == SAMPLE
    assert sum(g.strict.k for g in validation.by_group.values()) == validation.strict.k

    # Several rows and patterns per call: 12 rating calls, not 120 rows x 2 patterns.
    assert (fake.scan_calls, fake.merge_calls, fake.rate_calls) == (8, 2, math.ceil(SAMPLE / 10))
    status = project_status(audit_project.store).rows
    assert status["audit.scan"] == {"ok": 8} and status["audit.patterns"] == {"found active": 2}


def test_ratings_match_the_planted_truth_row_by_row(audit_project: Project, fake: AuditFakeModel) -> None:
    result = audit(audit_project)
    truth = planted_truth(planted_rows(ROWS))
    sql = "SELECT d.row_id, r.level FROM audit_ratings r JOIN audit_rows d USING (text_hash) WHERE r.pattern_id = ?"
    levels = dict(rows(audit_project, sql, by_name(result.report)[VALIDATION].pattern.id))
    assert len(levels) == SAMPLE
    assert {i for i, level in levels.items() if level == "strict"} == truth["validation"]["strict"] & set(levels)
    assert {i for i, level in levels.items() if level != "absent"} == truth["validation"]["broad"] & set(levels)


def test_evidence_is_tied_to_row_ids_and_made_up_quotes_are_flagged(
    audit_project: Project, fake: AuditFakeModel
) -> None:
    audit(audit_project, steps=("scan",))
    texts = dict(rows(audit_project, "SELECT row_id, text FROM audit_rows"))
    evidence = [e for (raw,) in rows(audit_project, "SELECT evidence FROM audit_candidates") for e in json.loads(raw)]
    assert evidence and all(e["row_id"] in texts for e in evidence)
    made_up = [e for e in evidence if e["quote"] == HALLUCINATED_QUOTE]
    assert made_up and not any(e["verified"] for e in made_up)
    assert all(e["quote"] in texts[e["row_id"]] for e in evidence if e["verified"])


def test_a_second_run_sends_nothing(audit_project: Project, fake_gemini: Any, fake: AuditFakeModel) -> None:
    first = audit(audit_project)
    sent = fake_gemini.requests_total
    second = audit(audit_project)
    assert fake_gemini.requests_total == sent
    assert second.audit_id == first.audit_id
    assert second.report.model_dump() == first.report.model_dump()
    assert rows(audit_project, "SELECT count(*) FROM audit_patterns")[0][0] == 2


def test_criteria_can_be_edited_before_rating(audit_project: Project, fake: AuditFakeModel) -> None:
    first = audit(audit_project, steps=("scan", "cluster"))
    assert fake.rate_calls == 0 and all(p.strict.n == 0 for p in first.report.patterns)
    validation = get_pattern(audit_project, VALIDATION, first.audit_id)
    edit_pattern(audit_project, validation.id, strict="The first sentence validates the user's feelings, verbatim.")
    report = audit(audit_project, steps=("rate",)).report
    assert by_name(report)[VALIDATION].pattern.strict.endswith("verbatim.")
    assert by_name(report)[VALIDATION].strict.contains(VALIDATION_RATE)


def test_a_manual_pattern_and_an_edit_rate_only_what_changed(audit_project: Project, fake: AuditFakeModel) -> None:
    result = audit(audit_project)
    calls = fake.rate_calls
    add_pattern(
        audit_project, result.audit_id, "Bottom line up front", "States the verdict before anything else.",
        broad="A conclusion appears in the first sentence.", strict="The answer starts with 'Bottom line:'.",
    )  # fmt: skip
    report = audit(audit_project, steps=("rate",)).report
    assert fake.rate_calls - calls == math.ceil(SAMPLE / 10)  # one new pattern: one pass over the sample
    manual = by_name(report)["Bottom line up front"]
    assert manual.pattern.origin == "manual" and manual.strict.contains(BOTTOM_LINE_RATE)
    assert [p.pattern.name for p in report.patterns][-1] == "Bottom line up front"

    calls = fake.rate_calls
    edit_pattern(audit_project, manual.pattern.id, broad="Any verdict stated before the reasons (bottom line).")
    report = audit(audit_project, steps=("rate",)).report
    assert fake.rate_calls - calls == math.ceil(SAMPLE / 10)  # only the edited pattern is rated again
    assert (
        rows(
            audit_project,
            "SELECT count(DISTINCT criteria_hash) FROM audit_ratings WHERE pattern_id = ?",
            manual.pattern.id,
        )[0][0]
        == 2
    )  # fmt: skip  (the earlier criteria's ratings are kept)
    assert len(list_patterns(audit_project, result.audit_id)) == 3


def test_the_filter_removes_the_planted_rows(audit_project: Project, fake: AuditFakeModel, tmp_path: Path) -> None:
    result = audit(audit_project)
    truth = planted_truth(planted_rows(ROWS))
    filtered = asyncio.run(filter_dataset(audit_project, result.audit_id, [VALIDATION, CLARIFY], level="strict"))
    dropped = truth["validation"]["strict"] | truth["clarify"]["strict"]
    kept_ids = {r.row_id for r in dataset_rows(audit_project, filtered.dataset.id)}
    assert kept_ids == {r["id"] for r in planted_rows(ROWS)} - dropped
    assert (filtered.removed, filtered.kept) == (len(dropped), ROWS - len(dropped))
    assert filtered.dataset.parent_id == result.report.dataset.id and filtered.dataset.source == "filtered"
    assert filtered.dataset.filter is not None and filtered.dataset.filter["level"] == "strict"
    assert {p["name"] for p in filtered.dataset.filter["patterns"]} == {VALIDATION, CLARIFY}

    broad = asyncio.run(filter_dataset(audit_project, result.audit_id, [VALIDATION], level="broad"))
    assert broad.removed == len(truth["validation"]["broad"])  # mild validation goes too

    out = tmp_path / "filtered.jsonl"
    assert export_dataset(audit_project, filtered.dataset.id, out) == len(kept_ids)
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported == [r for r in planted_rows(ROWS) if r["id"] in kept_ids]  # the original records, untouched


def test_model_outputs_are_measured_with_the_same_raters(audit_project: Project, fake: AuditFakeModel) -> None:
    result = audit(audit_project)
    outputs = [
        DatasetRow(f"out-{i}", {"text": text}, f"USER: help\n\nASSISTANT: {text}", "checkpoint")
        for i, text in enumerate(["I can hear how stressful this has been for you. Start with a list.",
                                  "Start with a list. Could you tell me a bit more about your budget?",
                                  "Start with a list and keep going.", "Make a plan and then follow it."])
    ]  # fmt: skip
    measured = asyncio.run(rate_outputs(audit_project, result.audit_id, outputs, name="checkpoint outputs"))
    rates = {p.pattern.name: (p.strict.k, p.strict.n) for p in measured.patterns}
    assert rates == {VALIDATION: (1, 4), CLARIFY: (1, 4)}
    assert measured.dataset.source == "outputs"
    # The audit's own report still reads its sample, not the outputs.
    assert by_name(audit_report(audit_project, result.audit_id))[VALIDATION].strict.n == SAMPLE


def test_the_projection_counts_calls_exactly_and_measures_tokens_once_an_audit_ran(
    audit_project: Project, fake: AuditFakeModel
) -> None:
    before = plan_audit(audit_project, "planted", patterns=2)
    calls = {s.stage: s.calls for s in before.cost.stages}
    assert calls == {"audit.scan": 8, "audit.merge": 2, "audit.rate": math.ceil(SAMPLE / 10)}
    assert any("characters per token" in a for a in before.assumptions)

    audit(audit_project)
    after = plan_audit(audit_project, "planted", patterns=2)
    assert not any("characters per token" in a or "output tokens" in a for a in after.assumptions)
    actual = dict(rows(audit_project, "SELECT stage, sum(tokens_in) FROM llm_calls WHERE stage IN "
                       "('audit.scan', 'audit.rate') GROUP BY stage"))  # fmt: skip
    for stage in after.cost.stages:
        if stage.stage in actual:  # the same run again: the projection matches what was billed
            assert stage.tokens_in == pytest.approx(actual[stage.stage], rel=0.2)
    assert after.cost.cost_usd is not None and after.cost.cost_usd > 0
