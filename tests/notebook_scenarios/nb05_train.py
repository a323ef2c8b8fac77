"""05_train: a project with accepted SFT examples (the SFT pipeline's, against the scripted fake model),
a baseline chat file in baselines/, and the tiny model as the model being trained (the `baseline`
role in workbench.toml). Unattended, the notebook mixes the examples half and half with the
baseline, trains the tiny model with SFT for a few steps on the CPU in a `workbench train`
process, waits for it, and lists the run's checkpoints."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer

from tests.fakes.sft_model import SFTFakeModel
from tests.sft_setup import DOC, PERSONAS, TRAITS, rows, run, sft_env
from tests.test_train_datasets import chat, write_baseline
from tests.tiny_model import build_tiny_chat_model
from workbench.project import CONFIG_FILE, Project, load_project
from workbench.store.traits import add_traits_file

# What the notebook's defaults ask for when a baseline file is offered (notebooks/05_train.py).
FRACTION = 0.5
MAX_STEPS = 10
BASELINE_ROWS = 40  # more than the accepted examples, so half and half is possible


def model_path(project: Project) -> Path:
    return project.root / "models" / "tiny"


def baseline_path(project: Project) -> Path:
    return project.root / "baselines" / "chat.jsonl"


def settings(server: Any) -> dict[str, str]:
    server.rule = SFTFakeModel(TRAITS, PERSONAS)
    env = sft_env(server, WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true", WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES="true")
    del env["WORKBENCH_ROLES__BASELINE"]  # workbench.toml names the model being trained: the tiny one
    return env


def _set_role(root: Path, role: str, spec: str) -> None:
    """Point `role` at `spec` in the project's workbench.toml (the template names every role once)."""
    config = root / CONFIG_FILE
    text, found = re.subn(rf"(?m)^{role} = .*$", f"{role} = {json.dumps(spec)}", config.read_text(encoding="utf-8"))
    assert found == 1, f"{role} is not in {config}"
    config.write_text(text, encoding="utf-8")


def prepare(project: Project) -> None:
    model = build_tiny_chat_model(model_path(project))
    with pytest.MonkeyPatch.context() as patch:  # the SFT pipeline's baseline answers come from the fake
        patch.setenv("WORKBENCH_ROLES__BASELINE", "gemini:fake-model")
        sft = load_project(project.root)
        traits = project.root / "traits.md"
        traits.write_text(DOC, encoding="utf-8")
        add_traits_file(sft.store, traits, name="test")
        run(sft)
    assert rows(project, "SELECT count(*) FROM sft_examples WHERE status = 'ok'")[0][0] >= 3
    _set_role(project.root, "baseline", f"hf:{model}")
    baseline_path(project).parent.mkdir()
    write_baseline(baseline_path(project), [chat(i) for i in range(BASELINE_ROWS)])


def check(project: Project) -> None:
    accepted = rows(project, "SELECT count(*) FROM sft_examples WHERE status = 'ok'")[0][0]
    [(dataset_id, kind, recipe, manifest)] = rows(project, "SELECT id, kind, recipe, manifest FROM train_datasets")
    recipe, manifest = json.loads(recipe), json.loads(manifest)
    assert kind == "sft" and recipe["baseline"] == str(baseline_path(project))
    assert recipe["synthetic_fraction"] == FRACTION == manifest["synthetic_fraction"]
    assert manifest["counts"]["total"] == {"synthetic": accepted, "baseline": accepted}
    origins = dict(rows(project, "SELECT origin, count(*) FROM train_rows WHERE dataset_id = ? GROUP BY 1", dataset_id))
    assert origins == {"synthetic": accepted, "baseline": accepted}

    [(run_id, method, run_dataset, base, status, error)] = rows(
        project, "SELECT id, method, dataset_id, base_model, status, error FROM train_runs"
    )
    assert (method, run_dataset, base, status, error) == ("sft", dataset_id, str(model_path(project)), "done", None)
    losses = rows(
        project,
        "SELECT step, value FROM train_metrics WHERE run_id = ? AND split = 'train' AND name = 'loss' ORDER BY step",
        run_id,
    )
    assert [step for step, _ in losses] == list(range(1, MAX_STEPS + 1))  # logging_steps = 1: every step
    assert all(math.isfinite(value) and value > 0 for _, value in losses)

    [(step, path, kind)] = rows(project, "SELECT step, path, kind FROM checkpoints WHERE run_id = ?", run_id)
    assert (step, kind) == (MAX_STEPS, "adapter") and Path(path).name == "final"
    model = AutoPeftModelForCausalLM.from_pretrained(path)  # the adapter, on the tiny model it names
    tokenizer = AutoTokenizer.from_pretrained(path)
    with torch.no_grad():
        logits = model(**tokenizer("Hello", return_tensors="pt")).logits
    assert torch.isfinite(logits).all()
