"""Batches run elsewhere: `--batch-export`, `workbench batch export`, a run-batch, `workbench batch import`.

The "elsewhere" is played by the fake OpenAI server's live endpoint: each exported line's body is
posted to it as vLLM's `run-batch` would, and the answers are written as its output file. Import
then stores them, and the same requests through the gateway come back answered.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.test_batch_gateway import answer, mood_request
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.llm.batch import records
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest
from workbench.project import Project, load_project

REQUESTS = [mood_request(i) for i in range(3)]


@pytest.fixture
def local(project: Project, fake_openai: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose rater is a self-hosted OpenAI-compatible server (the fake)."""
    monkeypatch.setenv("WORKBENCH_ROLES__RATER", fake_openai.spec("served-model"))
    fake_openai.rule = answer
    return load_project(project.root)


async def through(project: Project, requests: list[LLMRequest], batch: str) -> list[CallResult]:
    async with Gateway(project, stage="audit.rate", batch=batch) as gateway:  # type: ignore[arg-type]
        return await gateway.map(requests, role="rater")


def cli(project: Project, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--project", str(project.root)], env={"COLUMNS": "200"})


def run_batch(fake: Any, requests_file: Path, output_file: Path) -> None:
    """What `vllm run-batch -i requests_file -o output_file` does, against the fake's live endpoint."""
    lines: list[dict[str, Any]] = []
    for line in requests_file.read_text().splitlines():
        request = json.loads(line)
        assert (request["method"], request["url"]) == ("POST", "/v1/chat/completions")
        response = httpx.post(fake.base_url + "/chat/completions", json=request["body"],
                              headers={"Authorization": "Bearer x"})  # fmt: skip
        lines.append({"id": f"out-{len(lines)}", "custom_id": request["custom_id"], "error": None,
                      "response": {"status_code": response.status_code, "body": response.json()}})  # fmt: skip
    output_file.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_exported_requests_run_elsewhere_come_back_as_answers(local: Project, fake_openai: Any, tmp_path: Path) -> None:
    held = asyncio.run(through(local, REQUESTS, "export"))
    assert [r.status for r in held] == ["deferred"] * 3
    assert fake_openai.requests_total == 0, "nothing was sent"

    out = cli(local, "batch", "export", "audit.rate", "--out", str(tmp_path / "requests.jsonl"))
    assert out.exit_code == 0, out.output
    exported = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [line["custom_id"] for line in exported] == [r.cache_key for r in held]
    assert {line["body"]["model"] for line in exported} == {"served-model"}

    run_batch(fake_openai, tmp_path / "requests.jsonl", tmp_path / "output.jsonl")
    imported = cli(local, "batch", "import", str(tmp_path / "output.jsonl"))
    assert imported.exit_code == 0 and "Stored 3 answer(s)" in imported.output
    sent = fake_openai.requests_total

    answers = asyncio.run(through(local, REQUESTS, "off"))
    assert [r.parsed for r in answers] == [{"mood": f"calm-{i}"} for i in range(3)]
    assert fake_openai.requests_total == sent, "the answers came from the import"
    again = cli(local, "batch", "import", str(tmp_path / "output.jsonl"))
    assert "Stored 0 answer(s)" in again.output and "3 line(s) matched no waiting request" in again.output


def test_a_broken_output_file_is_refused_whole_with_its_line(local: Project, fake_openai: Any, tmp_path: Path) -> None:
    asyncio.run(through(local, REQUESTS, "export"))
    cli(local, "batch", "export", "audit.rate", "--out", str(tmp_path / "requests.jsonl"))
    run_batch(fake_openai, tmp_path / "requests.jsonl", tmp_path / "output.jsonl")
    lines = (tmp_path / "output.jsonl").read_text().splitlines()
    (tmp_path / "output.jsonl").write_text("\n".join([lines[0], '{"custom_id": "x", "response": ', lines[2]]))

    result = cli(local, "batch", "import", str(tmp_path / "output.jsonl"))

    assert isinstance(result.exception, WorkbenchError)
    assert "line 2" in str(result.exception) and "Nothing was imported" in (result.exception.hint or "")
    [batch] = records.batches(local.store)
    assert batch.open and batch.answered is None


def test_export_names_what_waits_when_the_step_is_wrong(local: Project, tmp_path: Path) -> None:
    asyncio.run(through(local, REQUESTS, "export"))

    result = cli(local, "batch", "export", "sft.scenario", "--out", str(tmp_path / "x.jsonl"))

    assert isinstance(result.exception, WorkbenchError) and "audit.rate" in (result.exception.hint or "")
    assert not (tmp_path / "x.jsonl").exists()
