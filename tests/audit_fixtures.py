"""Fixtures and helpers of the audit tests: a project holding the planted dataset, with every role on the fake.

    def test_x(audit_project: Project, fake: AuditFakeModel) -> None:
        result = audit(audit_project)                   # run_audit on the "planted" dataset
        validation = by_name(result.report)[VALIDATION]

This module is a pytest plugin (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.audit_setup import planted_rows
from tests.fakes.audit_model import AuditFakeModel
from tests.sft_setup import sft_env
from workbench.audit.imports import import_file
from workbench.audit.run import run_audit
from workbench.project import Project, load_project

ROWS = 200
SAMPLE = 120
VALIDATION = "Opens with emotional validation"
CLARIFY = "Ends by asking for clarification"


def audit_env(fake_gemini: Any) -> dict[str, str]:
    """Every role on the fake server; 8 scans of 20 rows; a sample of 120 rated 10 rows per call."""
    return sft_env(fake_gemini) | {
        "WORKBENCH_AUDIT__ROWS_PER_SCAN": "20",
        "WORKBENCH_AUDIT__SCANS": "8",
        "WORKBENCH_AUDIT__SAMPLE_SIZE": str(SAMPLE),
        "WORKBENCH_AUDIT__ROWS_PER_CALL": "10",
    }


@pytest.fixture
def fake(fake_gemini: Any) -> AuditFakeModel:
    fake_gemini.rule = AuditFakeModel()
    return fake_gemini.rule  # type: ignore[no-any-return]


@pytest.fixture
def audit_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "planted.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(ROWS)))
    import_file(project, path, name="planted")
    return load_project(project.root)


def audit(project: Project, **kwargs: Any) -> Any:
    return asyncio.run(run_audit(project, "planted", **kwargs))


def by_name(report: Any) -> dict[str, Any]:
    return {p.pattern.name: p for p in report.patterns}
