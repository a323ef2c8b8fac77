"""`workbench audit …` from the command line: in process (CliRunner), and killed midway in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.audit_fixtures import ROWS, audit_env
from tests.audit_setup import planted_rows
from tests.fakes.audit_model import AuditFakeModel
from tests.kill_resume import Pipeline, kill_midway_and_restart, run_clean
from tests.sft_setup import rows
from workbench.audit.imports import import_file
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.project import Project

BATCH = 4


def test_import_run_edit_rate_filter_and_export(
    project: Project, fake_gemini: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "250")  # table cells on one line
    fake_gemini.rule = AuditFakeModel()
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["audit", *args, "-p", str(project.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # rich wraps long lines

    data = tmp_path / "chats.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(ROWS)))
    assert f"{ROWS} messages rows" in invoke("import", str(data))
    assert "audit.rate" in invoke("plan", "chats")  # the projection, before anything ran
    out = invoke("run", "chats", "--until", "cluster", "--yes")
    assert "Opens with emotional validation" in out and "Ends by asking for clarification" in out
    assert rows(project, "SELECT count(*) FROM audit_ratings")[0][0] == 0  # stopped before rating
    shown = invoke("patterns", "chats")
    assert "broad:" in shown and "strict:" in shown and "found by scans" in shown
    invoke("pattern", "add", "chats", "--name", "Bottom line up front", "--description", "Verdict first.",
           "--broad", "A verdict before the reasons.", "--strict", "Starts with 'Bottom line:'.")  # fmt: skip
    invoke("pattern", "edit", "Opens with emotional validation", "--strict", "The first sentence validates feelings.")
    report = invoke("rate", "chats")
    assert "Bottom line up front" in report and "manual" in report and "%" in report
    assert "Trait A" in invoke("report", "chats", "--by-group")
    cleaned = tmp_path / "clean.jsonl"
    out = invoke("filter", "chats", "-P", "Bottom line up front", "--level", "strict", "--out", str(cleaned))
    kept = [json.loads(line) for line in cleaned.read_text().splitlines()]
    assert f"kept {len(kept)}, removed {ROWS - len(kept)}" in out
    assert not any(r["messages"][1]["content"].startswith("Bottom line:") for r in kept)
    invoke("pattern", "remove", "Bottom line up front")
    assert "Bottom line up front" not in invoke("report", "chats")
    assert "chats without Bottom line up front (strict)" in invoke("datasets")
    missing = runner.invoke(app, ["audit", "report", "nothing-here", "-p", str(project.root)])
    assert missing.exit_code == 1 and isinstance(missing.exception, WorkbenchError)  # main() prints it, exit 1
    assert "No audit 'nothing-here'" in str(missing.exception) and "workbench audit run DATASET" in str(
        missing.exception
    )


def _import_planted(project: Project) -> None:
    data = project.root / "planted.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(ROWS)))
    import_file(project, data, name="planted")


AUDIT_RUN = Pipeline(("audit", "run", "planted", "--yes"), prepare=_import_planted)


def snapshot(project: Project) -> dict[str, set[tuple[Any, ...]]]:
    """Every audit row's identity and content (not run ids or times)."""
    queries = {
        "generations": "SELECT id, step, subject_id, status, text FROM audit_generations",
        "candidates": "SELECT id, scan, name, evidence FROM audit_candidates",
        "patterns": "SELECT id, name, broad, strict, scans, candidate_ids FROM audit_patterns",
        "ratings": "SELECT pattern_id, criteria_hash, text_hash, level FROM audit_ratings",
    }
    with project.store.connect() as con:
        return {name: set(con.execute(sql).fetchall()) for name, sql in queries.items()}


def test_sigkill_midway_then_restart_matches_a_clean_run(tmp_path: Path, fake_gemini: Any) -> None:
    fake_gemini.rule = AuditFakeModel()
    fake_gemini.latency_s = 0.05
    env = audit_env(fake_gemini) | {"WORKBENCH_AUDIT__BATCH_SIZE": str(BATCH)}
    killed = kill_midway_and_restart(  # 8 scans and 2 merges done, into the ratings
        tmp_path / "killed", env, AUDIT_RUN, fake_gemini, after_calls=14, generations="audit_generations", batch=BATCH
    )
    clean = run_clean(tmp_path / "clean", env, AUDIT_RUN)
    resumed, uninterrupted = snapshot(killed), snapshot(clean)
    assert resumed == uninterrupted
    assert len(uninterrupted["patterns"]) == 2 and len(uninterrupted["ratings"]) == 2 * 120
