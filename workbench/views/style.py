"""One look for every page and notebook: what each status's colour means, and one Plotly theme.

    style.status_colour("accepted")        # "green": a Streamlit colour name (badges, :green[...])
    style.status_hex("failed")             # "#d9534f": the same colour for a Plotly trace
    style.status_badge("needs_review")     # ":orange-badge[needs review]" for st.markdown
    figure = style.themed(go.Figure(...))  # the workbench Plotly theme (also the default once imported)

A status means the same on every page: green is settled and good (accepted, ok, done), red is bad
(rejected, failed, invalid), orange waits on a person (needs review, sent back, interrupted), grey
is out of play (superseded, duplicate, filtered), blue is in progress (running, new). Figures are
built in `workbench/views/`, so this module lives there too (the app and the notebooks both draw
them); the app shows them with `theme=None`, so this theme, not Streamlit's, is what a reader sees.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from workbench.views.literal import markdown_literal

# Streamlit's named colours (badges and coloured text accept only these) and their hex for Plotly.
HEX = {
    "green": "#2e9e5b",
    "red": "#d9534f",
    "orange": "#e8912d",
    "blue": "#3b7dd8",
    "violet": "#8a63d2",
    "gray": "#8c8c8c",
}
_COLOUR_OF = {
    "green": ("accepted", "ok", "done", "edited", "revised", "active", "pass", "rated"),
    "red": ("rejected", "failed", "invalid", "error", "parse_failed", "judge_failed", "stopped_budget"),
    "orange": ("needs_review", "regenerate", "interrupted", "refused", "truncated", "starting"),
    "blue": ("running", "new", "brainstormed", "drafted", "critiqued", "pending", "stopping"),
    "gray": ("superseded", "duplicate", "filtered", "removed", "not_found", "stopped", "incomplete"),
}
STATUS_COLOURS: dict[str, str] = {status: colour for colour, names in _COLOUR_OF.items() for status in names}
# One qualitative sequence for series that are not statuses (arms, patterns, metrics).
SERIES = [HEX["blue"], HEX["orange"], HEX["violet"], HEX["green"], HEX["red"], HEX["gray"]]
TEMPLATE = "workbench"


def status_colour(status: str) -> str:
    """The Streamlit colour name of a status (grey for one this table does not know)."""
    return STATUS_COLOURS.get(status, "gray")


def status_hex(status: str) -> str:
    """The hex colour of a status, for a chart trace."""
    return HEX[status_colour(status)]


def status_badge(status: str) -> str:
    """A Markdown badge for a status; the label is escaped, so a stored value cannot inject Markdown."""
    return f":{status_colour(status)}-badge[{markdown_literal(status.replace('_', ' '))}]"


def _template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(
        colorway=SERIES,
        # Streamlit's own face and text colour (.streamlit/config.toml), so a chart reads as part of the page.
        font={"family": '"Source Sans", "Source Sans Pro", sans-serif', "size": 13, "color": "#2f2d2b"},
        margin={"l": 48, "r": 16, "t": 40, "b": 40},
        title={"font": {"size": 15}, "x": 0, "xanchor": "left"},
        # Above the plot on the right: the title holds the top left, and a legend there would overlap it.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        hoverlabel={"font_size": 12},
    )
    return template


pio.templates[TEMPLATE] = _template()
# The default, so a figure built anywhere in this process (views, notebooks) starts in the theme:
# Plotly fills in the default template cheaply at construction, whereas setting a named template on
# a built figure validates the whole template again (about 10-25 ms a figure, on every page rerun).
pio.templates.default = TEMPLATE


def themed(figure: go.Figure) -> go.Figure:
    """`figure` in the workbench theme (its own layout settings, set after, still win)."""
    if figure.layout.template.layout.colorway != tuple(SERIES):  # built before this module set the default
        figure.update_layout(template=TEMPLATE)
    return figure
