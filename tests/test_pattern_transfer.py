"""bench/pattern_transfer.py --quick: every step of the experiment on the real SmolLM2, end to end.

This asserts that the pipeline completes and that its numbers are well formed and exact where the
method makes them exact (planting, lexical rating, filtering); not the size of the effect, which
a two-step training run cannot show. The whole run's figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebook_world import REPO
from workbench.audit.datasets import dataset_rows, get_dataset
from workbench.audit.patterns import get_pattern
from workbench.project import load_project
from workbench.views.pattern_transfer import ARMS, arm_differences, arm_rates, latest_experiment

pytestmark = pytest.mark.real_model


def test_quick_run_completes_with_exact_planting_and_well_formed_rates(
    smollm2_gguf_path: Path, smollm2_path: Path, tmp_path: Path
) -> None:
    root = tmp_path / "pt"  # smollm2_path: converted once into the model cache, which the script then reads
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "WORKBENCH_PROJECT"}
    command = ["-m", "bench.pattern_transfer", "--quick", "--project", str(root), "--model", f"hf:{smollm2_gguf_path}"]
    result = subprocess.run([sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]
    project = load_project(root)
    run = latest_experiment(project)
    assert run is not None and set(run.config["arms"]) == set(ARMS)

    # Planting is exact: of 12 answers, 6 open with "Bottom line:" and 3 others with validation.
    answers = [json.loads(line) for line in (root / "experiments" / run.id / "answers.jsonl").read_text().splitlines()]
    kinds = [a["group"] for a in answers]
    assert (len(answers), kinds.count("bluf"), kinds.count("validation")) == (12, 6, 3)
    for a in answers:
        reply = a["messages"][1]["content"]
        assert reply.startswith("Bottom line: ") == (a["group"] == "bluf")
        assert reply.startswith("It's completely understandable to") == (a["group"] == "validation")

    # The lexical audit rates those openers exactly, and the filter removes exactly the planted rows.
    patterns = {name: get_pattern(project, pattern_id) for name, pattern_id in run.config["patterns"].items()}
    assert "bottom line" in patterns["bluf"].name.lower()
    filtered = get_dataset(project, f"pattern transfer {run.id}: filtered")
    kept = {r.row_id for r in dataset_rows(project, filtered.id)}
    assert kept == {f"p{i}" for i, a in enumerate(answers) if a["group"] == "none"}

    # Every arm sampled each held-out prompt once (quick: 4 prompts x 1 sample), and its rates are proportions.
    rates = arm_rates(project, run)
    assert {(r.arm, r.planted) for r in rates} == {(a, p) for a in ARMS for p in ("bluf", "validation")}
    for r in rates:
        assert r.strict.n == 4 and 0 <= r.strict.k <= r.broad.k <= 4
        assert r.strict.rate is not None and 0 <= r.strict.low <= r.strict.rate <= r.strict.high <= 1
    difference = arm_differences(project, run, "full", "base")["bluf"]
    assert difference.n == 4 and -1 <= difference.low <= difference.mean <= difference.high <= 1

    # The printed report is the Markdown table docs/benchmarks.md takes.
    assert "| arm | pattern | strict rate |" in result.stdout
    assert sum(line.startswith(("| base |", "| full |", "| filtered |")) for line in result.stdout.splitlines()) == 6
