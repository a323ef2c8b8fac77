"""What the marimo notebooks under notebooks/ share, so that they hold no logic of their own.

    import marimo as mo
    from workbench import notebook as nb

    folder = nb.project_form()                     # a text field, prefilled from WORKBENCH_PROJECT
    project = nb.open_project(folder.value)        # the store is created if missing
    run = mo.ui.run_button(label="Run the pilot")
    mo.stop(not nb.should_run(run), mo.md("Press **Run the pilot**."))
    with nb.stage() as progress:                   # progress bars; a WorkbenchError stops the cell
        report = await run_sft(project, ref, progress=progress)
    nb.run_report(f"Run `{report.run_id}`", report.steps, report.stopped_budget)

Expensive cells wait for their run button in the editor (`marimo edit`) and in app mode
(`marimo run`). Run as a script (`python notebooks/02_sft_data.py`) or under pytest there is no
one to press a button, so every gated cell runs: the script *is* the unattended walk, and the
spend is capped by the project's `[budget]` as for the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import marimo as mo

from workbench.errors import WorkbenchError
from workbench.generate.steps import StepReport, unanswered_problem
from workbench.progress import ProgressUpdate
from workbench.project import Project
from workbench.store import Store
from workbench.store.traits import TraitsVersion, list_versions, version_chunks
from workbench.views.runs import step_rows
from workbench.workspace import default_workspace_dir, open_workspace

UNATTENDED_MODES = ("script", "test")
CalloutKind = Literal["neutral", "warn", "success", "info", "danger"]


def unattended() -> bool:
    """Whether the notebook runs with nobody at the buttons (`python nb.py`, or pytest)."""
    return mo.app_meta().mode in UNATTENDED_MODES


def should_run(button: Any) -> bool:
    """Whether a gated cell goes ahead: its `mo.ui.run_button` was pressed, or nobody can press it."""
    return bool(button.value) or unattended()


def project_form(default: str | None = None) -> Any:
    """The project folder field every notebook starts with (`default`, else WORKBENCH_PROJECT, else data/)."""
    if default is None:
        try:
            default = str(default_workspace_dir())
        except WorkbenchError:
            default = ""
    return mo.ui.text(value=default, label="Project folder", full_width=True)


def open_project(folder: str) -> Project:
    """The project in `folder`, its store created if missing; stops the cell with the reason if it cannot."""
    with shown_errors():
        return open_workspace(Path(folder).expanduser() if folder.strip() else None)
    raise AssertionError("unreachable: shown_errors stops the cell")


@contextmanager
def shown_errors(kind: CalloutKind = "danger") -> Iterator[None]:
    """A WorkbenchError raised inside stops the cell, showing its message and hint as plain text."""
    try:
        yield
    except WorkbenchError as e:
        mo.stop(True, mo.callout(mo.plain_text(str(e)), kind=kind))


@contextmanager
def stage(kind: CalloutKind = "danger") -> Iterator[MarimoProgress]:
    """Progress bars for one library call (the yielded callback), with its errors shown as in `shown_errors`."""
    progress = MarimoProgress()
    try:
        with shown_errors(kind):
            yield progress
    finally:
        progress.close()


def run_report(headline: str, steps: Sequence[StepReport], stopped_budget: bool) -> Any:
    """A pipeline run's outcome: the headline (our Markdown), a row per step, and notes if the budget
    stopped it or its calls failed (the failure's reason comes from a server: shown as plain text)."""
    parts = [mo.md(headline), mo.ui.table(step_rows(steps), selection=None)]
    if stopped_budget:
        cap = ("Stopped at the budget cap, which holds for this piece of work across runs; raise it "
               "(`--budget` on the CLI, or `[budget] max_cost_usd_per_run`) to go on.")  # fmt: skip
        parts.append(mo.callout(mo.md(cap), kind="warn"))
    problem = unanswered_problem(steps)
    if problem:
        parts.append(mo.callout(mo.plain_text(problem), kind="danger"))
    return mo.vstack(parts)


def stored_versions(project: Project) -> list[TraitsVersion]:
    """The project's traits versions; with none, the cell stops and says where to make one."""
    versions = list_versions(project.store)
    mo.stop(
        not versions,
        mo.callout(mo.md("No traits version is stored yet: save one with **01_traits.py** first."), kind="warn"),
    )
    return versions


def version_picker(versions: Sequence[TraitsVersion]) -> Any:
    """A dropdown of stored traits versions, the last one chosen; its value is the TraitsVersion."""
    return mo.ui.dropdown(
        options={v.ref: v for v in versions}, value=versions[-1].ref if versions else None,
        label="Traits version", full_width=True,
    )  # fmt: skip


def trait_picker(store: Store, version: TraitsVersion) -> Any:
    """A multiselect of a version's traits, all chosen; its value is the chosen chunk ids.

    Labels carry the position: two traits may share a title, and the options need unique labels.
    """
    traits = [c for c in version_chunks(store, version.id) if c.kind == "trait"]
    labels = {f"{c.position}. {c.title}": c.id for c in traits}
    return mo.ui.multiselect(options=labels, value=list(labels), label="Traits", full_width=True)


class MarimoProgress:
    """A `ProgressCallback` that shows one marimo progress bar per stage, as the library reports it."""

    def __init__(self) -> None:
        self._bars: dict[str, Any] = {}
        self._done: dict[str, int] = {}

    def __call__(self, update: ProgressUpdate) -> None:
        if update.stage not in self._bars:
            self._close_all()
            context: Any = mo.status.progress_bar(total=max(update.total, 1), title=update.stage)
            self._bars[update.stage] = (context, context.__enter__())
            self._done[update.stage] = 0
        _, bar = self._bars[update.stage]
        bar.update(increment=max(update.done - self._done[update.stage], 0), subtitle=update.detail or None)
        self._done[update.stage] = update.done

    def _close_all(self) -> None:
        for context, _ in self._bars.values():
            context.__exit__(None, None, None)
        self._bars.clear()

    def close(self) -> None:
        """Finish every open bar (call once the stage returns)."""
        self._close_all()
