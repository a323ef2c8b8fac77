"""The Run page (workbench/app/run.py) under AppTest: each stage's projection comes first, nothing starts before
the confirm, the confirmed job is the command shown, and every command on the page is one the CLI accepts.
"""

from __future__ import annotations

import shlex
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.test_app_empty_states import assert_runnable
from workbench.audit.datasets import snapshot_store
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.jobs import get_job, list_jobs, stop_job
from workbench.project import Project

WAIT_S = 120  # a ceiling for the started child to end, never a measured time


def texts(at: AppTest) -> str:
    """The page's Markdown and info boxes, with the escaping that keeps stored names literal taken out."""
    shown = "\n".join([m.value for m in at.markdown] + [i.value for i in at.info])
    return shown.replace("\\", "").replace("\u2060", "")


def commands(at: AppTest) -> list[str]:
    return [c.value for c in at.code if c.value.startswith("workbench ")]


def test_the_pilot_is_projected_then_started_only_after_the_confirm(
    sft_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("run", sft_project, monkeypatch)
    assert not at.exception
    assert "**Pilot:** 4 scenario slot(s) (2 per trait)" in texts(at)  # 2 traits × 2, with the calls it makes
    pilot = f"workbench sft run test@1 --pilot 2 --project {sft_project.root}"
    assert pilot in commands(at) and "No jobs yet" in texts(at)

    at.button(key="start-sft").click().run()
    assert list_jobs(sft_project.store) == []  # Start only asks
    assert any("Start this job now" in w.value for w in at.warning)
    at.button(key="cancel-sft").click().run()
    assert list_jobs(sft_project.store) == [] and not at.button(key="start-sft").disabled

    at.button(key="start-sft").click().run()
    at.button(key="confirm-sft").click().run()
    [job] = list_jobs(sft_project.store)
    try:
        assert job.command == pilot and job.kind == "sft"
        assert pilot in commands(at)  # the jobs panel lists it with its command
        at.button(key=f"stop-{job.id}").click().run()
        assert get_job(sft_project.store, job.id).stop_requested
    finally:
        stop_job(sft_project.store, job.id)  # never leave it running, whatever failed above
        deadline = time.monotonic() + WAIT_S
        while get_job(sft_project.store, job.id).active:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert get_job(sft_project.store, job.id).status == "stopped"


def test_a_full_run_before_any_pilot_says_what_to_run_first_and_offers_no_start(
    sft_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("run", sft_project, monkeypatch)
    at.radio(key="sft-mode").set_value("Full run").run()
    assert "Nothing to project from: no SFT run has been measured" in texts(at)
    assert not [b for b in at.button if b.key == "start-sft"]


STAGES = ["SFT data", "Documents", "Audit", "Dataset", "Training", "Eval"]


def every_tab(at: AppTest) -> tuple[str, list[str]]:
    """The text and commands of the open (first) tab, then of every other tab, opened in turn by the URL."""
    shown, lines = [texts(at)], commands(at)
    for stage in STAGES[1:]:  # the first tab is the default, which the URL cannot name again once left
        at.query_params["stage"] = stage
        at.run()
        assert not at.exception, stage
        shown.append(texts(at))
        lines += commands(at)
    return "\n".join(shown), lines


def test_every_stage_shows_its_projection_and_a_runnable_command(
    accepted: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_dataset(accepted, DatasetRecipe("chats", kind="sft", validation_fraction=0.0))
    snapshot_store(accepted, "sft", name="chats")
    at = open_page("run", accepted, monkeypatch)
    at.radio(key="sft-mode").set_value("Full run").run()
    at.number_input(key="sft-Full run").set_value(6).run()  # the pilot filled 4 of each trait's slots
    shown, lines = every_tab(at)
    for projection in ("**Projection:** 4 scenario slot(s) to fill",  # 2 traits × (6 − 4)
                       "document slot(s) (2 per trait and type", "**Lexical audit** of", "0 model calls, $0",
                       "**Dataset build:** 5 accepted sft row(s)", "**Training:** ", "**Eval:**"):  # fmt: skip
        assert projection in shown, projection
    assert {shlex.split(line)[1] for line in lines} >= {"sft", "docs", "audit", "dataset", "train", "eval"}
    at.query_params["stage"] = "Training"
    at.run().number_input(key="train-steps").set_value(3).run()
    assert "**Training:** 3 optimiser step(s) of sft on 5 training rows" in texts(at)
    for line in [*lines, *commands(at)]:
        assert_runnable(line)


def test_an_empty_project_says_what_each_stage_needs_first_with_runnable_commands(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown, lines = every_tab(open_page("run", project, monkeypatch))
    assert "No traits document yet" in shown and "No dataset to audit yet" in shown
    assert "No training dataset yet" in shown and "Nothing accepted" in shown
    for line in lines:
        assert_runnable(line)


def test_the_batch_switch_runs_the_stage_through_the_batch_api(
    sft_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("run", sft_project, monkeypatch)
    pilot = f"workbench sft run test@1 --pilot 2 --project {sft_project.root}"
    assert pilot in commands(at)

    at.toggle(key="batch-sft").set_value(True).run()

    batched = f"workbench sft run test@1 --pilot 2 --project {sft_project.root} --batch --wait"
    assert batched in commands(at) and pilot not in commands(at)
    assert "half the price" in texts(at)
    assert_runnable(batched)
