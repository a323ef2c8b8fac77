"""Serving trained checkpoints for evals: the `vllm serve` command, and the client side of such a server.

`workbench train serve` reads real `checkpoints` rows (registered by `register_checkpoint`, as
training does) over real PEFT adapters of the tiny model (tests/tiny_model.py) and prints the
command; the command itself is checked argument by argument, since no vLLM runs here. What the
evals do with the printed specs is checked against the fake OpenAI-compatible server, which
records the `model` of every request: two arms as two model names of one server, and the
`[concurrency] servers` limit of one server measured as requests in flight at the server.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from typer.testing import CliRunner

from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.rules import FakeRequest, Reply, default_rule
from tests.sft_setup import DOC
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals.report import list_runs, samples
from workbench.evals.runner import run_eval
from workbench.llm.gateway import Gateway
from workbench.llm.types import LLMRequest
from workbench.project import Project, load_project
from workbench.store.traits import add_traits_file
from workbench.train.serving import serve_plan
from workbench.train.tracking import Checkpoint, register_checkpoint

TEMPLATE_EXAMPLE = '# servers = {"http://127.0.0.1:8000/v1" = 64}'  # the commented line of project_template.toml
QUESTIONS = {"principles": "List three principles for an assistant.", "honesty": "When should an assistant say no?"}


def save_adapter(base: Path, folder: Path, rank: int, **settings: Any) -> Path:
    """A LoRA adapter of `base` saved by PEFT, as training saves its final checkpoint."""
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"], **settings)
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora).save_pretrained(str(folder))
    return folder


def register(project: Project, run_id: str, path: Path, base: Path | str, kind: str = "adapter") -> Checkpoint:
    return register_checkpoint(project, run_id, 30, str(path), kind=kind, base_model=str(base),
                               manifest={"method": "sft"})  # fmt: skip


@pytest.fixture
def arms(project: Project, tiny_model_path: Path, tmp_path: Path) -> tuple[Checkpoint, Checkpoint]:
    """Two adapters of the tiny model, ranks 8 and 12, registered as the final checkpoints of two runs."""
    return (
        register(project, "sft-a", save_adapter(tiny_model_path, tmp_path / "a", 8), tiny_model_path),
        register(project, "sft-b", save_adapter(tiny_model_path, tmp_path / "b", 12), tiny_model_path),
    )


def serve(project: Project, *args: str) -> Any:
    return CliRunner().invoke(app, ["train", "serve", *args, "-p", str(project.root)])


def printed_command(output: str) -> list[str]:
    """The `vllm serve` command the output shows, as a shell would split it."""
    start = output.index("vllm serve")
    return shlex.split(output[start : output.index("\n\n", start)].replace("\\\n", " "))


def option(args: list[str], name: str) -> list[str]:
    """The values after option `name`, up to the next option."""
    rest = args[args.index(name) + 1 :]
    return rest[: next((i for i, a in enumerate(rest) if a.startswith("--")), len(rest))]


def test_two_adapters_on_one_base_are_served_as_two_names(
    project: Project, arms: tuple[Checkpoint, Checkpoint], tiny_model_path: Path
) -> None:
    result = serve(project, "sft-a@30", "sft-b", "--name", "arm-a", "--name", "arm-b", "--port", "8123")
    assert result.exit_code == 0, result.output
    args = printed_command(result.output)
    assert args[:3] == ["vllm", "serve", str(tiny_model_path.resolve())]
    assert option(args, "--lora-modules") == [f"arm-a={arms[0].path}", f"arm-b={arms[1].path}"]
    assert option(args, "--max-lora-rank") == ["16"]  # ranks 8 and 12: the smallest rank vLLM accepts above both
    assert option(args, "--max-loras") == ["2"] and "--enable-lora" in args
    assert option(args, "--port") == ["8123"] and option(args, "--served-model-name") == ["base"]
    for name in ("arm-a", "arm-b", "base"):
        assert f"openai:{name}@http://127.0.0.1:8123/v1" in result.output
    assert "workbench eval run --suite knowledge --model openai:arm-a@http://127.0.0.1:8123/v1" in result.output


def test_a_merged_checkpoint_is_the_served_model_with_adapters_on_it_beside_it(
    project: Project, tiny_model_path: Path, tmp_path: Path
) -> None:
    merged = register(project, "midtrain-x", tiny_model_path, "Org/base-model", kind="merged")
    register(project, "sft-c", save_adapter(tiny_model_path, tmp_path / "c", 8), tiny_model_path)
    plan = serve_plan(project, ["sft-c", merged.id], names=["sft", "midtrained"])
    assert plan.command()[:5] == ["vllm", "serve", str(tiny_model_path.resolve()), "--served-model-name", "midtrained"]
    assert [(m.name, m.source) for m in plan.specs()] == [("midtrained", merged.id), ("sft", "sft-c@30")]
    alone = serve_plan(project, [merged.id]).command()
    assert "--enable-lora" not in alone and option(alone, "--served-model-name") == ["midtrain-x-30-merged"]


def test_what_cannot_be_served_is_refused_with_the_reason(
    project: Project, arms: tuple[Checkpoint, Checkpoint], tiny_model_path: Path, tmp_path: Path
) -> None:
    other_base = tmp_path / "other-base"
    shutil.copytree(tiny_model_path, other_base)
    register(project, "sft-other", save_adapter(other_base, tmp_path / "o", 8), other_base)
    register(project, "midtrain-m", save_adapter(tiny_model_path, tmp_path / "m", 8, modules_to_save=["lm_head"]),
             tiny_model_path)  # fmt: skip
    register(project, "sft-gone", save_adapter(tiny_model_path, tmp_path / "gone", 8), tiny_model_path)
    shutil.rmtree(tmp_path / "gone")
    cases = {
        ("sft-a", "sft-other"): "different base models",
        ("sft-a", "no-such-run"): "No checkpoint 'no-such-run'",
        ("sft-a", "sft-gone"): f"folder {tmp_path / 'gone'} is missing",
        ("midtrain-m",): "workbench train merge midtrain-m@30",
        ("sft-a", "sft-a@30"): "named twice",
    }
    for refs, message in cases.items():
        with pytest.raises(WorkbenchError, match=message.replace("(", r"\(")):
            serve_plan(project, list(refs))
    with pytest.raises(WorkbenchError, match="1 --name for 2 checkpoints"):
        serve_plan(project, ["sft-a", "sft-b"], names=["arm-a"])
    refused = serve(project, "sft-a", "sft-other")  # the CLI says it as an error, not a traceback
    assert refused.exit_code == 1 and "different base models" in str(refused.exception)


def test_two_arms_evaluated_against_one_server_go_to_their_own_names_as_separate_runs(
    project: Project, arms: tuple[Checkpoint, Checkpoint], fake_openai: FakeOpenAIServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    port = int(fake_openai.base_url.rsplit(":", 1)[1].split("/")[0])
    plan = serve_plan(project, ["sft-a", "sft-b"], names=["arm-a", "arm-b"], port=port)
    specs = {m.name: m.spec for m in plan.specs()}
    monkeypatch.setenv("WORKBENCH_ROLES__RATER", fake_openai.spec("grader"))  # grades the answers, same server
    (tmp_path / "traits.md").write_text(DOC)
    add_traits_file(project.store, tmp_path / "traits.md", name="test")
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in QUESTIONS.items()))
    project = load_project(project.root)

    run_ids = {}
    for arm in ("arm-a", "arm-b"):
        result = asyncio.run(run_eval(project, "knowledge", specs[arm], traits_ref="test", cases_path=cases,
                                      settings={"max_tokens": 16}))  # fmt: skip
        run_ids[arm] = result.run_id
        assert {s["case_id"]: s["status"] for s in samples(project, result.run_id)} == dict.fromkeys(QUESTIONS, "ok")

    asked = {arm: sorted(r.last_user_text for r in fake_openai.requests if r.model == arm) for arm in run_ids}
    assert asked == {arm: sorted(QUESTIONS.values()) for arm in run_ids}  # each arm's questions, to its own name
    assert {r.model for r in fake_openai.requests} == {"arm-a", "arm-b", "grader"}
    stored = {run.run_id: run.model for run in list_runs(project)}
    assert stored == {run_ids["arm-a"]: specs["arm-a"], run_ids["arm-b"]: specs["arm-b"]}


def set_servers(project: Project, servers: str, openai: int = 16) -> None:
    """Uncomment the template's example `servers` line with another value, and set `openai`."""
    config = project.root / "workbench.toml"
    text = config.read_text().replace("openai = 16", f"openai = {openai}")
    config.write_text(text.replace(TEMPLATE_EXAMPLE, f"servers = {servers}"))


