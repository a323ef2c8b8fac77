"""One look: the app adds its style sheet, theme colours are the status palette, tables and charts keep it.

A status badge, a status cell in a table and a chart trace of the same status must be the same
colour, so Streamlit's palette (.streamlit/config.toml) has to be `workbench.views.style.HEX`. A
chart shown with Streamlit's theme would be recoloured by it, so each page's charts are checked as
the browser gets them: no Streamlit theme, and the workbench Plotly template in the figure.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import REPO, open_page
from tests.test_app_costs import plant_calls
from tests.test_app_datasets import build_mix
from workbench.app.theme import STYLE_ID
from workbench.demo import load_demo
from workbench.project import Project
from workbench.train.config import load_train_config
from workbench.train.tracking import start_train_run
from workbench.views.style import HEX, SERIES, TEMPLATE, status_hex, themed


def test_the_app_adds_the_workbench_style_sheet_before_the_page_runs(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_PROJECT", str(project.root))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    sheets = [h.proto.body for h in at.get("html") if f'id="{STYLE_ID}"' in h.proto.body]
    assert len(sheets) == 1
    assert sheets[0].startswith("<style") and "h1" in sheets[0]


def test_streamlit_theme_colours_are_the_status_palette() -> None:
    theme = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["theme"]
    assert {name: theme[f"{name}Color"] for name in HEX} == HEX  # badges (:green-badge[...]) use these
    assert theme["chartCategoricalColors"] == SERIES
    assert theme["primaryColor"] != HEX["red"]  # red means a bad status; a primary button is not one
    assert theme["textColor"] == pio.templates[TEMPLATE].layout.font.color  # charts read as part of the page


def _costs(project: Project, _: Path) -> None:
    plant_calls(project)


def _datasets(project: Project, tmp_path: Path) -> None:
    build_mix(project, tmp_path)


def _training(project: Project, _: Path) -> None:
    """A finished run that logged a loss and a learning rate for two steps (rows as StoreMetrics writes them)."""
    config = load_train_config("sft", overrides={"dataset": "mix", "base_model": "tiny"})
    run_id = start_train_run(project, config, backend="trl", base_model="tiny", parent=None, output_dir="/out",
                             dataset_id="ds-1")  # fmt: skip
    with project.store.transaction() as con:
        con.execute("UPDATE train_runs SET status = 'done' WHERE id = ?", [run_id])
        for step in (1, 2):
            for name, value in (("loss", 2.0 / step), ("learning_rate", 1e-4)):
                con.execute("INSERT INTO train_metrics (run_id, step, split, name, value) VALUES (?, ?, 'train', ?, ?)",
                            [run_id, step, name, value])  # fmt: skip


@pytest.mark.parametrize(("page", "plant", "charts"), [("costs", _costs, 1), ("datasets", _datasets, 1),
                                                       ("training", _training, 2)])  # fmt: skip
def test_each_page_draws_its_charts_in_the_workbench_theme(
    page: str,
    plant: Callable[[Project, Path], None],
    charts: int,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    plant(project, tmp_path)
    at = open_page(page, project, monkeypatch)
    assert not at.exception
    shown = at.get("plotly_chart")
    assert len(shown) == charts
    workbench = json.loads(themed(go.Figure()).to_json())["layout"]["template"]
    for chart in shown:
        assert chart.proto.theme == ""  # drawn as built: Streamlit's theme would recolour it
        assert json.loads(chart.proto.spec)["layout"]["template"] == workbench


def test_status_cells_in_a_table_have_their_status_colour(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    load_demo(project)  # rows that are ok, need review, or are patterns found and active
    at = open_page("overview", project, monkeypatch)
    shown = next(d for d in at.dataframe if list(d.value.columns) == ["stage", "status", "rows", "reason"])
    coloured: dict[int, str] = {}
    for cells, colour in re.findall(r"([^{}]+)\{ color: (#[0-9a-f]{6})", shown.proto.arrow_data.styler.styles):
        for row, column in re.findall(r"row(\d+)_col(\d+)", cells):
            assert column == "1"  # the status column, and only it
            coloured[int(row)] = colour
    statuses = list(shown.value["status"])
    assert {"ok", "needs_review"} <= set(statuses)
    assert coloured == {row: status_hex(status) for row, status in enumerate(statuses)}
