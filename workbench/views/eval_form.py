"""The eval notebook's run form as plain values: the suites it offers, the options it sets, one run played.

    rows = suite_rows(suites())                       # the suites table: range, direction, default epochs
    options = run_options(arm="target", traits_ref=ref, limit=5, settings_text="max_turns=3",
                          epochs=None, temperature=None, judges_text="gemini:a\\ngemini:b")
    outcome = await play(project, "gemini:m", "knowledge", options, progress)   # never raises WorkbenchError

The form's fields arrive as the widgets hold them: numbers may be empty (None: the suite's or the
backend's default) or fractional where a whole number is meant, text is free. `run_options` checks
them and raises a `WorkbenchError` saying which field is wrong; `play` runs one (model, suite) pair
with `workbench.evals.runner.run_eval` and records a failure of that pair (say, knowledge without a
traits document) as its outcome's `error`, so one bad pairing leaves the others to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError
from workbench.evals.base import Suite
from workbench.evals.runner import parse_settings, run_eval
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.views.evals import model_specs


@dataclass(frozen=True)
class RunOptions:
    """How every run of the notebook's plan is played.

    Attributes:
        arm: How the target is set up (target, floor, ceiling).
        traits_ref: The traits version the judges read, or None.
        limit: The first N cases of each suite.
        settings: Suite settings (as `--set`).
        epochs: Plays per case; None: the suite's default (`Suite.epochs`).
        temperature: The target's temperature; None: the runner's default.
        judges: The judge panel's model specs; empty: the project's judge role.
    """

    arm: str
    traits_ref: str | None
    limit: int
    settings: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    temperature: float | None = None
    judges: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """What playing one (model, suite) pair did: the run and its counts, or why it failed (`error`)."""

    model: str
    suite: str
    run: str = ""
    cases: int = 0
    epochs: int = 0
    played_now: int = 0
    already_done: int = 0
    stopped_at_budget: bool = False
    error: str = ""


def suite_rows(registry: Mapping[str, Suite]) -> list[dict[str, str | int]]:
    """The suites as the form's table lists them, by name: score range, which way is better, default epochs."""
    return [
        {"suite": s.name, "score": f"{s.score_range[0]:g}–{s.score_range[1]:g}",
         "better": "higher" if s.higher_is_better else "lower", "default epochs": s.epochs,
         "what it measures": s.description}
        for s in sorted(registry.values(), key=lambda s: s.name)
    ]  # fmt: skip


def whole_number(value: float | None, name: str) -> int | None:
    """A number field meant to hold a whole number of at least 1, as an int (None stays None).

    Raises:
        WorkbenchError: the field holds a fraction or a number below 1.
    """
    if value is None:
        return None
    if value != int(value) or value < 1:
        raise WorkbenchError(f"{name} is {value:g}: it must be a whole number, 1 or more.",
                             hint=f"Correct {name} in the form, or clear it for the default.")  # fmt: skip
    return int(value)


def run_options(
    *, arm: str, traits_ref: str | None, limit: float | None, settings_text: str, epochs: float | None,
    temperature: float | None, judges_text: str,
) -> RunOptions:  # fmt: skip
    """The form's fields, checked, as the options of every run.

    Args:
        arm: The arm picked.
        traits_ref: The traits version picked, or None.
        limit: Cases per suite.
        settings_text: Suite settings, KEY=VALUE per line.
        epochs: Plays per case, or None for each suite's default.
        temperature: The target's temperature, or None for the runner's default.
        judges_text: Judge model specs, one per line (blank lines and repeats dropped).

    Raises:
        WorkbenchError: no case limit, a fractional or non-positive limit or epochs, a negative
            temperature, or a settings line that is not KEY=VALUE.
    """
    cases = whole_number(limit, "Cases per suite")
    if cases is None:
        raise WorkbenchError("Cases per suite is empty.", hint="Set how many cases of each suite to run.")
    if temperature is not None and temperature < 0:
        raise WorkbenchError(f"Temperature is {temperature:g}: it cannot be negative.",
                             hint="Set 0 or more, or clear it for the runner's default.")  # fmt: skip
    return RunOptions(arm=arm, traits_ref=traits_ref, limit=cases, settings=parse_settings(settings_text.splitlines()),
                      epochs=whole_number(epochs, "Epochs"), temperature=temperature,
                      judges=tuple(model_specs((), judges_text)))  # fmt: skip


async def play(
    project: Project, model: str, suite: str, options: RunOptions, progress: ProgressCallback | None = None
) -> RunOutcome:
    """Run (or resume) `suite` against `model` with `options`; a WorkbenchError becomes the outcome's `error`."""
    try:
        result = await run_eval(
            project, suite, model, arm=options.arm, traits_ref=options.traits_ref, limit=options.limit,
            settings=options.settings, epochs=options.epochs, temperature=options.temperature, judges=options.judges,
            progress=progress,
        )  # fmt: skip
    except WorkbenchError as e:
        return RunOutcome(model, suite, error=str(e))
    return RunOutcome(model, suite, result.run_id, result.cases, result.epochs, result.finished_now, result.skipped,
                      result.stopped_budget)  # fmt: skip
