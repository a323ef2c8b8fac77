"""Terminal escape sequences in stored text reach the terminal escaped, never raw (typer's CliRunner).

Stored text (a traits document, model output, a reviewer's note, an imported row's pattern, an
eval transcript) may hold ESC sequences that clear the screen, make hyperlinks or retitle the
window, or C1 controls. Every command that prints it must show `\\x1b…` instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.audit_setup import planted_rows
from tests.review_rows import plant_examples
from workbench.audit.audits import start_audit
from workbench.audit.imports import import_file
from workbench.audit.patterns import add_pattern
from workbench.cli import app
from workbench.project import Project
from workbench.store.traits import add_traits_file, version_chunks
from workbench.textsafe import printable

CLEAR, TITLE, C1 = "\x1b[2J", "\x1b]0;pwned\x07", "\x9b"
LINK = "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
EVIL = f"{CLEAR}cleared {LINK} {TITLE} c1{C1}6n [bold]not markup[/bold]"
RAW = ("\x1b", "\x07", "\x9b")


def test_printable_escapes_controls_and_keeps_text() -> None:
    assert printable(EVIL) == (
        "\\x1b[2Jcleared \\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\ \\x1b]0;pwned\\x07 c1\\x9b6n"
        " [bold]not markup[/bold]"
    )
    assert printable("naïve 日本語 — ok\n\tindented") == "naïve 日本語 — ok\n\tindented"
    assert printable("\x00\r\x7f\x85") == "\\x00\\x0d\\x7f\\x85"


def _plant(project: Project, tmp_path: Path) -> None:
    """EVIL in a traits document, an example and its scenario, a document, a pattern and an eval run."""
    doc = tmp_path / "evil.md"
    doc.write_text(f"# {EVIL}\n\n- **Candid {EVIL}.** Says what it thinks, {EVIL}.\n", encoding="utf-8")
    version = add_traits_file(project.store, doc, name="evil").version
    plant_examples(project, 1, response=EVIL)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in planted_rows(20)))
    import_file(project, rows, name="rows")
    start_audit(project, "rows")
    add_pattern(project, "rows", EVIL, f"desc {EVIL}", broad=f"broad {EVIL}", strict=f"strict {EVIL}")
    chunk = version_chunks(project.store, version.id)[0]
    with project.store.transaction() as con:
        con.execute("UPDATE sft_examples SET user_prompt = ?, reason = ?, note = ?", [EVIL, EVIL, EVIL])
        con.execute("UPDATE sft_scenarios SET scenario = ?, user_prompt = ?, reason = ?", [EVIL, EVIL, EVIL])
        con.execute(
            "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names,"
            " text, origin, note, status, reason) VALUES ('doc-1', ?, ?, 'email', 300, 0, 0, '[]', ?, 'generated',"
            " ?, 'needs_review', ?)",
            [version.id, chunk.id, EVIL, EVIL, EVIL],
        )
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status)"
            " VALUES ('run-1', 'knowledge', ?, 'target', 'h', '{}', 'done')",
            [f"m{EVIL}"],
        )
        con.execute(
            "INSERT INTO eval_samples (id, run_id, case_id, status, reason, score, scores, transcript, rationale,"
            " details) VALUES ('s-1', 'run-1', 'case-1', 'ok', ?, 1.0, '{}', ?, ?, '{}')",
            [EVIL, json.dumps([{"role": "assistant", "content": EVIL}]), EVIL],
        )


COMMANDS = [
    ["traits", "show", "evil", "--text"],
    ["traits", "show", "evil"],
    ["traits", "list"],
    ["sft", "list", "examples"],
    ["sft", "list", "scenarios"],
    ["sft", "show", "ex-000"],
    ["sft", "show", "sc-000"],
    ["docs", "list"],
    ["docs", "show", "doc-1"],
    ["audit", "patterns", "rows"],
    ["audit", "report", "rows"],
    ["eval", "list"],
    ["eval", "show", "run-1"],
    ["eval", "show", "run-1", "--case", "case-1"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_stored_escape_sequences_print_escaped(project: Project, tmp_path: Path, command: list[str]) -> None:
    _plant(project, tmp_path)
    result = CliRunner().invoke(app, [*command, "--project", str(project.root)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert not [c for c in RAW if c in result.output], result.output
    assert "\\x1b[2J" in result.output
    if "list" not in command or command[0] == "traits":  # lists clip their columns; the rest show it whole
        assert "\\x1b]0;pwned\\x07" in result.output and "\\x9b" in result.output
        assert "[bold]not markup[/bold]" in result.output
