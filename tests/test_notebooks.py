"""Every marimo notebook runs as a script (`python notebooks/NN_….py`) and passes `marimo check`.

Each runs in a world of its own (tests/notebook_world.py): a temporary project, the fake Gemini
server answering by its scenario's script, and the tiny model where it trains. With nobody at
the run buttons every gated cell runs, so a script run is the whole walk; the scenario's
`check` then asserts what it left in the store. The notebooks' own test cells run under
`pytest notebooks/NN_….py` (notebooks/conftest.py), each in a process of its own (see pyproject.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebook_world import NOTEBOOKS, REPO, notebook_world, scenario_for


def test_the_stage_notebooks_and_the_experiment_each_have_a_scenario() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_traits", "02_sft_data", "03_midtraining_docs", "04_pattern_audit", "05_train", "06_eval",
        "07_pattern_transfer",
    ]  # fmt: skip
    for notebook in NOTEBOOKS:
        scenario = scenario_for(notebook.stem)
        assert all(callable(getattr(scenario, name, None)) for name in ("settings", "prepare", "check")), notebook


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_as_a_script(notebook: Path, tmp_path: Path) -> None:
    with notebook_world(notebook.stem, tmp_path) as world:
        result = subprocess.run(
            [sys.executable, str(notebook)],
            cwd=tmp_path,  # never the checkout: the notebook must take its project from WORKBENCH_PROJECT
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{notebook.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        world.check()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_test_cells_pass_under_pytest(notebook: Path) -> None:
    expected = notebook.read_text(encoding="utf-8").count("\n    def test_")
    # marimo exposes a notebook's tests only at collection, which it recognises by PYTEST_CURRENT_TEST being unset.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(notebook.relative_to(REPO))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert expected > 0 and f"{expected} passed" in result.stdout, result.stdout[-3000:]


def test_marimo_check_is_clean() -> None:
    marimo = Path(sys.executable).with_name("marimo")
    result = subprocess.run(
        [str(marimo), "check", "--strict", *map(str, NOTEBOOKS)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
