"""Dead ends that say what happened: an audit that found nothing says why, an incomplete rating fails
the run, and every review command a run prints works exactly as printed (CliRunner, no terminal).
"""

from __future__ import annotations

import json
import re
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.audit_model import AuditFakeModel, recognise
from tests.fakes.rules import FakeRequest, Reply, Text
from tests.lexical_setup import lexical_rows
from tests.sft_setup import rows
from workbench.cli import app
from workbench.project import Project
from workbench.views.patterns import audit_status

HINT = re.compile(r"(?:awaiting review|accept them all): (workbench .+)$", re.M)


def cli(project: Project, *args: str) -> Any:
    """`workbench ARGS -p PROJECT` in process, with nobody to answer a question (no input)."""
    return CliRunner().invoke(app, [*args, "-p", str(project.root)], catch_exceptions=False)


def one_line(output: str) -> str:
    return " ".join(output.split())


@dataclass
class Mislabelled:
    """The audit model, except that the evidence of every planted-pattern candidate names rows the batch lacks.

    Counts what the scans reported: `mislabelled` planted candidates, and `noise` ones (one per scan,
    each unique to its scan) whose evidence is fine.
    """

    model: AuditFakeModel = field(default_factory=AuditFakeModel)
    mislabelled: int = 0
    noise: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: FakeRequest) -> Reply:
        if (request.json_schema or {}).get("title") != "ScanReport":
            return self.model(request)
        answer = self.model.scan(request.last_user_text)
        for pattern in answer["patterns"]:
            planted = recognise(f"{pattern['name']} {pattern['description']}") is not None
            if planted:  # "row 3" for "R3": a label the batch never had
                pattern["evidence"] = [{**e, "row": f"row {e['row'][1:]}"} for e in pattern["evidence"]]
            with self._lock:
                self.mislabelled += planted
                self.noise += not planted
        return Text(json.dumps(answer))


