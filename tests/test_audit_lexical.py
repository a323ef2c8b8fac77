"""The lexical scanner on planted data (tests/lexical_setup.py): exact findings, ratings, filters, output rates."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.lexical_setup import (
    BULLETS_BROAD_ONLY,
    BULLETS_STRICT,
    CLOSER,
    CLOSER_BROAD_ONLY,
    CLOSER_STRICT,
    CLOSER_WORDS,
    OPENER,
    OPENER_BROAD_ONLY,
    OPENER_STRICT,
    OPENER_WORDS,
    ROWS,
    lexical_rows,
    planted_ids,
)  # fmt: skip
from tests.sft_setup import rows as query
from workbench.audit.datasets import DatasetRow, dataset_rows
from workbench.audit.filters import filter_dataset, rate_outputs
from workbench.audit.imports import import_file
from workbench.audit.lexical import LexicalSettings, lexical_findings
from workbench.audit.lexical_rules import FeatureRule, PhraseRule
from workbench.audit.patterns import edit_pattern, list_patterns, remove_pattern
from workbench.audit.run import run_audit
from workbench.errors import WorkbenchError
from workbench.project import Project, load_project

OPENS, ENDS, BULLETS = 'Opens with "bottom line"', 'Ends with "hope this helps good luck"', "Uses a bullet list"


@pytest.fixture
def lexical_project(project: Project, tmp_path: Path) -> Project:
    """The planted dataset `chats` and its reference corpus `reference`; no roles, no keys."""
    for name, records in (("chats", lexical_rows()), ("reference", lexical_rows(reference=True))):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        import_file(project, path, name=name)
    return project


def test_the_planted_findings_top_their_kinds_with_exact_document_frequencies(lexical_project: Project) -> None:
    findings = lexical_findings(lexical_project, "chats")
    best = {kind: next(f for f in findings if f.kind == kind) for kind in ("opener", "closer")}
    assert best["opener"].rule == PhraseRule(type="opener", words=OPENER_WORDS)  # "bottom line", not "bottom"
    assert (best["opener"].rows, best["opener"].share, best["opener"].score) == (OPENER_STRICT, 0.25, 0.25)
    assert best["closer"].rule == PhraseRule(type="closer", words=CLOSER_WORDS)
    assert best["closer"].rows == CLOSER_STRICT
    bullets = next(f for f in findings if f.rule == FeatureRule(type="feature", feature="bullet_list"))
    assert bullets.rows == BULLETS_STRICT and bullets.reference_rows is None
    texts = {f.text for f in findings}
    # Only the last assistant turn is read: not the users' "Quick question:", not an earlier answer's opener.
    assert not any("quick" in t or "question" in t for t in texts)
    assert "bottom" not in texts  # absorbed by "bottom line", found in as many rows
    assert [f.score for f in findings] == sorted((f.score for f in findings), reverse=True)
    assert all(f.rows >= 0.05 * ROWS for f in findings)  # the default min_share


def test_a_reference_corpus_ranks_by_log_odds_and_sinks_what_both_share(lexical_project: Project) -> None:
    # The closer is in 30 of 200 rows of both corpora: a log-odds ratio near zero.
    everything = LexicalSettings(min_z=float("-inf"), min_share=0.0)
    scores = {f.text: f for f in lexical_findings(lexical_project, "chats", reference="reference", settings=everything)}
    opener, closer = scores["bottom line"], scores[" ".join(CLOSER_WORDS)]
    assert (opener.reference_rows, closer.reference_rows) == (0, CLOSER_STRICT)
    assert opener.score > 3 and abs(closer.score) < 0.5
    kept = lexical_findings(lexical_project, "chats", reference="reference")  # default min_z 3
    assert "bottom line" in {f.text for f in kept} and closer.text not in {f.text for f in kept}


def test_the_lexical_audit_rates_exactly_with_no_call_and_no_model(lexical_project: Project) -> None:
    result = asyncio.run(run_audit(lexical_project, "chats", scanner="lexical"))
    assert result.findings == lexical_findings(lexical_project, "chats")  # what the run counted, for display
    found = {p.pattern.name: p for p in result.report.patterns}
    assert {OPENS, ENDS, BULLETS} <= set(found)
    for name, strict, broad_only in ((OPENS, OPENER_STRICT, OPENER_BROAD_ONLY),
                                     (ENDS, CLOSER_STRICT, CLOSER_BROAD_ONLY),
                                     (BULLETS, BULLETS_STRICT, BULLETS_BROAD_ONLY)):  # fmt: skip
        p = found[name]
        assert (p.strict.k, p.broad.k, p.strict.n, p.unrated) == (strict, strict + broad_only, ROWS, 0)
        assert p.strict.low < strict / ROWS < p.strict.high  # Wilson intervals, as for LLM patterns
        assert p.pattern.origin == "lexical" and p.pattern.rule is not None
        assert sum(g.strict.k for g in p.by_group.values()) == strict
    assert query(lexical_project, "SELECT count(*) FROM llm_calls")[0][0] == 0
    assert query(lexical_project, "SELECT count(*) FROM audit_generations")[0][0] == 0
    ratings = query(lexical_project, "SELECT count(*), count(*) FILTER (starts_with(generation_id, 'lexical:'))"
                                     " FROM audit_ratings")  # fmt: skip
    assert ratings == [(ROWS * len(found), ROWS * len(found))]
    again = asyncio.run(run_audit(lexical_project, "chats", scanner="lexical"))
    assert again.audit_id == result.audit_id and "lexical" not in again.steps[-1].written  # nothing left to rate


def test_lexical_patterns_filter_and_measure_outputs_exactly(lexical_project: Project) -> None:
    audit = asyncio.run(run_audit(lexical_project, "chats", scanner="lexical")).audit_id
    records = lexical_rows()
    for level, removed in (("strict", OPENER_STRICT), ("broad", OPENER_STRICT + OPENER_BROAD_ONLY)):
        result = asyncio.run(filter_dataset(lexical_project, audit, [OPENS], level=level))  # type: ignore[arg-type]
        assert (result.removed, result.kept) == (removed, ROWS - removed)
    kept = {r.row_id for r in dataset_rows(lexical_project, result.dataset.id)}
    assert not kept & planted_ids(records, "opener")
    strict = asyncio.run(filter_dataset(lexical_project, audit, [OPENS, BULLETS], level="strict"))
    assert strict.removed == len(planted_ids(records, "opener") | planted_ids(records, "bullets"))

    texts = [f"{OPENER} answer number {i}." for i in range(7)] + [f"Answer {i}. {CLOSER}" for i in range(5)]
    outputs = [DatasetRow(f"out-{i}", {"text": t}, t) for i, t in enumerate(texts)]
    measured = asyncio.run(rate_outputs(lexical_project, audit, outputs, name="checkpoint outputs"))
    by_name = {p.pattern.name: p for p in measured.patterns}
    assert (by_name[OPENS].strict.k, by_name[ENDS].strict.k, by_name[OPENS].strict.n) == (7, 5, 12)
    assert query(lexical_project, "SELECT count(*) FROM llm_calls")[0][0] == 0


def test_rediscovery_replaces_lexical_patterns_and_their_criteria_are_the_rule(lexical_project: Project) -> None:
    audit = asyncio.run(run_audit(lexical_project, "chats", scanner="lexical")).audit_id
    before = {p.name for p in list_patterns(lexical_project, audit)}
    asyncio.run(run_audit(lexical_project, "chats", scanner="lexical", reference="reference"))
    after = {p.name: p for p in list_patterns(lexical_project, audit)}
    assert OPENS in after and ENDS not in after and ENDS in before  # common to both corpora: no longer kept
    assert "log-odds z" in after[OPENS].description
    with pytest.raises(WorkbenchError, match="lexical pattern"):
        edit_pattern(lexical_project, after[OPENS].id, strict="Anything.")
    renamed = edit_pattern(lexical_project, after[OPENS].id, name="Bottom line first")
    assert renamed.criteria_hash != after[OPENS].criteria_hash and renamed.rule == after[OPENS].rule


def test_bad_settings_and_references_are_user_errors(lexical_project: Project) -> None:
    with pytest.raises(WorkbenchError, match="min_share"):
        LexicalSettings(min_share=2.0)
    with pytest.raises(WorkbenchError, match="No audit dataset 'nowhere'"):
        asyncio.run(run_audit(lexical_project, "chats", scanner="lexical", reference="nowhere"))
    with pytest.raises(WorkbenchError, match="Unknown scanner"):
        asyncio.run(run_audit(lexical_project, "chats", scanner="regex"))  # type: ignore[arg-type]


def test_the_projects_lexical_settings_are_used(lexical_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    # The closer is in 30 of 200 rows: kept at the default minimum share (5%), dropped at 20%.
    closer = " ".join(CLOSER_WORDS)
    assert closer in {f.text for f in lexical_findings(lexical_project, "chats")}
    monkeypatch.setenv("WORKBENCH_AUDIT__LEXICAL__MIN_SHARE", "0.2")
    stricter = load_project(lexical_project.root)
    texts = {f.text for f in lexical_findings(stricter, "chats")}
    assert closer not in texts and "bottom line" in texts  # the opener is in 25%
    monkeypatch.setenv("WORKBENCH_AUDIT__LEXICAL__MIN_SHARE", "1.5")
    with pytest.raises(WorkbenchError, match="min_share"):
        load_project(lexical_project.root)


def test_discovery_never_brings_back_a_pattern_a_person_removed(lexical_project: Project) -> None:
    result = asyncio.run(run_audit(lexical_project, "chats", scanner="lexical"))
    remove_pattern(lexical_project, OPENS)
    asyncio.run(run_audit(lexical_project, "chats", scanner="lexical"))  # finds the opener again
    statuses = {p.name: p.status for p in list_patterns(lexical_project, result.audit_id, include_removed=True)}
    assert statuses[OPENS] == "removed" and statuses[ENDS] == "active"
    # A pattern discovery no longer finds is retired as not_found, and comes back when found again.
    strict = LexicalSettings(min_share=0.2)  # the closer is in 15% of rows
    asyncio.run(run_audit(lexical_project, "chats", scanner="lexical", lexical=strict))
    statuses = {p.name: p.status for p in list_patterns(lexical_project, result.audit_id, include_removed=True)}
    assert statuses[ENDS] == "not_found" and statuses[OPENS] == "removed"
    asyncio.run(run_audit(lexical_project, "chats", scanner="lexical"))
    statuses = {p.name: p.status for p in list_patterns(lexical_project, result.audit_id, include_removed=True)}
    assert statuses[ENDS] == "active" and statuses[OPENS] == "removed"
