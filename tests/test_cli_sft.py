"""`workbench sft …` as a user runs it: a real subprocess, real store, fake Gemini, tiny local embedder.

Each CLI run costs a couple of seconds of imports, so each test walks one workflow end to end.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.rules import FakeRequest, Reply, Text, default_rule
from tests.test_cli import GeminiProject, workbench

TRAITS = "data/traits/candid_care.md"
TRAIT = "Respects autonomy"
# Unrelated user prompts (the tiny embedder puts them far apart), the first with console markup
# in it, which every command must print as written.
PROMPTS = [
    "My landlord [red]wants[/red] to raise the rent by twenty percent; should I move out or negotiate?",
    "I was offered a new job with better pay, but I would have to move to another city.",
    "My teenage son spends all night on his phone and his grades are falling.",
    "Is it a good idea to use my savings to pay off my student loans early?",
]


class ScriptedModel:
    """Scenarios get the next prompt of PROMPTS; the critic keeps them; the rater passes them."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self._lock = threading.Lock()  # rules run on server threads

    def __call__(self, request: FakeRequest) -> Reply:
        title = (request.json_schema or {}).get("title")
        if title == "ScenarioDraft":
            with self._lock:
                i = next(self._next)
            return Text(json.dumps({"scenario": f"Situation {i}.", "user_prompt": PROMPTS[i % len(PROMPTS)]}))
        if title == "ScenarioCritique":
            verdict = {"realistic": True, "elicits_trait": True, "baseline_too_easy": False}
            return Text(json.dumps(verdict | {"verdict": "keep", "reasons": "A real dilemma."}))
        if title == "ExampleRating":
            scores = {"realism": 4, "quality": 4, "embodiment": 4, "leakage": 1, "reasons": "Fine."}
            return Text(json.dumps(scores))
        return default_rule(request)  # plain answers: an echo of the user turn


@pytest.fixture
def sft_cli(tmp_path: Path, fake_gemini: Any, tiny_embedder_path: Path) -> GeminiProject:
    """A project with candid_care added, every role on the fake server, scenarios auto-approved."""
    fake_gemini.rule = ScriptedModel()
    path = str(tmp_path / "p")
    assert workbench("init", path).returncode == 0
    env = {
        "GEMINI_API_KEY": "k",
        "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url,
        "WORKBENCH_ROLES__BASELINE": "gemini:gemini-3-flash",
        "WORKBENCH_ROLES__EMBEDDER": f"st:{tiny_embedder_path}",
        "WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS": "true",
        "WORKBENCH_REVIEWER": "ada",
    }
    project = GeminiProject(path, env)
    added = project.run("traits", "add", TRAITS)
    assert added.returncode == 0, added.stdout + added.stderr
    return project


