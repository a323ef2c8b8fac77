"""`workbench train … --launcher accelerate`: real `accelerate launch` runs, two CPU processes (gloo).

The data are the SFT pipeline's accepted examples (fake Gemini server), frozen by the dataset
builder, as in tests/test_train.py; the model is tests/tiny_model.py's 2-layer Llama. The first
test trains through the CLI and reads what each rank wrote and what the parent stored; the second
moves a `--dry-run`'s inputs to a folder of their own, deletes the project, runs the printed
command there and imports the result into another project.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from tests.sft_setup import rows
from tests.test_train import chats  # noqa: F401  (the fixture: a project with the `chats` SFT dataset)
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.project import Project, init_project
from workbench.train.tracking import run_metrics

STEPS = 3
SETTINGS = {"lora_r": 8, "lora_alpha": 16, "batch_size": 2, "max_seq_length": 512, "warmup_ratio": 0,
            "max_steps": STEPS, "logging_steps": 1}  # fmt: skip


def train_args(project: Project, base: Path, *extra: str) -> list[str]:
    sets = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    return ["train", "sft", "--dataset", "chats", "--base-model", str(base), *sets, "--launcher", "accelerate",
            *extra, "-p", str(project.root)]  # fmt: skip


def printed_command(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if "accelerate.commands.launch" in line)
    return shlex.split(line)


def events(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def assert_answers(checkpoint: Path) -> None:
    """The adapter loads on its base (transformers' PEFT integration) and generates a token."""
    model: Any = AutoModelForCausalLM.from_pretrained(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    prompt: Any = tokenizer.apply_chat_template([{"role": "user", "content": "Hello"}], add_generation_prompt=True,
                                           return_dict=True, return_tensors="pt")  # fmt: skip
    generated = model.generate(**prompt, max_new_tokens=1, do_sample=False)
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 1


def test_two_processes_train_disjoint_shards_log_each_step_once_and_save_a_loadable_checkpoint(
    chats: Project,  # noqa: F811
    tiny_model_path: Path,
) -> None:
    result = CliRunner().invoke(app, train_args(chats, tiny_model_path, "--num-processes", "2"))
    assert result.exit_code == 0, result.output
    command = printed_command(result.output)
    assert command[command.index("--num_processes") + 1] == "2" and "workbench.train.rank_main" in command
    ((run_id, status, output_dir),) = rows(chats, "SELECT id, status, output_dir FROM train_runs")
    folder = Path(output_dir)
    assert status == "done"

    shards = [json.loads((folder / "ranks" / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    assert [(s["rank"], s["world_size"]) for s in shards] == [(0, 2), (1, 2)]
    assert [len(s["ids"]) for s in shards] == [STEPS * 2, STEPS * 2]  # batch_size rows a step on each rank
    n = len((folder / "inputs" / "data" / "train.jsonl").read_text().splitlines())
    assert n % 4 == 0, "each epoch splits evenly over 2 ranks x batches of 2"
    half = n // 2
    for epoch in range(STEPS * 2 // half):  # in every pass over the data each rank has half, not the other's
        seen = [set(s["ids"][epoch * half : (epoch + 1) * half]) for s in shards]
        assert not seen[0] & seen[1] and seen[0] | seen[1] == set(range(n))

    steps = [step for step, split, name, _ in run_metrics(chats, run_id) if split == "train" and name == "loss"]
    assert steps == list(range(1, STEPS + 1))
    logged = [e["step"] for e in events(folder) if e.get("split") == "train" and "loss" in e["values"]]  # type: ignore[operator]
    assert logged == list(range(1, STEPS + 1))  # written by one process only: no step twice in the file

    ((path,),) = rows(chats, "SELECT path FROM checkpoints WHERE run_id = ? AND step = ?", run_id, STEPS)
    assert Path(path) == folder / "final"
    assert_answers(Path(path))


def test_the_printed_command_trains_from_the_exported_files_alone_and_a_failed_launch_is_recorded(
    chats: Project,  # noqa: F811
    tiny_model_path: Path,
    tmp_path: Path,
) -> None:
    broken = chats.root / "broken.yaml"
    broken.write_text("this is not: [an accelerate config\n")
    failed = CliRunner().invoke(app, train_args(chats, tiny_model_path, "--accelerate-config", str(broken)))
    assert failed.exit_code == 1 and "exited with status" in str(failed.exception)
    dry = CliRunner().invoke(app, train_args(chats, tiny_model_path, "--num-processes", "1", "--dry-run"))
    assert dry.exit_code == 0, dry.output
    command = printed_command(dry.output)
    folder = Path(command[command.index("--out") + 1])
    ((status, error),) = rows(chats, "SELECT status, error FROM train_runs")  # the dry run is not a run
    assert status == "failed" and "accelerate launch exited with status" in error

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(folder / "inputs", elsewhere / "inputs")  # the exported dataset and run_config.json only
    shutil.rmtree(chats.root)  # no project, no store
    moved = [arg.replace(str(folder), str(elsewhere)) for arg in command]
    done = subprocess.run(moved, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_answers(elsewhere / "final")

    other = init_project(tmp_path / "other")
    imported = CliRunner().invoke(app, ["train", "import", str(elsewhere), "-p", str(other.root)])
    assert imported.exit_code == 0, imported.output
    ((run_id, status),) = rows(other, "SELECT id, status FROM train_runs")
    ((path,),) = rows(other, "SELECT path FROM checkpoints WHERE run_id = ?", run_id)
    assert status == "done" and Path(path) == elsewhere / "final"
    losses = [v for step, split, name, v in run_metrics(other, run_id) if split == "train" and name == "loss"]
    assert len(losses) == STEPS


def test_launch_options_need_the_accelerate_launcher(project: Project) -> None:
    args = ["train", "sft", "--dataset", "chats", "--base-model", "m", "--num-processes", "2", "-p", str(project.root)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and isinstance(result.exception, WorkbenchError)
    assert "--launcher accelerate" in str(result.exception)
