"""A run whose calls fail for good does not pass as a success, and does not pay again for them.

`workbench sft run` as a user runs it (a subprocess) against the fake Gemini server: with every
call answered 401 the run ends `failed`, exits 1 and says why in one line; the next run sends
nothing for those calls; `--retry-failed` sends them again once the key works. A 400 on some
calls fails those rows alone while the rest of the run goes on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.fakes.rules import FakeRequest, Fault, Reply
from tests.fakes.sft_model import SFTFakeModel
from tests.kill_resume import Pipeline, new_project, start
from tests.sft_setup import PERSONAS, TRAITS, sft_env
from workbench.project import Project

RUN = Pipeline(("sft", "run", "test", "--yes"))


def run(project: Project, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    process = start(project, env, Pipeline((*RUN.args, *extra)))
    output, _ = process.communicate(timeout=240)
    return subprocess.CompletedProcess(process.args, process.returncode, output)


def runs(project: Project) -> list[tuple[str, str | None]]:
    with project.store.connect() as con:
        return con.execute("SELECT status, note FROM runs ORDER BY started_at").fetchall()


def test_a_run_whose_every_call_is_refused_fails_and_is_not_paid_for_again(tmp_path: Path, fake_gemini: Any) -> None:
    project = new_project(tmp_path / "p", RUN)
    env = sft_env(fake_gemini)
    fake_gemini.rule = lambda request: Fault(401)
    first = run(project, env)
    assert first.returncode == 1, first.stdout
    assert "call(s) failed for a permanent reason" in first.stdout and "--retry-failed" in first.stdout
    assert "auth" in first.stdout
    sent = fake_gemini.requests_total
    assert sent > 0
    assert runs(project)[0][0] == "failed"

    again = run(project, env)
    assert again.returncode == 1
    assert fake_gemini.requests_total == sent, "failed calls are not sent again without --retry-failed"

    fake_gemini.rule = SFTFakeModel(TRAITS, PERSONAS)  # the key is fixed
    fixed = run(project, env, "--retry-failed")
    assert fixed.returncode == 0, fixed.stdout
    assert fake_gemini.requests_total > sent
    with project.store.connect() as con:
        assert con.execute("SELECT count(*) FROM sft_scenarios").fetchone()[0] > 0  # type: ignore[index]
    assert runs(project)[-1][0] == "done"


def test_a_bad_request_fails_its_row_alone(tmp_path: Path, fake_gemini: Any) -> None:
    project = new_project(tmp_path / "p", RUN)
    model = SFTFakeModel(TRAITS, PERSONAS)

    def too_long_for_one_persona(request: FakeRequest) -> Reply:
        if PERSONAS[0] in request.last_user_text:
            return Fault(400, body='{"error": {"code": 400, "message": "input token count exceeds the maximum"}}')
        return model(request)

    fake_gemini.rule = too_long_for_one_persona
    env = sft_env(fake_gemini, WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS="true")
    first = run(project, env)
    assert first.returncode == 1
    assert "input token count exceeds the maximum" in first.stdout
    with project.store.connect() as con:
        failed = con.execute("SELECT count(*) FROM sft_generations WHERE status = 'failed'").fetchone()[0]  # type: ignore[index]
        examples = con.execute("SELECT count(*) FROM sft_examples").fetchone()[0]  # type: ignore[index]
    assert failed > 0 and examples > 0, "the other rows went on to become examples"
    sent = fake_gemini.requests_total
    assert run(project, env).returncode == 1
    assert fake_gemini.requests_total == sent