def ok(result: Any) -> str:
    """The output of a run that must have succeeded."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return str(result.stdout)


def test_pilot_then_projection_then_full_run(sft_cli: GeminiProject, fake_gemini: Any) -> None:
    # A full run with nothing measured refuses before sending anything.
    refused = sft_cli.run("sft", "run", "candid_care", "--chunk", TRAIT)
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr
    assert "Run a pilot first" in refused.stdout and fake_gemini.requests_total == 0

    # A cap of $0 stops the run before its first call, and says how to go on.
    capped = GeminiProject(sft_cli.path, {**sft_cli.env, "WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN": "0"})
    stopped = ok(capped.run("sft", "run", "candid_care", "--chunk", TRAIT, "--pilot", "1"))
    assert "Stopped at the budget cap of sft:" in stopped and "$0.0000 spent of $0.0000" in stopped
    assert "run the same command with a higher --budget" in stopped
    assert fake_gemini.requests_total == 0

    pilot = ok(sft_cli.run("sft", "run", "candid_care", "--chunk", TRAIT, "--pilot", "1"))
    assert "budget cap" not in pilot
    for step in ("scenario", "baseline", "critique", "conditioned", "refined", "rating"):
        assert re.search(rf"^│ {step}\s+│\s+1\s+│", pilot, re.M), f"{step} did not run one job:\n{pilot}"
    assert re.search(r"^│ dedup\s+│\s+1\s+│\s+0\s+│ needs_review 1", pilot, re.M), pilot
    assert "1 example awaiting review: workbench sft list examples --status needs_review -p" in pilot
    assert "Projection" not in pilot, "a pilot runs without a projection"

    status = ok(sft_cli.run("status"))
    assert "sft.scenarios: ok 1" in status and "sft.examples: needs_review 1" in status

    plan = ok(sft_cli.run("sft", "plan", "candid_care", "--chunk", TRAIT, "--scenarios", "4"))
    assert "3 scenario slot(s) to fill" in plan and "Budget cap: $25.00 per piece of work" in plan
    total = re.search(r"total\s+│\s+([\d,.]+)\s+│", plan)
    assert total and float(total.group(1).replace(",", "")) > 0, plan
    calls_before_plan = fake_gemini.requests_total

    # One step alone: only the scenario step runs, for the new slot.
    alone = ok(sft_cli.run("sft", "scenarios", "candid_care", "--chunk", TRAIT, "--scenarios", "2"))
    assert re.search(r"^│ scenario\s+│\s+1\s+│\s+1\s+│", alone, re.M) and "critique" not in alone
    assert fake_gemini.requests_total == calls_before_plan + 1, "plan sends nothing; the step one scenario"

    full = ok(sft_cli.run("sft", "run", "candid_care", "--chunk", TRAIT, "--scenarios", "2", "--yes"))
    assert "Projection: 0 scenario slot(s) to fill" in full, "the projection is shown before a full run"
    assert re.search(r"^│ critique\s+│\s+1\s+│\s+1\s+│", full, re.M), full
    assert "2 examples awaiting review" in full, "the pilot's example still waits too"

    listed = ok(sft_cli.run("sft", "list", "examples"))
    rows = re.findall(r"^│ ([0-9a-f]{16}) │ Respects autonomy .*needs_review", listed, re.M)
    assert len(rows) == 2, listed
    assert "[red]wants[/red]" in listed, "model text is printed as written, not as markup"


def test_review_edit_export_and_lineage(sft_cli: GeminiProject, tmp_path: Path) -> None:
    ok(sft_cli.run("sft", "run", "candid_care", "--chunk", TRAIT, "--pilot", "2"))

    accepted = ok(sft_cli.run("sft", "review", "accept", "examples", "--all-with-status", "needs_review", "--yes"))
    assert "2 example(s) with status needs_review" in accepted and "Accepted 2 example(s); status now: ok 2" in accepted
    ids = re.findall(r"^  ([0-9a-f]{16})$", accepted, re.M)
    assert len(ids) == 2

    better = tmp_path / "better.txt"
    better.write_text("A better answer, [bold]kept verbatim[/bold].\nSecond line.", encoding="utf-8")
    edited = ok(sft_cli.run("sft", "review", "edit", "example", ids[0][:8], "--set", f"response=@{better}"))
    new_id = re.search(rf"Edited example {ids[0]} \(response\) → new example ([0-9a-f]{{16}})", edited)
    assert new_id and new_id.group(1) not in ids, edited

    out = tmp_path / "out"
    exported = ok(sft_cli.run("sft", "export", str(out)))
    assert "(2 rows)" in exported
    chat = [json.loads(line) for line in (out / "chat.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [[m["role"] for m in row["messages"]] for row in chat] == [["user", "assistant"]] * 2
    responses = {row["messages"][1]["content"] for row in chat}
    assert better.read_text(encoding="utf-8") in responses, "the edit, not the original, is exported"
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["chat_example_ids"]) == sorted([ids[1], new_id.group(1)])

    shown = ok(sft_cli.run("sft", "show", ids[0]))
    assert f"Example {ids[0]}" in shown and "status: superseded" in shown
    assert f"→ {new_id.group(1)} (edited, ok)" in shown and "ada edit" in shown and "ada accept" in shown
    assert "system prompt used (stored only, never exported)" in shown and "Respects autonomy" in shown

    refused = sft_cli.run("sft", "review", "regenerate", "example", new_id.group(1))
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr
    assert "'regenerate' needs a note" in refused.stdout and "--note" in refused.stdout

    status = ok(sft_cli.run("status"))
    assert "sft.examples: ok 2, superseded 1" in status
    assert f"  superseded: edited by ada as {new_id.group(1)}" in status, "the most common reason of a non-ok status"
    assert "  ok:" not in status
