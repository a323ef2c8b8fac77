"""`workbench docs …` in process (typer's CliRunner): pilot, plan, list, show, review, export; and `workbench undo`."""

from __future__ import annotations

import json
import re
from typing import Any

from typer.testing import CliRunner

from tests.sft_setup import rows
from workbench.cli import app
from workbench.project import Project


def test_pilot_plan_review_and_export_from_the_command_line(docs_project: Project, tmp_path: Any) -> None:
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, ["docs", *args, "-p", str(docs_project.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "awaiting review" in invoke("run", "test", "--pilot", "1", "--type", "email", "--type", "blog post")
    assert "docs.rewrite" in invoke("plan", "test", "--per-type", "2")
    waiting = [r[0] for r in rows(docs_project, "SELECT id FROM documents WHERE status = 'needs_review' ORDER BY id")]
    assert len(waiting) == 3  # 4 documents, the planted near-duplicate marked
    shown = invoke("show", waiting[0][:8])
    assert all(step in shown for step in ("brainstorm", "draft", "critique", "rewrite", "rating"))
    invoke("review", "reject", waiting[0], "--reviewer", "ada")
    invoke("review", "edit", waiting[1], "--set", "text=Edited by hand.", "--reviewer", "ada")
    invoke("review", "accept", "--all-with-status", "needs_review", "--yes", "--reviewer", "ada")
    assert waiting[2] in invoke("list", "--status", "ok")
    invoke("export", str(tmp_path / "out"))
    lines = [json.loads(line) for line in (tmp_path / "out" / "documents.jsonl").read_text().splitlines()]
    texts = {line["text"] for line in lines}
    assert len(lines) == 2 and "Edited by hand." in texts
    assert rows(docs_project, "SELECT text FROM documents WHERE id = ?", waiting[0])[0][0] not in texts


def test_a_review_command_prints_how_to_undo_it_and_undo_works(project: Project, monkeypatch: Any) -> None:
    from tests.review_rows import plant_examples, statuses

    monkeypatch.setenv("COLUMNS", "250")
    ids = plant_examples(project, 3)
    runner = CliRunner()
    rejected = runner.invoke(app, ["sft", "review", "reject", "examples", "--all-with-status", "needs_review",
                                   "--yes", "--reviewer", "ada", "-p", str(project.root)])  # fmt: skip
    assert rejected.exit_code == 0, rejected.output
    assert set(statuses(project).values()) == {"rejected"}
    batch = re.search(r"Undo it with `workbench undo ([0-9a-f]{32})`", rejected.output)
    assert batch, rejected.output
    undone = runner.invoke(app, ["undo", batch.group(1), "--reviewer", "ada", "-p", str(project.root)])
    assert undone.exit_code == 0 and "Undone: 3 row(s)" in undone.output
    assert [statuses(project)[i] for i in ids] == ["needs_review"] * 3
    again = runner.invoke(app, ["undo", batch.group(1), "-p", str(project.root)])
    assert again.exit_code == 1 and "already been undone" in str(again.exception)
