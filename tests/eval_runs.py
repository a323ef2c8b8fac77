"""Eval runs for the app's tests, written through the runner's own storage calls (no model, no server).

    record_run(project, "run-a", "audit", "hf:base", [("c1", Sample("ok", score=3.0, ...)), ...])
    open_tab(open_page("evals", project, monkeypatch), "Samples")   # the Evals page on one of its tabs

`workbench.evals.runner.start_run` / `save_sample` / `finish_run` store a run exactly as `run_eval`
does after its model calls, so the pages read what a real run leaves. Runs recorded later list first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streamlit.testing.v1 import AppTest

from workbench.evals.base import Case, Sample
from workbench.evals.runner import finish_run, save_sample, start_run
from workbench.project import Project


def record_run(
    project: Project, run_id: str, suite: str, model: str, samples: Iterable[tuple[str, Sample]],
    *, arm: str = "target", settings: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """Store a finished run of `suite` on `model` with one play (epoch 0) per (case id, sample); its id."""
    values = {"suite": suite, "model": model, "arm": arm, "traits_version": None, "cases_hash": f"cases-{run_id}",
              "settings": settings or {}, "epochs": 1}  # fmt: skip
    start_run(project, run_id, values)
    for case_id, sample in samples:
        save_sample(project, run_id, Case(id=case_id), 0, sample)
    finish_run(project, run_id, "done")
    return run_id


def invalid(reason: str) -> Sample:
    """A play the target never answered: no score, only its reason."""
    return Sample("invalid", transcript=[{"role": "user", "content": "Are you there?"}], reason=reason)


def open_tab(at: AppTest, label: str) -> AppTest:
    """Switch the Evals page to its tab `label` and rerun (only the open tab's content runs)."""
    at.session_state["tab"] = label
    at.run()
    assert not at.exception
    return at
