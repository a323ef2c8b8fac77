"""`[limits] max_row_chars` and `outlier_factor`: giant rows are refused at import, never sent to a
model, and called out by the plans."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.audit_fixtures import audit_env
from tests.audit_setup import planted_rows
from tests.fakes.audit_model import AuditFakeModel
from tests.fakes.rules import Text
from tests.sft_setup import rows
from tests.test_gateway import gw_project  # noqa: F401 - the fixture
from workbench.audit.datasets import list_datasets
from workbench.audit.imports import import_file
from workbench.audit.run import run_audit
from workbench.cli import app
from workbench.cli.common import console
from workbench.cli.sft import print_outliers
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.errors import WorkbenchError
from workbench.generate.context import template_request
from workbench.generate.cost import project_cost
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult
from workbench.project import Project, load_project

CAP = 2000
START, END = "HUGE-ROW-STARTS", "HUGE-ROW-ENDS"


def huge_chat(length: int = 5000) -> dict[str, Any]:
    """A chat whose answer is `length` characters, with a marker at each end."""
    filler = "word " * (length // 5)
    return {"id": "huge", "messages": [{"role": "user", "content": "Tell me everything."},
                                       {"role": "assistant", "content": f"{START} {filler} {END}"}]}  # fmt: skip


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def capped(project: Project, monkeypatch: pytest.MonkeyPatch, cap: int = CAP) -> Project:
    """The project reloaded with `[limits] max_row_chars` = `cap`, set as a user would in the environment."""
    monkeypatch.setenv("WORKBENCH_LIMITS__MAX_ROW_CHARS", str(cap))
    return load_project(project.root)


def test_an_import_with_a_row_over_the_cap_names_its_line_and_writes_nothing(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [{"text": "short one"}, {"text": "short two"}, {"text": "x" * 1500}, {"text": "y" * 3000}]
    path = write_jsonl(tmp_path / "docs.jsonl", records)
    with pytest.raises(WorkbenchError) as caught:
        import_file(capped(project, monkeypatch, 1000), path)
    message = str(caught.value)
    assert str(path) in message and "nothing was imported" in message
    assert "line 3: 1,500 characters, over the 1,000-character cap" in message
    assert "line 4: 3,000 characters" in message and "line 1" not in message
    assert "max_row_chars" in message and "WORKBENCH_LIMITS__MAX_ROW_CHARS" in message
    assert list_datasets(project) == []
    monkeypatch.delenv("WORKBENCH_LIMITS__MAX_ROW_CHARS")
    assert import_file(load_project(project.root), path).row_count == 4  # under the default cap it imports


def test_a_training_dataset_refuses_an_audit_dataset_row_over_the_cap(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported = import_file(project, write_jsonl(tmp_path / "chats.jsonl", [huge_chat()]))  # the default cap
    with pytest.raises(WorkbenchError, match=r"huge: 5,0\d\d characters, over the 2,000-character cap"):
        build_dataset(capped(project, monkeypatch), DatasetRecipe(name="full", audit_dataset=imported.name))


def test_rating_never_sends_a_row_over_the_cap_and_records_why_it_is_unrated(
    project: Project, fake_gemini: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WORKBENCH_AUDIT__SAMPLE_SIZE", "1000")  # every row is in the sample
    fake_gemini.rule = AuditFakeModel()
    import_file(project, write_jsonl(tmp_path / "chats.jsonl", [*planted_rows(40), huge_chat()]), name="chats")
    result = asyncio.run(run_audit(capped(project, monkeypatch), "chats"))

    prompts = [r.last_user_text for r in fake_gemini.requests]
    ratings = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "BatchRatings"]
    assert ratings and not any(START in p for p in ratings)  # left out of rating, not cut
    assert not any(END in p for p in prompts)  # never sent whole, in any step
    assert any(START in p for p in prompts)  # the scans read its start, cut
    rate = next(s for s in result.steps if s.step == "rate")
    assert rate.written.get("too_long") == 1
    assert result.report.patterns and all(p.unrated == 1 for p in result.report.patterns)
    [(reason,)] = rows(project, "SELECT reason FROM audit_generations WHERE status = 'too_long'")
    assert "row huge is 5,0" in reason and "max_row_chars" in reason and "unrated" in reason


def test_audit_plan_warns_about_outliers_and_rows_over_the_cap(
    project: Project, fake_gemini: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in audit_env(fake_gemini).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "250")
    import_file(project, write_jsonl(tmp_path / "chats.jsonl", [*planted_rows(40), huge_chat()]), name="chats")

    def plan() -> str:
        result = CliRunner().invoke(app, ["audit", "plan", "chats", "-p", str(project.root)])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # rich wraps long lines

    out = plan()
    assert "Outliers in the rows of 'chats': 1 of 41 are over 10x the median" in out
    assert "The longest, huge, is 5,0" in out and "% of the projected input tokens" in out
    assert "cap" not in out.split("Outliers")[1]  # under the default cap
    monkeypatch.setenv("WORKBENCH_LIMITS__MAX_ROW_CHARS", str(CAP))
    assert "1 are over the 2,000-character cap ([limits] max_row_chars), so never sent whole" in plan()


def test_a_prompt_variable_over_the_cap_fails_that_call_alone_and_nothing_is_sent(
    gw_project: Project,  # noqa: F811 - the fixture
    fake_gemini: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variables = {"user_prompt": "Hi", "response": "z" * 2500, "note": None, "trait_title": "T", "trait_text": "t",
                 "guidance": "", "boundaries": "", "situation": "trait_on", "opening": "Begin plainly."}  # fmt: skip
    project = capped(gw_project, monkeypatch)
    fake_gemini.rule = lambda request: Text("fine")
    requests = [template_request(project, "refine", **variables),
                template_request(project, "refine", **(variables | {"response": "short"}))]  # fmt: skip

    async def send() -> list[CallResult]:
        async with Gateway(project, stage="test") as gateway:
            return await gateway.map(requests, role="rater")

    too_long, fine = asyncio.run(send())
    assert too_long.status == "failed" and fine.ok
    assert "response is 2,500 characters, over the 2,000-character cap" in (too_long.error or "")
    assert "WORKBENCH_LIMITS__MAX_ROW_CHARS" in (too_long.error or "")
    assert fake_gemini.requests_total == 1 and "z" * 100 not in json.dumps(fake_gemini.requests[0].body)
    assert template_request(gw_project, "refine", **variables).refused is None  # under the default cap


def test_a_generation_plan_names_a_measured_call_far_longer_than_the_rest(project: Project) -> None:
    calls = [("sft.scenario", f"s{i}", 100) for i in range(10)]
    calls += [("sft.critique", f"c{i}", 100) for i in range(9)] + [("sft.critique", "big", 5000)]
    with project.store.transaction() as con:
        con.executemany(
            "INSERT INTO llm_calls (id, stage, model, cache_key, attempt, purpose, status, tokens_in, tokens_out)"
            " VALUES (?, ?, 'gemini:m', ?, 1, 'call', 'ok', ?, 10)",
            [[key, stage, key, tokens] for stage, key, tokens in calls],
        )
        con.execute(
            "INSERT INTO sft_generations (id, step, subject_id, variant, role, model, cache_key, status)"
            " VALUES ('g', 'critique', 'scenario-7', '', 'critic', 'gemini:m', 'big', 'ok')"
        )
    projection = project_cost(
        project, "sft", work="sft:v", reached={"sft.scenario": 10, "sft.critique": 10},
        remaining=20, expected=["sft.scenario", "sft.critique"], label="SFT", hint="",
    )  # fmt: skip
    [outliers] = projection.outliers
    assert (outliers.what, outliers.rows, outliers.outliers, outliers.median) == ("sft.critique calls", 10, 1, 100)
    assert (outliers.longest_id, outliers.longest) == ("scenario-7", 5000)
    assert outliers.share == pytest.approx(5000 / (1000 + 5900))  # every stage scaled by 2
    with console.capture() as captured:
        print_outliers(projection)
    shown = " ".join(captured.get().split())
    assert "Outliers in the sft.critique calls: 1 of 10 are over 10x the median (100 prompt tokens)" in shown
    assert "The longest, scenario-7, is 5,000 prompt tokens. They are 72% of the projected input tokens." in shown
