"""Where the capability SxS's prompts and opponent come from: the arena-hard and Inspect importers,
and the recognition of the opponent (the 0%-synthetic arm, or the untrained start) from the store.

The source files under tests/data/importers/{arena_hard,inspect}/ were written for these tests in
the formats' shapes (arena-hard v2 and v0.1 question.jsonl; Inspect JSONL samples).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.eval_single_turn_model import SingleTurnFakeModel
from tests.sft_setup import sft_env
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals.base import get_suite
from workbench.evals.cases import load_cases
from workbench.evals.importers import import_cases
from workbench.evals.report import samples
from workbench.evals.runner import run_eval
from workbench.evals.suites.capability_opponent import opponent_spec, recognise
from workbench.project import Project, load_project
from workbench.train.tracking import register_checkpoint

DATA = Path(__file__).parent / "data" / "importers"
ARENA = DATA / "arena_hard" / "question.jsonl"
INSPECT = DATA / "inspect" / "samples.jsonl"


def written(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- importers -----------------------------------------------------------------------------------


def test_arena_hard_questions_become_capability_cases(project: Project, tmp_path: Path) -> None:
    out, count = import_cases(project, "arena-hard", ARENA)
    assert count == 3 and out == project.root / "evals" / "imported" / "arena-hard-question.jsonl"
    source = [json.loads(line) for line in ARENA.read_text().splitlines() if line.strip()]
    assert written(out) == [{"id": q["uid"], "prompt": q["prompt"], "category": q["category"]} for q in source]
    cases, _ = load_cases(project, get_suite("capability"), out)  # runs as it is with --cases
    assert [c.id for c in cases] == ["a1f3", "b7c2", "c9d4"]

    # v0.1: question_id and a single turn, read from the folder holding question.jsonl.
    old, _ = import_cases(project, "arena-hard", ARENA.parent / "v0.1", tmp_path / "old.jsonl")
    first, second = written(old)
    assert first["id"] == "q-lamps" and first["prompt"].startswith("Explain why two identical lamps")
    assert second["id"] == "17" and first["category"] == "arena-hard-v0.1"


def test_inspect_samples_become_capability_prompts(project: Project) -> None:
    out, count = import_cases(project, "inspect", INSPECT)
    assert count == 3
    budget, dates, apology = written(out)
    assert budget == {"id": "budget-01", "category": "advice",
                      "prompt": "How should I split a monthly grocery budget between two adults who eat very "
                                "differently?"}  # fmt: skip
    assert dates["id"] == "samples-2" and dates["category"] == ""  # no id: the file and line
    assert dates["prompt"] == "Summarise the trade-offs of storing dates as text in a database."
    assert apology == {"id": "42", "category": "", "prompt": "Draft a two-sentence apology\nfor missing a friend's "
                       "recital."}  # fmt: skip


@pytest.mark.parametrize(
    ("format_name", "lines", "problem"),
    [
        ("arena-hard", ['{"uid": "a", "prompt": "Hi."}', '{"uid": "b", "prompt": '], "line 2: not valid JSON"),
        ("arena-hard", ['{"uid": "a", "prompt": "Hi."}', "", '{"prompt": "Hi."}'], "line 3: has no uid"),
        ("arena-hard", ['{"question_id": "a", "turns": [{"content": "A"}, {"content": "B"}]}'], "exactly one turn"),
        ("arena-hard", ['["uid", "prompt"]'], "line 1: must be a JSON object"),
        ("inspect", ['{"input": "Fine."}', '{"id": "x", "target": "t"}'], "line 2: 'input' must be"),
        ("inspect", ['{"input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi."}]}'],
         "['system', 'user']"),
        ("inspect", ['{"input": [{"role": "user", "content": [{"type": "image", "image": "x.png"}]}]}'],
         "not text"),
        ("inspect", ['{"id": "same", "input": "A."}', '{"id": "same", "input": "B."}'], "line 2: the case id 'same'"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_named_and_nothing_is_written(
    project: Project, tmp_path: Path, format_name: str, lines: list[str], problem: str
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    with pytest.raises(WorkbenchError) as error:
        import_cases(project, format_name, source, out)
    assert str(source) in str(error.value) and problem in str(error.value)
    assert not out.exists()


def test_the_command_imports_both_formats(project: Project, tmp_path: Path) -> None:
    for format_name, source, ids in (("arena-hard", ARENA, ["a1f3", "b7c2", "c9d4"]),
                                     ("inspect", INSPECT, ["budget-01", "samples-2", "42"])):  # fmt: skip
        out = tmp_path / f"{format_name}.jsonl"
        result = CliRunner().invoke(app, ["eval", "import", format_name, str(source), "--out", str(out),
                                          "-p", str(project.root)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "Wrote 3 capability cases" in result.output
        assert [c["id"] for c in written(out)] == ids


# --- the opponent --------------------------------------------------------------------------------

BASE = "Org/Base-1B"


def trained(project: Project, folder: Path, *, fraction: float, method: str = "sft", base: str = BASE) -> Path:
    """A training run from `base` on a dataset at `fraction`, and its checkpoint in `folder`."""
    folder.mkdir(parents=True)
    name = folder.name
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_datasets (id, name, kind, recipe, manifest, train_rows, validation_rows)"
            " VALUES (?, ?, 'sft', ?, '{}', 1, 0)",
            [f"ds-{name}", name, json.dumps({"name": name, "synthetic_fraction": fraction})],
        )
        con.execute("INSERT INTO train_runs (id, method, dataset_id, base_model, backend, config, output_dir, status)"
                    " VALUES (?, ?, ?, ?, 'trl', '{}', ?, 'done')",
                    [f"run-{name}", method, f"ds-{name}", base, str(folder)])  # fmt: skip
    register_checkpoint(project, f"run-{name}", 10, str(folder), kind="merged", base_model=base, manifest={})
    return folder


def test_the_opponent_is_recognised_from_the_training_runs(project: Project, tmp_path: Path) -> None:
    f0, f50 = trained(project, tmp_path / "f0", fraction=0), trained(project, tmp_path / "f50", fraction=0.5)
    dpo0 = trained(project, tmp_path / "dpo0", fraction=0, method="dpo")

    arm = recognise(project, f"hf:{f0}", target=f"hf:{f50}")
    assert (arm.kind, arm.synthetic_fraction, arm.warning) == ("zero_synthetic_arm", 0.0, None)
    start = recognise(project, f"hf:{BASE}", target=f"hf:{f50}")
    assert start.kind == "untrained_start" and "untrained start" in (start.warning or "")
    assert "--set baseline_model=" in (start.warning or "")
    other_arm = recognise(project, f"hf:{f50}")
    assert other_arm.kind == "trained_arm" and "50% synthetic" in (other_arm.warning or "")
    differently = recognise(project, f"hf:{dpo0}", target=f"hf:{f50}")
    assert differently.kind == "zero_synthetic_arm" and "not trained the same way" in (differently.warning or "")
    api = recognise(project, "gemini:gemini-3-flash", target=f"hf:{f50}")
    assert (api.kind, api.warning) == ("unrecognised", None)


def test_without_a_baseline_model_a_stored_target_plays_the_zero_arm_trained_the_same_way(
    project: Project, tmp_path: Path
) -> None:
    f50 = trained(project, tmp_path / "f50", fraction=0.5)
    assert opponent_spec(project, {}, target=f"hf:{f50}") == str(project.config.roles["baseline"])  # no 0% arm yet
    trained(project, tmp_path / "dpo0", fraction=0, method="dpo")  # trained another way: not the control
    trained(project, tmp_path / "other0", fraction=0, base="Org/Other-1B")  # from another base: neither
    f0 = trained(project, tmp_path / "f0", fraction=0)
    assert opponent_spec(project, {}, target=f"hf:{f50}") == f"hf:{f0}"
    assert opponent_spec(project, {"baseline_model": "hf:X"}, target=f"hf:{f50}") == "hf:X"  # the setting wins
    assert opponent_spec(project, {}, target="gemini:m") == str(project.config.roles["baseline"])


def test_a_run_against_the_untrained_start_keeps_a_warning_in_every_sample(
    project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in sft_env(fake_gemini, WORKBENCH_ROLES__JUDGE="gemini:fake-model").items():
        monkeypatch.setenv(key, value)
    fake_gemini.rule = SingleTurnFakeModel()
    env = load_project(project.root)
    trained(env, tmp_path / "f0", fraction=0, base="fake-model")  # the baseline role's model: the start
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "sum", "prompt": "What is 2 + 2?"}) + "\n")
    run_id = asyncio.run(run_eval(env, "capability", "gemini:fake-target", cases_path=cases)).run_id
    (row,) = samples(env, run_id)
    assert row["status"] == "ok" and row["details"]["opponent"]["kind"] == "untrained_start"
    assert "untrained start" in row["details"]["opponent_warning"]
    assert row["scores"]["target_as_a"] == row["scores"]["target_as_b"] == "target"  # still judged in both orders
    judged = [r for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "PairwiseVerdict"]
    assert len(judged) == 2
    cli = CliRunner().invoke(app, ["eval", "run", "--suite", "capability", "--model", "gemini:fake-target",
                                   "--cases", str(cases), "-p", str(env.root)], env={"COLUMNS": "300"})  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert cli.output.index("Warning:") < cli.output.index("Run ")  # said before the run, not after it
    assert "untrained start" in cli.output