def test_an_audit_whose_candidates_all_fail_the_checks_says_why_in_run_report_and_patterns(
    audit_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    fake_gemini.rule = model = Mislabelled()
    run = cli(audit_project, "audit", "run", "planted", "--yes")
    assert run.exit_code == 0, run.output
    assert model.mislabelled > 0 and model.noise == 8  # the fake's noise: one candidate per scan
    total = model.mislabelled + model.noise
    expected = (
        f"0 patterns survived the LLM scans: {total} candidates from 8 scans; rejected {total} (evidence only "
        f"on rows not in the scan's batch {model.mislabelled}, found by fewer than 2 scans ([audit] min_scans) 8)."
    )
    assert expected in one_line(run.output)
    assert "workbench audit run" not in run.output, "no suggestion to run the command just run"
    # After the fact, from the store alone: the report, the pattern list and the app's Patterns page.
    for command in (("audit", "report", "planted"), ("audit", "patterns", "planted")):
        shown = cli(audit_project, *command)
        assert shown.exit_code == 0 and expected in one_line(shown.output), shown.output
        assert "workbench audit run" not in shown.output
    audit_id = rows(audit_project, "SELECT id FROM audits")[0][0]
    assert audit_status(audit_project, audit_id).funnel == expected


def test_an_audit_stopped_before_clustering_says_its_candidates_wait_for_it(
    audit_project: Project, fake: AuditFakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    run = cli(audit_project, "audit", "run", "planted", "--until", "scan", "--yes")
    assert run.exit_code == 0, run.output
    kept = rows(audit_project, "SELECT count(*) FROM audit_candidates")[0][0]
    assert kept > 0
    waiting = f"No patterns yet from the LLM scans: {kept} candidates from 8 scans; {kept} wait for the cluster step."
    assert waiting in one_line(run.output) and "survived" not in run.output


def test_a_rating_answer_that_leaves_a_pattern_out_fails_the_run_with_its_reason(
    audit_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    model = AuditFakeModel()
    first_text = rows(audit_project, "SELECT text FROM audit_rows ORDER BY position LIMIT 1")[0][0]

    def rule(request: FakeRequest) -> Reply:
        if (request.json_schema or {}).get("title") != "BatchRatings" or first_text not in request.last_user_text:
            return model(request)
        answer = model.rate(request.last_user_text)
        return Text(json.dumps({"patterns": [p for p in answer["patterns"] if p["pattern"] != "P2"]}))

    fake_gemini.rule = rule
    run = cli(audit_project, "audit", "run", "planted", "--yes")
    assert run.exit_code == 1, run.output
    rate = re.search(r"│ rate\s+│\s+(\d+)\s+│\s+\d+\s+│ (.+?)\s+│", run.output)
    assert rate, run.output
    assert rate.group(2) == f"incomplete 1, ok {int(rate.group(1)) - 1}", "counted incomplete, not ok"
    said = "1 call(s) came back incomplete, e.g. the answer left out pattern(s) P2: what they left out is not stored"
    assert said in one_line(run.output)
    # The run's own record says so too, so the app and notebooks do not show it as a success.
    status = rows(audit_project, "SELECT status, note FROM runs WHERE stage = 'audit' ORDER BY started_at DESC LIMIT 1")
    assert status[0][0] == "failed" and "incomplete" in status[0][1], status


def run_hints(project: Project, output: str) -> list[str]:
    """Run every command `output` printed after "awaiting review:" or "accept them all:", verbatim; return them."""
    hints = HINT.findall(output)
    for hint in hints:
        argv = shlex.split(hint)
        assert argv[0] == "workbench"
        ran = CliRunner().invoke(app, argv[1:], catch_exceptions=False)  # no input: nobody to answer
        assert ran.exit_code == 0, f"{hint}\n{ran.output}"
    return hints


def statuses(project: Project, table: str) -> dict[str, int]:
    return dict(rows(project, f"SELECT status, count(*) FROM {table} GROUP BY status"))


def test_the_sft_review_hints_work_as_printed(sft_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    gate = cli(sft_project, "sft", "run", "test", "--pilot", "1")
    assert gate.exit_code == 0, gate.output
    waiting = statuses(sft_project, "sft_scenarios")["needs_review"]
    assert len(run_hints(sft_project, gate.output)) == 2  # list them, accept them all
    after = statuses(sft_project, "sft_scenarios")
    assert after.get("needs_review") is None and after["ok"] == waiting, "the hint accepted them all"

    answered = cli(sft_project, "sft", "run", "test", "--pilot", "1")
    assert answered.exit_code == 0, answered.output
    waiting = statuses(sft_project, "sft_examples")["needs_review"]
    assert len(run_hints(sft_project, answered.output)) == 2
    after = statuses(sft_project, "sft_examples")
    assert after.get("needs_review") is None and after["ok"] == waiting


def test_the_docs_review_hints_work_as_printed(docs_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    ran = cli(docs_project, "docs", "run", "test", "--pilot", "1", "--type", "email")
    assert ran.exit_code == 0, ran.output
    waiting = statuses(docs_project, "documents")["needs_review"]
    assert len(run_hints(docs_project, ran.output)) == 2
    after = statuses(docs_project, "documents")
    assert after.get("needs_review") is None and after["ok"] == waiting


def test_a_lexical_audit_that_finds_nothing_says_so_and_names_the_thresholds(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_AUDIT__LEXICAL__MIN_ROWS", "1000")  # more rows than the dataset has
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lexical_rows()))
    assert cli(project, "audit", "import", str(path)).exit_code == 0
    for output in (
        cli(project, "audit", "run", "chats", "--scanner", "lexical").output,
        cli(project, "audit", "report", "chats").output,
        cli(project, "audit", "patterns", "chats").output,
    ):
        said = one_line(output)
        assert "0 patterns from the lexical scanner" in said and "min_rows = 1000" in said, said
        assert "audit run DATASET" not in said
