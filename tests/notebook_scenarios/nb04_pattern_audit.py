"""04_pattern_audit: the store holds the planted 200-row chat dataset (tests/audit_setup.py: 40% open
with emotional validation, 25% end by asking for clarification), imported from JSONL; every role is
on the fake server, which scans, merges and rates by the rules that planted the rows. The notebook
counts its lexical patterns (no call), audits it (8 scans of 20 rows, a sample of 120) and filters out every
pattern the LLM scan found, at strict level."""

from __future__ import annotations

import json
from typing import Any

from tests.audit_fixtures import CLARIFY, ROWS, SAMPLE, VALIDATION, audit_env
from tests.audit_setup import (
    CLARIFY_RATE,
    MILD_VALIDATION_RATE,
    VALIDATION_RATE,
    assistant_part,
    opens_with_bottom_line,
    planted_rows,
    planted_truth,
)  # fmt: skip
from tests.fakes.audit_model import AuditFakeModel
from workbench.audit.audits import list_audits
from workbench.audit.datasets import dataset_rows, list_datasets
from workbench.audit.imports import import_file
from workbench.audit.prevalence import audit_report
from workbench.audit.rate import sample_rows
from workbench.project import Project

NAME = "planted"


def settings(server: Any) -> dict[str, str]:
    server.rule = AuditFakeModel()
    return audit_env(server)


def prepare(project: Project) -> None:
    path = project.root / f"{NAME}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(ROWS)), encoding="utf-8")
    import_file(project, path, name=NAME)


def check(project: Project) -> None:
    datasets = {d.source: d for d in list_datasets(project)}
    assert set(datasets) == {"file", "filtered"}  # the planted rows and the one filtered from them
    parent, child = datasets["file"], datasets["filtered"]
    assert child.parent_id == parent.id and child.filter is not None and child.filter["level"] == "strict"

    [audit] = list_audits(project)
    assert audit.dataset_id == parent.id
    report = audit_report(project, audit.id)
    found = {p.pattern.name: p for p in report.patterns if p.pattern.origin == "found"}
    assert set(found) == {VALIDATION, CLARIFY}  # both planted patterns, and no scan's one-off noise
    # The lexical scanner counted the planted "Bottom line:" opener exactly, on the same sample.
    [bottom] = [p for p in report.patterns if p.pattern.name == 'Opens with "bottom line"']
    sample = sample_rows(dataset_rows(project, parent.id), SAMPLE, 0)
    assert bottom.strict.k == sum(opens_with_bottom_line(assistant_part(r.text)) for r in sample) > 0
    validation, clarify = found[VALIDATION], found[CLARIFY]
    assert validation.strict.n == clarify.strict.n == SAMPLE
    assert validation.strict.contains(VALIDATION_RATE)
    assert validation.broad.contains(VALIDATION_RATE + MILD_VALIDATION_RATE)
    assert clarify.strict.contains(CLARIFY_RATE)

    # Both patterns filtered out at strict level: exactly the rows planted with either are gone.
    assert {p["name"] for p in child.filter["patterns"]} == {VALIDATION, CLARIFY}
    truth = planted_truth(planted_rows(ROWS))
    dropped = truth["validation"]["strict"] | truth["clarify"]["strict"]
    kept = [r.row_id for r in dataset_rows(project, child.id)]
    assert kept == [r.row_id for r in dataset_rows(project, parent.id) if r.row_id not in dropped]
    assert child.filter["removed"] == len(dropped) and child.row_count == ROWS - len(dropped)
