"""Progress reporting for long stages: a callback the library calls, adapters that show it.

Library functions take `progress: ProgressCallback | None`; the CLI passes a `RichProgress`
(bar with rate and ETA), the app and notebooks pass their own. A command run as a background
job (workbench/jobs.py) also writes its bar's updates into the job's row, where the app reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


@dataclass(frozen=True)
class ProgressUpdate:
    """How far a stage has come.

    Attributes:
        stage: The stage reporting (e.g. "scenarios").
        done: Items finished so far, cached ones included.
        total: Items in this run.
        detail: A short note on the latest item, if any.
    """

    stage: str
    done: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[ProgressUpdate], None]


class RateColumn(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "–/s", style="progress.data.speed")


class RichProgress:
    """A terminal progress bar with count, rate-based ETA and elapsed time, one line per stage."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        # Run as a background job (workbench/jobs.py), the bar's updates also go to the job's row.
        from workbench.jobs import env_reporter  # here: workbench.jobs imports this module

        self._job = env_reporter()

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, update: ProgressUpdate) -> None:
        if update.stage not in self._tasks:
            self._tasks[update.stage] = self._progress.add_task(update.stage, total=update.total)
        self._progress.update(self._tasks[update.stage], completed=update.done, total=update.total)
        if self._job is not None:
            self._job(update)
