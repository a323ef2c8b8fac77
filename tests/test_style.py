"""One look: a status has one colour everywhere, badges cannot be injected into, figures take the workbench theme."""

from __future__ import annotations

import plotly.graph_objects as go

from workbench.views import style


def test_statuses_that_mean_the_same_share_a_colour() -> None:
    assert {style.status_colour(s) for s in ("accepted", "ok", "done")} == {"green"}
    assert {style.status_colour(s) for s in ("rejected", "failed", "invalid")} == {"red"}
    assert style.status_colour("needs_review") == "orange"
    assert style.status_colour("superseded") == "gray"
    assert style.status_colour("a status nobody defined") == "gray"
    assert style.status_hex("failed") == style.HEX["red"]


def test_a_status_badge_escapes_its_label() -> None:
    assert style.status_badge("needs_review") == ":orange-badge[needs review]"
    badge = style.status_badge("x] **bold** <b>")
    assert badge.startswith(":gray-badge[") and badge.endswith("]")
    inner = badge[len(":gray-badge[") : -1]
    assert "]" not in inner.replace("\\]", "") and "\\*\\*bold\\*\\*" in inner and "\\<b\\>" in inner


def test_themed_figures_use_the_workbench_template_and_keep_their_own_settings() -> None:
    figure = style.themed(go.Figure(go.Bar(x=["a"], y=[1]), layout={"height": 250}))
    assert figure.layout.template.layout.colorway == tuple(style.SERIES)
    assert figure.layout.height == 250


def test_a_figure_built_in_another_template_is_themed_and_new_figures_start_themed() -> None:
    other = go.Figure(go.Bar(x=["a"], y=[1]), layout={"template": "plotly"})
    assert other.layout.template.layout.colorway != tuple(style.SERIES)
    assert style.themed(other).layout.template.layout.colorway == tuple(style.SERIES)
    assert go.Figure().layout.template.layout.colorway == tuple(style.SERIES)