class InFlight:
    """A fake's rule that counts the requests in flight at the server.

    The first requests are held until `hold_for` are in flight (or `patience_s` has passed, once), so
    the peak reaches the client's limit whenever that limit is at least `hold_for`; later requests
    pass at once. A request counts as in flight until its reply is decided, before it is written,
    so the count never exceeds what the client really has in flight.
    """

    def __init__(self, hold_for: int, patience_s: float = 1.0) -> None:
        self.hold_for, self.patience_s = hold_for, patience_s
        self.now = self.peak = 0
        self._released = False
        self._changed = threading.Condition()

    def __call__(self, request: FakeRequest) -> Reply:
        with self._changed:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._released or self.now >= self.hold_for, timeout=self.patience_s)
            self._released = True
            self.now -= 1
        return default_rule(request)


def test_a_servers_concurrency_setting_caps_it_while_another_server_keeps_the_default(
    project: Project, fake_openai: FakeOpenAIServer
) -> None:
    with FakeOpenAIServer() as other:
        capped, default = InFlight(hold_for=5), InFlight(hold_for=5)
        fake_openai.rule, other.rule = capped, default
        set_servers(project, f'{{"{fake_openai.base_url}/" = 2}}', openai=5)

        async def ask(gateway: Gateway, server: FakeOpenAIServer) -> list[Any]:
            requests = [LLMRequest.from_prompt(f"question {i}") for i in range(10)]
            return await gateway.map(requests, model=server.spec("served"))

        async def both() -> list[Any]:
            async with Gateway(load_project(project.root)) as gateway:
                return [*await ask(gateway, fake_openai), *await ask(gateway, other)]

        assert all(result.ok for result in asyncio.run(both()))
    assert (capped.peak, default.peak) == (2, 5)


@pytest.mark.parametrize(
    ("servers", "message"),
    [('{"http://127.0.0.1:8000/v1" = 0}', "greater than or equal to 1"), ('{"127.0.0.1:8000" = 4}', "http")],
)
def test_a_bad_server_setting_is_refused(project: Project, servers: str, message: str) -> None:
    set_servers(project, servers)
    with pytest.raises(WorkbenchError, match=f"concurrency.servers.*{message}"):
        load_project(project.root)
