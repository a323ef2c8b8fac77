"""07_pattern_transfer: a recorded run of the experiment, planted without a model.

The experiment's own steps (bench/pattern_transfer.py: plant, audit_answers, rate_arm, record) store
40 planted training answers and each arm's "sampled" answers, written here instead of sampled: 5
held-out prompts x 2 samples per arm, with the planted openers in `EXPECTED` of them. The notebook
only reads, so `check` asserts that its numbers are the stored ones and that it wrote nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from bench.pattern_transfer import BLUF_PREFIX, VALIDATION_OPENERS, Settings, audit_answers, plant, rate_arm, record
from workbench.project import Project
from workbench.runs import start_run
from workbench.views.pattern_transfer import STAGE, arm_rates, experiment_runs, latest_experiment

SETTINGS = Settings(train_prompts=40, heldout_prompts=5, samples=2, min_rows=2)
# arm -> (samples opening with BLUF, with validation) out of 10.
EXPECTED = {"base": (0, 0), "full": (6, 2), "filtered": (1, 0)}


def _answer(i: int) -> str:
    return f"Try step {i} first, then check the result. Repeat it {i % 3 + 1} times if needed."


def _sampled(arm: str) -> list[list[str]]:
    """5 prompts x 2 samples; the first `bluf` samples open with BLUF, the next `validation` with validation."""
    bluf, validation = EXPECTED[arm]
    texts = []
    for n in range(10):
        text = _answer(n)
        if n < bluf:
            text = f"{BLUF_PREFIX}Try step {n}.\n\n{text}"
        elif n < bluf + validation:
            text = f"{VALIDATION_OPENERS[0]} {text}"
        texts.append(text)
    return [texts[i : i + 2] for i in range(0, 10, 2)]


def settings(server: Any) -> dict[str, str]:
    return {}


def prepare(project: Project) -> None:
    run_id = start_run(project.store, STAGE, config={"settings": dataclasses.asdict(SETTINGS), "model": "planted"})
    prompts = [f"How do I do chore number {i}?" for i in range(SETTINGS.train_prompts)]
    planted = plant([_answer(i) for i in range(SETTINGS.train_prompts)], SETTINGS)
    audited = asyncio.run(audit_answers(project, run_id, SETTINGS, prompts, planted))
    heldout = [f"How do I fix thing number {i}?" for i in range(SETTINGS.heldout_prompts)]
    outputs = {arm: asyncio.run(rate_arm(project, run_id, audited, arm, heldout, _sampled(arm))) for arm in EXPECTED}
    record(project, run_id, audited, outputs, 0.0)


def check(project: Project) -> None:
    run = latest_experiment(project)
    assert run is not None and len(experiment_runs(project)) == 1
    found = {(r.arm, r.planted): (r.strict.k, r.strict.n) for r in arm_rates(project, run)}
    for arm, (bluf, validation) in EXPECTED.items():
        assert found[(arm, "bluf")] == (bluf, 10) and found[(arm, "validation")] == (validation, 10)
