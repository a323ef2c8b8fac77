"""The app's look beyond Streamlit's theme settings: a compact header and one spacing rhythm.

    apply_theme()   # app.py, once per rerun, before the page runs
    table(frame)    # a table as every page shows one: no index, shared labels, statuses in their colours

Colours, fonts, heading sizes and the space above the first element are Streamlit theme settings
in .streamlit/config.toml; its palette colours are `workbench.views.style.HEX`, so a status badge
and a chart trace of that status are the same colour. What those settings cannot reach is the
static style sheet below: titles without their default air, section headings set apart from the
rows above them, a sidebar that lists the pages and the project without scrolling. It is text
written here, never built from data. Tables share column labels (`COLUMNS`) and colour a `status`
column's text with the status's colour (`style.status_hex`), the colour of its badge elsewhere.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.views.style import status_hex

# The id marks our sheet, so a test (and a reader of the page source) can find it.
STYLE_ID = "workbench-theme"
CSS = """
/* Compact header: Streamlit's toolbar strip is thin; the page title sits right under it. */
header[data-testid="stHeader"] { height: 2.5rem; }
/* Wide pages use the width: at 1400 px Streamlit's side padding would take a sixth of it. */
.stMainBlockContainer { padding-left: 2.5rem; padding-right: 2.5rem; }
.stMainBlockContainer h1 { padding: 0 0 0.35rem 0; }
/* Section headings: room above (they start a new part of the page), little below. */
.stMainBlockContainer h2, .stMainBlockContainer h3 { padding: 0.9rem 0 0.15rem 0; }
/* Metrics read as one row of figures, not a banner. */
[data-testid="stMetric"] { padding: 0.15rem 0; }
[data-testid="stMetricLabel"] p { font-size: 0.85rem; color: rgba(47, 45, 43, 0.7); }
/* Captions: one smaller size everywhere. */
[data-testid="stCaptionContainer"] { font-size: 0.85rem; }
/* Sidebar: page links and the project close together. */
[data-testid="stSidebarNav"] li a { padding-top: 0.1rem; padding-bottom: 0.1rem; min-height: 1.9rem; }
[data-testid="stSidebarUserContent"] { padding-top: 0.5rem; }
[data-testid="stSidebarUserContent"] [data-testid="stVerticalBlock"] { gap: 0.5rem; }
"""


def apply_theme() -> None:
    """Add the workbench style sheet to the page (style only: Streamlit gives it no space on the page)."""
    st.html(f'<style id="{STYLE_ID}">{CSS}</style>')


# Column headers the pages share: stored field names read as words, money as dollars, times to the minute.
_WHEN = "YYYY-MM-DD HH:mm"
COLUMNS: dict[str, Any] = {
    "cost_usd": st.column_config.NumberColumn("USD", format="$%.4f"),
    "tokens_in": "tokens in",
    "tokens_out": "tokens out",
    "started_at": st.column_config.DatetimeColumn("started", format=_WHEN),
    "finished_at": st.column_config.DatetimeColumn("finished", format=_WHEN),
    "created_at": st.column_config.DatetimeColumn("created", format=_WHEN),
    "version_id": "version id",
    "base_model": "base model",
    "last_step": "last step",
    "train_rows": "train rows",
    "validation_rows": "validation rows",
    "synthetic_fraction": st.column_config.NumberColumn("synthetic", format="percent"),
}


def _status_css(value: object) -> str:
    return f"color: {status_hex(str(value))}; font-weight: 600"


def table(frame: pd.DataFrame) -> None:
    """Show `frame` without its index, with the shared column labels and a `status` column in status colours.

    For the pages' summary tables (tens of rows): a styled frame sends every cell's display text too.
    """
    labels = {c: COLUMNS[c] for c in frame.columns if c in COLUMNS}
    shown: Any = frame.style.map(_status_css, subset=["status"]) if "status" in frame.columns else frame
    st.dataframe(shown, hide_index=True, column_config=labels)
