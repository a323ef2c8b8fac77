"""`workbench audit run --scanner lexical|llm|both` and `workbench audit lexical` from the command line (CliRunner)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.audit_fixtures import CLARIFY, ROWS, SAMPLE, VALIDATION, audit_env
from tests.audit_setup import assistant_part, opens_with_bottom_line, planted_rows
from tests.fakes.audit_model import AuditFakeModel
from tests.lexical_setup import OPENER_STRICT, lexical_rows
from tests.sft_setup import rows
from workbench.audit.datasets import dataset_rows, get_dataset
from workbench.audit.rate import sample_rows
from workbench.cli import app
from workbench.project import Project


def _invoker(project: Project, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("COLUMNS", "250")  # table cells on one line
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["audit", *args, "-p", str(project.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # rich wraps long lines

    return invoke


def _write(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_the_lexical_scanner_runs_without_any_model_or_key(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key (conftest removes them): any call the audit made would fail.
    assert not {"GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY"} & set(os.environ)
    invoke = _invoker(project, monkeypatch)
    invoke("import", _write(tmp_path / "chats.jsonl", lexical_rows()))
    invoke("import", _write(tmp_path / "reference.jsonl", lexical_rows(reference=True)))
    shown = invoke("lexical", "chats", "--reference", "reference")
    assert f'Opens with "bottom line" │ {OPENER_STRICT} │ 25.0% │ 0 (0.0%) │' in shown
    out = invoke("run", "chats", "--scanner", "lexical")  # no projection to confirm: nothing is paid
    assert "lexical" in out and 'Opens with "bottom line"' in out and f"{OPENER_STRICT}/200" in out
    assert "counted by the lexical scanner" in invoke("patterns", "chats") and '"type": "opener"' in invoke(
        "patterns", "chats"
    )
    out = invoke("filter", "chats", "-P", 'Opens with "bottom line"', "--level", "strict")
    assert f"kept {200 - OPENER_STRICT}, removed {OPENER_STRICT}" in out
    assert rows(project, "SELECT count(*) FROM llm_calls")[0][0] == 0


def test_both_scanners_share_one_audit_and_report(
    project: Project, fake_gemini: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = AuditFakeModel()
    invoke = _invoker(project, monkeypatch)
    invoke("import", _write(tmp_path / "planted.jsonl", planted_rows(ROWS)))
    out = invoke("run", "planted", "--scanner", "both", "--yes")
    assert VALIDATION in out and CLARIFY in out and "scans" in out  # LLM patterns
    assert 'Opens with "bottom line"' in out and "lexical" in out  # lexical ones, in the same table
    lexical = [r for r in rows(project, "SELECT origin, rule FROM audit_patterns") if r[0] == "lexical"]
    assert lexical and all(rule is not None for _, rule in lexical)
    bottom = rows(project, "SELECT count(*) FROM audit_ratings r JOIN audit_patterns p ON p.id = r.pattern_id"
                           " WHERE p.name = 'Opens with \"bottom line\"' AND r.level = 'strict'")  # fmt: skip
    sample = sample_rows(dataset_rows(project, get_dataset(project, "planted").id), SAMPLE, 0)
    assert bottom[0][0] == sum(opens_with_bottom_line(assistant_part(r.text)) for r in sample) > 0
    calls = rows(project, "SELECT count(*) FROM llm_calls")[0][0]
    again = invoke("run", "planted", "--scanner", "llm", "--yes")  # the same audit: nothing left to pay for
    assert VALIDATION in again and 'Opens with "bottom line"' in again
    assert rows(project, "SELECT count(*) FROM llm_calls")[0][0] == calls
