"""The `workbench` command as a user runs it: a real subprocess, real store, fake model server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.rules import Safety, Text

REPO = Path(__file__).resolve().parents[1]


def workbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, from the repository root, with a wide terminal."""
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args], cwd=REPO, env=environment,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@dataclass(frozen=True)
class GeminiProject:
    """A fresh project whose CLI runs talk to the fake Gemini server."""

    path: str
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return workbench(*args, "--project", self.path, env=self.env)

    def batch(self, prompts: Path, jsonl: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        """Write `jsonl` to `prompts`, run `llm batch` on it; (the run, the output path)."""
        prompts.write_text(jsonl)
        out = prompts.with_name("out.jsonl")
        return self.run("llm", "batch", str(prompts), "--out", str(out)), out


@pytest.fixture
def gemini_project(tmp_path: Path, fake_gemini: Any) -> GeminiProject:
    path = str(tmp_path / "p")
    assert workbench("init", path).returncode == 0
    return GeminiProject(path, {"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url})


def test_init_add_traits_and_status_counts_the_chunks(tmp_path: Path) -> None:
    project = str(tmp_path / "p")
    assert workbench("init", project).returncode == 0
    added = workbench("traits", "add", "data/traits/candid_care.md", "--project", project)
    assert added.returncode == 0, added.stderr
    status = workbench("status", "--project", project)
    assert status.returncode == 0, status.stderr
    # One line per document, counts by kind: a 150-trait document must not flood the status.
    row = next(line for line in status.stdout.splitlines() if "candid_care@1" in line)
    assert [cell.strip() for cell in row.split("│")[3:6]] == ["8", "18", "0"]  # traits, guidance, boundaries
    assert "Owns its mistakes" not in status.stdout
    assert "No model calls yet" in status.stdout


def test_a_command_needing_gemini_without_a_key_says_which_variable_to_set(tmp_path: Path) -> None:
    project = str(tmp_path / "p")
    assert workbench("init", project).returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "llm", "ask", "Hello", "--project", project],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "GEMINI_API_KEY" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_llm_ask_answers_through_the_gateway_then_from_the_cache(
    fake_gemini: Any, gemini_project: GeminiProject
) -> None:
    fake_gemini.rule = lambda req: Text(f"Answer to: {req.last_user_text}", tokens_in=12, tokens_out=4)
    first = gemini_project.run("llm", "ask", "Is it safe?")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Answer to: Is it safe?" in first.stdout and "12 in / 4 out" in first.stdout
    second = gemini_project.run("llm", "ask", "Is it safe?")
    assert "cached" in second.stdout and fake_gemini.requests_total == 1
    status = gemini_project.run("status")
    # generator is gemini-3-flash in the default config: 12 * 0.50 + 4 * 3.00 per million tokens
    assert "adhoc" in status.stdout and "0.0000" in status.stdout
    assert "12" in status.stdout


def test_a_failed_call_exits_non_zero_with_its_reason(fake_gemini: Any, gemini_project: GeminiProject) -> None:
    fake_gemini.rule = lambda req: Safety("PROHIBITED_CONTENT", prompt=True)
    result = gemini_project.run("llm", "ask", "Something blocked")
    assert result.returncode == 1
    assert "safety" in result.stdout and "PROHIBITED_CONTENT" in result.stdout


def test_llm_batch_validates_the_whole_file_before_sending_anything(
    tmp_path: Path, fake_gemini: Any, gemini_project: GeminiProject
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    result, out = gemini_project.batch(prompts, '{"prompt": "one"}\n{"prompt": "two", "sample": 3}\n{"prompt": "3"}\n')
    assert result.returncode == 1
    assert f"{prompts}:2:" in result.stdout and "sample" in result.stdout
    assert fake_gemini.requests_total == 0 and not out.exists()


def test_llm_batch_answers_every_sample_and_writes_jsonl(
    tmp_path: Path, fake_gemini: Any, gemini_project: GeminiProject
) -> None:
    jsonl = '{"prompt": "one", "samples": 2}\n\n{"prompt": "two", "system": "Be brief."}\n'
    result, out = gemini_project.batch(tmp_path / "prompts.jsonl", jsonl)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["prompt"], r["sample"], r["status"]) for r in rows] == [
        ("one", 0, "ok"), ("one", 1, "ok"), ("two", 0, "ok"),
    ]  # fmt: skip
    assert rows[2]["text"] == "Echo: two" and rows[2]["system"] == "Be brief."
    assert fake_gemini.requests_total == 3  # two samples of one prompt are two distinct calls
    assert "3/3 answered" in result.stdout


def test_ctrl_c_interrupts_a_command_started_by_a_process_that_ignores_it() -> None:
    """A child inherits an ignored SIGINT (as from a test runner's worker); `stop_training` relies on it
    interrupting the `workbench train` process, so the CLI puts Python's KeyboardInterrupt back."""
    code = ("import signal, sys; sys.argv = ['workbench', '--help']\n"
            "from workbench.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")  # fmt: skip
    ignoring = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # fmt: skip
    assert ignoring.stdout.strip().splitlines()[-1] == "True", ignoring.stderr
