"""The CLI's progress bar shows count, rate and time remaining."""

from __future__ import annotations

import io
import time

from rich.console import Console

from workbench.progress import ProgressUpdate, RichProgress


def test_rich_progress_renders_count_rate_and_eta() -> None:
    out = io.StringIO()
    with RichProgress(Console(file=out, width=150)) as progress:
        for done in range(11):
            progress(ProgressUpdate("scenarios", done, 20))
            time.sleep(0.01)  # rich derives the rate from when updates arrive
    text = out.getvalue()
    assert "scenarios" in text and "10/20" in text and "50%" in text
    rate = text.split("50%")[1].split()[0]
    assert rate.endswith("/s") and float(rate[:-2]) > 0
