"""The Training page's read models: training runs, their metric charts, and how often a live run refreshes.

    runs = list_train_runs(project)                    # newest first, with dataset name and last step
    run = get_train_run(project, runs[0].id)
    for name, figure in metric_figures(run_metrics(project, run.id)):
        st.plotly_chart(figure)
    st.fragment(run_every=refresh_every(run.status))   # a running run's charts redraw on a timer

Metrics come from `workbench.train.tracking.run_metrics` (what `StoreMetrics` streams into
`train_metrics` while the trainer logs); checkpoints from `tracking.list_checkpoints`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.views.style import themed

LIVE_REFRESH_S = 5.0  # how often a running run's charts are redrawn from the store

# The charts of a run: (metric name in train_metrics, axis title). Loss has a train and an eval line.
CHARTS: tuple[tuple[str, str], ...] = (
    ("loss", "loss"),
    ("learning_rate", "learning rate"),
    ("grad_norm", "grad norm"),
    ("tokens_per_s", "tokens / s"),
    ("peak_memory_mb", "peak memory (MB)"),
)

_COLUMNS = """r.id, r.method, r.dataset_id, d.name, r.base_model, r.parent_checkpoint, r.backend, r.status, r.error,
              r.output_dir, r.started_at, r.finished_at,
              (SELECT max(step) FROM train_metrics m WHERE m.run_id = r.id), r.config"""


@dataclass(frozen=True)
class TrainRun:
    """A training run as the page shows it.

    Attributes:
        id: The run's id.
        method: sft, midtrain, dpo or bdpo.
        dataset_id: The training dataset's id.
        dataset: The dataset's name (None if it is not in the store).
        base_model: What was loaded: a hub name or a folder.
        parent_checkpoint: The checkpoint it continues from, if any.
        backend: unsloth or trl.
        status: running, done or failed.
        error: Why it failed.
        output_dir: Where its checkpoints go.
        started_at: When it started.
        finished_at: When it ended (None while running).
        last_step: The last step it logged a metric at (None before its first log).
        config: The method's config, every field.
    """

    id: str
    method: str
    dataset_id: str
    dataset: str | None
    base_model: str
    parent_checkpoint: str | None
    backend: str
    status: str
    error: str | None
    output_dir: str
    started_at: datetime
    finished_at: datetime | None
    last_step: int | None
    config: dict[str, Any]


def _run(row: tuple[Any, ...]) -> TrainRun:
    values = dict(zip([f.name for f in fields(TrainRun)], row, strict=True))  # _COLUMNS is in field order
    return TrainRun(**values | {"config": json.loads(values["config"])})


def list_train_runs(project: Project, limit: int = 200) -> list[TrainRun]:
    """The newest `limit` training runs, newest first."""
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM train_runs r LEFT JOIN train_datasets d ON d.id = r.dataset_id"
            " ORDER BY r.started_at DESC, r.id LIMIT ?",
            [limit],
        ).fetchall()
    return [_run(row) for row in rows]


def get_train_run(project: Project, run_id: str) -> TrainRun:
    """One training run by id.

    Raises:
        WorkbenchError: no such run.
    """
    with project.store.connect() as con:
        row = con.execute(
            f"SELECT {_COLUMNS} FROM train_runs r LEFT JOIN train_datasets d ON d.id = r.dataset_id WHERE r.id = ?",
            [run_id],
        ).fetchone()
    if row is None:
        raise WorkbenchError(f"No training run {run_id!r}.", hint="List them with `workbench train runs`.")
    return _run(row)


def refresh_every(status: str) -> float | None:
    """Seconds between redraws of a run's charts: a timer while it runs, none once it has ended."""
    return LIVE_REFRESH_S if status == "running" else None


def metric_figures(metrics: list[tuple[int, str, str, float]]) -> list[tuple[str, go.Figure]]:
    """One line chart per metric in `CHARTS` that the run logged, a line per split, against the step.

    Args:
        metrics: (step, split, name, value) rows, as `tracking.run_metrics` returns them.
    """
    series: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for step, split, name, value in metrics:
        steps, values = series.setdefault((name, split), ([], []))
        steps.append(step)
        values.append(value)
    figures = []
    for name, title in CHARTS:
        figure = go.Figure()
        for split in ("train", "eval"):
            if (name, split) in series:
                steps, values = series[name, split]
                # Arrays, not lists: plotly checks a list element by element (~5 ms for 2,000 steps), an
                # array at once, and sends it to the browser as a compact typed array.
                figure.add_scatter(x=np.asarray(steps), y=np.asarray(values), mode="lines+markers", name=split)
        if figure.data:
            figure.update_layout(title=title, xaxis_title="step", yaxis_title=title, legend_title="split", height=320)
            figures.append((name, themed(figure)))
    return figures
