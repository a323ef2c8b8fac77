"""The scan prompt asks for context-insensitive habits, even those that look like the data's intended quality.

Issue 19, item 4: a scan told to skip "the qualities the data is meant to have" keeps quiet about
the habits that matter most in trait data, such as always asking a clarifying question in the data
of a trait about careful clarification. The prompt must ask instead for behaviours that recur
regardless of whether the situation calls for them. The scripted auditor (tests/fakes/audit_model.py)
reports such a habit only under those instructions, as a real auditor would.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.audit_fixtures import audit_env, by_name
from tests.audit_setup import ALWAYS_CLARIFY_RATE, clarifying_rows, is_vague_request
from tests.fakes.audit_model import HABIT_NAMES
from tests.sft_setup import rows
from workbench.audit.imports import import_file
from workbench.audit.run import run_audit
from workbench.project import Project, load_project
from workbench.prompts import load_template

CLARIFYING_ROWS = 120  # every row is in the audit's sample of 120


def instructions() -> str:
    """The rendered scan prompt up to its first row."""
    rendered = load_template("audit_scan").render(rows=[{"label": "R1", "text": "ROW"}, {"label": "R2", "text": "W"}])
    return rendered.split('<row label="R1">', 1)[0]


def test_scan_prompt_no_longer_excludes_the_qualities_the_data_is_meant_to_have() -> None:
    text = instructions()
    assert "meant to have" not in text
    assert not any("not report" in s and "qualit" in s for s in text.split("."))


def test_scan_prompt_asks_for_behaviours_that_recur_whether_or_not_the_situation_calls_for_them() -> None:
    text = " ".join(instructions().split())
    assert "regardless of whether the situation calls for" in text
    assert "even when they look like the very quality the data is meant to teach" in text


@pytest.fixture
def clarifying_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    """A project holding the careful-clarification dataset (tests/audit_setup.clarifying_rows), roles on the fake."""
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "clarifying.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in clarifying_rows(CLARIFYING_ROWS)))
    import_file(project, path, name="clarifying")
    return load_project(project.root)


def test_always_clarify_habit_in_a_clarification_trait_is_found_and_measured(
    clarifying_project: Project, fake: Any
) -> None:
    result = asyncio.run(run_audit(clarifying_project, "clarifying"))

    habit = by_name(result.report)[HABIT_NAMES[0]]
    assert habit.pattern.origin == "found" and len(habit.pattern.scans) >= 2
    assert habit.strict.n == CLARIFYING_ROWS and habit.strict.contains(ALWAYS_CLARIFY_RATE)
    # The scans pointed at questions asked where the request was already clear: the habit, not the trait.
    users = {row_id: json.loads(record)["messages"][0]["content"]
             for row_id, record in rows(clarifying_project, "SELECT row_id, record FROM audit_rows")}  # fmt: skip
    sql = "SELECT evidence FROM audit_candidates WHERE name IN (SELECT unnest(?))"
    evidence = [e for (raw,) in rows(clarifying_project, sql, list(HABIT_NAMES)) for e in json.loads(raw)]
    assert evidence and not any(is_vague_request(users[e["row_id"]]) for e in evidence)
