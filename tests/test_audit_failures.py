"""The audit when things go wrong: unparsable ratings, a blocked scan, the budget cap.

Each failure must be visible (a status and a reason, unrated rows counted), must never let a
filter keep a row it could not judge, and must be mended by running again without duplicates.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.audit_fixtures import CLARIFY, SAMPLE, VALIDATION, audit, by_name
from tests.fakes.audit_model import AuditFakeModel
from tests.fakes.rules import FakeRequest, Fault, Reply, Safety, Text
from tests.sft_setup import rows
from workbench.audit.filters import filter_dataset
from workbench.errors import WorkbenchError
from workbench.project import Project, load_project


@dataclass
class Broken:
    """The audit model, except for requests `breaks` picks: those get `reply`."""

    model: AuditFakeModel
    breaks: Any
    reply: Reply
    on: bool = True

    def __call__(self, request: FakeRequest) -> Reply:
        return self.reply if self.on and self.breaks(request) else self.model(request)


def test_unparsable_ratings_leave_rows_unrated_block_the_filter_and_are_retried(
    audit_project: Project, fake_gemini: Any
) -> None:
    first_text = rows(audit_project, "SELECT text FROM audit_rows ORDER BY position LIMIT 1")[0][0]

    def first_rows_block(request: FakeRequest) -> bool:  # the rating call that shows the first row, and its repair
        title = (request.json_schema or {}).get("title")
        return title == "BatchRatings" and any(first_text in text for _, text in request.messages)

    broken = Broken(AuditFakeModel(), first_rows_block, Text("this is not JSON"))
    fake_gemini.rule = broken
    report = audit(audit_project).report
    assert all(p.unrated > 0 for p in report.patterns)
    assert by_name(report)[VALIDATION].strict.n == SAMPLE - by_name(report)[VALIDATION].unrated
    failed = "SELECT count(*) FROM audit_generations WHERE step = 'rate' AND status = 'parse_failed'"
    assert rows(audit_project, failed)[0][0] == 1

    datasets = rows(audit_project, "SELECT count(*) FROM audit_datasets")[0][0]
    with pytest.raises(WorkbenchError, match="could not be rated"):
        asyncio.run(filter_dataset(audit_project, report.audit_id, [VALIDATION]))
    assert rows(audit_project, "SELECT count(*) FROM audit_datasets")[0][0] == datasets  # nothing half-done

    broken.on = False  # the next run tries the failed blocks again, as new samples
    report = audit(audit_project).report
    assert all(p.unrated == 0 for p in report.patterns)
    filtered = asyncio.run(filter_dataset(audit_project, report.audit_id, [VALIDATION]))
    assert filtered.removed > 0
    assert rows(audit_project, "SELECT count(*) FROM audit_patterns")[0][0] == 2


def test_an_answer_that_leaves_a_pattern_out_is_incomplete_and_asked_again(
    audit_project: Project, fake_gemini: Any
) -> None:
    model = AuditFakeModel()
    first_text = rows(audit_project, "SELECT text FROM audit_rows ORDER BY position LIMIT 1")[0][0]

    def shows_first_row(request: FakeRequest) -> bool:
        return (request.json_schema or {}).get("title") == "BatchRatings" and first_text in request.last_user_text

    def rating_without_p2(request: FakeRequest) -> Reply:
        answer = json.loads(model(request).text)  # type: ignore[union-attr]
        return Text(json.dumps({"patterns": [p for p in answer["patterns"] if p["pattern"] != "P2"]}))

    broken = {"on": True}
    fake_gemini.rule = lambda r: rating_without_p2(r) if broken["on"] and shows_first_row(r) else model(r)
    unrated = [p.unrated for p in audit(audit_project).report.patterns]
    assert unrated[0] == 0 and unrated[1] > 0  # P2 of the block is the second pattern
    reason = rows(audit_project, "SELECT reason FROM audit_generations WHERE status = 'incomplete'")
    assert reason == [("the answer left out pattern(s) P2",)]
    broken["on"] = False
    second = audit(audit_project).report
    assert all(p.unrated == 0 for p in second.patterns)


def test_a_blocked_scan_is_recorded_and_the_others_still_find_the_patterns(
    audit_project: Project, fake_gemini: Any
) -> None:
    scans = {"n": 0}

    def first_scan(request: FakeRequest) -> bool:
        if (request.json_schema or {}).get("title") != "ScanReport":
            return False
        scans["n"] += 1
        return scans["n"] == 1

    fake_gemini.rule = Broken(AuditFakeModel(), first_scan, Safety())
    report = audit(audit_project).report
    assert set(by_name(report)) == {VALIDATION, CLARIFY}
    statuses = rows(
        audit_project, "SELECT status, reason FROM audit_generations WHERE step = 'scan' AND status != 'ok'"
    )
    assert len(statuses) == 1 and statuses[0][0] == "refused" and statuses[0][1]


def test_the_budget_cap_stops_cleanly_and_the_next_run_finishes(
    audit_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gemini.rule = AuditFakeModel()
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "0.000001")
    stopped = audit(load_project(audit_project.root))
    assert stopped.stopped_budget and not stopped.report.patterns
    assert rows(audit_project, "SELECT status FROM runs WHERE id = ?", stopped.run_id)[0][0] == "stopped_budget"

    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "100")
    finished = audit(load_project(audit_project.root))
    assert not finished.stopped_budget and finished.audit_id == stopped.audit_id
    assert set(by_name(finished.report)) == {VALIDATION, CLARIFY}
    assert rows(audit_project, "SELECT count(*), count(DISTINCT scan) FROM audit_generations g JOIN audit_candidates c"
                " ON c.generation_id = g.id")[0][1] == 8  # fmt: skip


def test_a_rating_refused_for_good_blocks_the_filter_until_it_is_retried_on_purpose(
    audit_project: Project, fake_gemini: Any, fake: AuditFakeModel
) -> None:
    report = audit(audit_project).report
    sent = fake_gemini.requests_total
    rating = lambda request: (request.json_schema or {}).get("title") == "BatchRatings"  # noqa: E731
    broken = Broken(AuditFakeModel(), rating, Fault(403))
    fake_gemini.rule = broken
    with pytest.raises(WorkbenchError, match="--retry-failed"):
        asyncio.run(filter_dataset(audit_project, report.audit_id, [VALIDATION]))
    refused = fake_gemini.requests_total - sent
    assert refused > 0
    with pytest.raises(WorkbenchError, match="could not be rated"):
        asyncio.run(filter_dataset(audit_project, report.audit_id, [VALIDATION]))
    assert fake_gemini.requests_total - sent == refused, "a permanent failure is not sent again by itself"

    broken.on = False  # the key's permission is fixed
    filtered = asyncio.run(filter_dataset(audit_project, report.audit_id, [VALIDATION], retry_failed=True))
    assert filtered.removed > 0
