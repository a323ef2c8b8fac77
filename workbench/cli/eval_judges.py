"""`workbench eval agreement` and `workbench eval calibrate`: how far a run's judges can be trusted.

    workbench eval agreement RUN -p DIR                        # Krippendorff's α between the run's judges
    workbench eval agreement RUN --level ordinal -p DIR
    workbench eval calibrate RUN --reference human.csv -p DIR  # each judge against reference scores

The reference CSV has `case_id` and `score`, optionally `epoch` (default 0) and `run_id` (default
RUN); see `workbench/evals/calibration.py`. Judge labels and case ids are printed as `Text` with
control characters escaped (`workbench.textsafe.plain`), like every eval command.

Registered on `workbench eval` by `workbench/cli/evals.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.evals import calibration
from workbench.evals.agreement import Level, run_agreement
from workbench.evals.calibration import Calibration, Confusion, JudgeCalibration
from workbench.textsafe import plain

RunArg = Annotated[str, typer.Argument(help="An eval run id (or prefix).")]
LevelOption = Annotated[
    Level | None,
    typer.Option(help="Level of measurement for α (default: nominal for capability's win/tie/loss, else interval)."),
]


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3g}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def agreement(run_id: RunArg, level: LevelOption = None, project: ProjectOption = None) -> None:
    """Krippendorff's α between a run's judges, and how often each pair gave the same score."""
    result = run_agreement(open_project(project), run_id, level)
    console.print(plain(f"Run {result.run_id} ({result.suite}): judges {', '.join(result.judges) or 'none'}; "
                        f"{result.units} unit(s) (case × epoch) scored by two or more judges."))  # fmt: skip
    if result.alpha is None:
        console.print(plain(f"No α ({result.level}): {result.reason}", style="yellow"))
        if len(result.judges) < 2:
            console.print(Text("A panel needs several judges: `workbench eval run … --judge SPEC --judge SPEC`."))
    else:
        console.print(Text(f"Krippendorff's α ({result.level}) = {result.alpha:.3f}", style="bold"))
    if result.pairwise:
        table = Table("judge", "judge", "units", "exact agreement")
        for pair in result.pairwise:
            table.add_row(plain(pair.judges[0]), plain(pair.judges[1]), str(pair.units), _rate(pair.rate))
        console.print(table)


def _summary_table(result: Calibration) -> Table:
    table = Table("judge", "n", f"α ({result.level})", "exact", "bias (judge − ref)", "mean abs error")
    for judge in result.judges:
        alpha = _number(judge.alpha) if judge.alpha is not None else Text(f"– ({judge.alpha_reason})", style="dim")
        table.add_row(plain(judge.judge), str(judge.n), alpha, _rate(judge.exact_rate), _signed(judge.bias),
                      _number(judge.mae))  # fmt: skip
    return table


def _confusion_table(judge: JudgeCalibration) -> Table:
    matrix: Confusion = judge.confusion
    binned = " (rounded to integers)" if matrix.binned else ""
    table = Table("reference ↓ / judge →", *(f"{label:g}" for label in matrix.labels),
                  title=plain(f"{judge.judge}: reference × judge{binned}"))  # fmt: skip
    for label, counts in zip(matrix.labels, matrix.counts, strict=True):
        table.add_row(f"{label:g}", *(str(count) if count else "·" for count in counts))
    return table


def calibrate(
    run_id: RunArg,
    reference: Annotated[Path, typer.Option(help="CSV of reference scores: case_id, score[, epoch][, run_id].")],
    level: LevelOption = None,
    project: ProjectOption = None,
) -> None:
    """Each judge of a run against human or gold reference scores: agreement, bias, confusion."""
    result = calibration.calibrate(open_project(project), run_id, reference, level)
    console.print(plain(f"Run {result.run_id} ({result.suite}): {result.matched} of {result.rows} reference row(s) "
                        f"matched a scored sample."))  # fmt: skip
    if result.judges:
        console.print(_summary_table(result))
        for judge in result.judges:
            console.print(_confusion_table(judge))
    if result.unmatched:
        title = f"{len(result.unmatched)} reference row(s) matched no scored sample"
        table = Table("line", "run", "case", "epoch", "why", title=title)
        for row in result.unmatched:
            table.add_row(str(row.line), plain(row.run_id), plain(row.case_id), str(row.epoch), plain(row.reason))
        console.print(table)
