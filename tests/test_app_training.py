"""The Training page and its read models: runs, metric charts from what StoreMetrics logged, live refresh."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
import streamlit
from transformers import TrainerState

from tests.apptest import open_page
from workbench.project import Project
from workbench.train.config import load_train_config
from workbench.train.metrics import StoreMetrics
from workbench.train.tracking import (
    finish_train_run,
    list_checkpoints,
    register_checkpoint,
    run_metrics,
    start_train_run,
)
from workbench.views.training import (
    LIVE_REFRESH_S,
    get_train_run,
    list_train_runs,
    metric_figures,
    refresh_every,
)


def train_run(project: Project, *, lr: float, minutes_ago: int) -> str:
    """A registered run that logged three training steps and one evaluation, as the trainer's callback does."""
    config = load_train_config("sft", overrides={"dataset": "mix", "base_model": "tiny", "learning_rate": lr})
    run_id = start_train_run(project, config, backend="trl", base_model="tiny", parent=None, output_dir="/out",
                             dataset_id="ds-1")  # fmt: skip
    with project.store.transaction() as con:  # distinct start times, so "newest first" is well defined
        con.execute("UPDATE train_runs SET started_at = now() - to_minutes(?) WHERE id = ?", [minutes_ago, run_id])
    callback, state = StoreMetrics(project, run_id), TrainerState()
    for step in (1, 2, 3):
        state.global_step, state.num_input_tokens_seen = step, 100 * step
        callback.on_log(None, state, None, logs={"loss": 3.0 / step, "learning_rate": lr * step, "grad_norm": 0.5})
    callback.on_log(None, state, None, logs={"eval_loss": 1.25})
    return run_id


def test_runs_figures_and_checkpoints(project: Project) -> None:
    done = train_run(project, lr=1e-4, minutes_ago=10)
    finish_train_run(project, done, "done")
    running = train_run(project, lr=2e-4, minutes_ago=1)
    register_checkpoint(project, done, 3, "/out/final", kind="adapter", base_model="tiny", manifest={"m": 1})

    assert [r.id for r in list_train_runs(project)] == [running, done]
    run = get_train_run(project, done)
    assert (run.status, run.last_step, run.dataset, run.config["learning_rate"]) == ("done", 3, None, 1e-4)
    assert [c.path for c in list_checkpoints(project, done)] == ["/out/final"]
    assert list_checkpoints(project, running) == []

    figures = dict(metric_figures(run_metrics(project, done)))
    assert list(figures) == ["loss", "learning_rate", "grad_norm", "tokens_per_s", "peak_memory_mb"]
    train, evaluation = figures["loss"].data
    assert (train.name, list(train.x), list(train.y)) == ("train", [1, 2, 3], [3.0, 1.5, 1.0])
    assert (evaluation.name, list(evaluation.x), list(evaluation.y)) == ("eval", [3], [1.25])
    assert list(figures["learning_rate"].data[0].y) == pytest.approx([1e-4, 2e-4, 3e-4])
    assert list(figures["tokens_per_s"].data[0].x) == [2, 3]  # measured between two logs: none at the first
    assert metric_figures([]) == []

    assert refresh_every("running") == LIVE_REFRESH_S
    assert refresh_every("done") is None and refresh_every("failed") is None


def plotted(values: Any) -> list[float]:
    """A trace's values as the browser gets them: plotly sends an array as a base64 typed array."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_training_page_refreshes_charts_only_while_the_run_runs(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = train_run(project, lr=1e-4, minutes_ago=10)
    finish_train_run(project, done, "failed", error="CUDA out of memory <script>x</script>")
    running = train_run(project, lr=2e-4, minutes_ago=1)
    register_checkpoint(project, done, 3, "/out/final", kind="adapter", base_model="tiny", manifest={})
    # Record the timer each page run asks the fragment for (AppTest does not fire timers itself).
    timers: list[Any] = []
    real_fragment = streamlit.fragment

    def recording_fragment(func: Any = None, *, run_every: Any = None, **kwargs: Any) -> Any:
        timers.append(run_every)
        return real_fragment(func, run_every=run_every, **kwargs)

    monkeypatch.setattr(streamlit, "fragment", recording_fragment)

    at = open_page("training", project, monkeypatch)
    assert not at.exception
    assert at.selectbox[0].value == running  # newest first
    assert timers == [LIVE_REFRESH_S]
    assert any("Live: redrawn every 5 s" in c.value for c in at.caption)
    charts = {(c := json.loads(chart.proto.spec))["layout"]["title"]["text"]: c for chart in at.get("plotly_chart")}
    assert set(charts) == {"loss", "learning rate", "grad norm", "tokens / s", "peak memory (MB)"}
    assert [plotted(trace["y"]) for trace in charts["loss"]["data"]] == [[3.0, 1.5, 1.0], [1.25]]
    assert any(j.value and json.loads(j.value)["learning_rate"] == 2e-4 for j in at.json)
    assert any("No checkpoints yet" in i.value for i in at.info)

    at.selectbox[0].select(done).run()
    assert not at.exception
    assert timers[-1] is None
    assert not any("Live" in c.value for c in at.caption)
    assert [c.value for c in at.code] == ["CUDA out of memory <script>x</script>"]
    assert all("<script>" not in m.value for m in at.markdown)
    [_, checkpoints] = [d.value for d in at.dataframe]
    assert list(checkpoints["path"]) == ["/out/final"]


def test_training_page_without_runs_says_what_to_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("training", project, monkeypatch)
    assert not at.exception
    assert [c.value for c in at.code] == [
        "workbench dataset build candid_care-docs --kind midtrain",
        "workbench train midtrain --dataset candid_care-docs --base-model Qwen/Qwen2.5-0.5B-Instruct",
    ]
