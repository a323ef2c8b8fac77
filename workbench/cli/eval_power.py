"""`workbench eval power RUN [RUN_B]`: the smallest difference a comparison can detect.

    workbench eval power 3f2a -p DIR            # one run: an unpaired bound, at more cases and epochs
    workbench eval power 3f2a 9c1e -p DIR       # two runs of one suite: paired over their shared cases

Registered on `workbench eval` by `workbench/cli/evals.py`; the method is in `workbench/evals/power.py`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.evals.agreement import scored_samples
from workbench.evals.power import run_power
from workbench.evals.report import get_run
from workbench.project import Project


def _plays(project: Project, ref: str) -> tuple[str, str, dict[str, list[float]]]:
    """A run's id, suite and its ok plays' scores per case (read without the transcripts)."""
    run_id, suite = get_run(project, ref)[:2]
    per_case: dict[str, list[float]] = {}
    for sample in scored_samples(project, run_id):
        if sample.status == "ok" and sample.headline is not None:
            per_case.setdefault(sample.case_id, []).append(sample.headline)
    return run_id, suite, per_case


def power(
    run_a: Annotated[str, typer.Argument(help="An eval run id (or prefix).")],
    run_b: Annotated[str | None, typer.Argument(help="A second run of the same suite: a paired estimate.")] = None,
    project: ProjectOption = None,
) -> None:
    """The smallest difference a comparison can detect (alpha 0.05, power 0.8) now and at more cases or epochs."""
    proj = open_project(project)
    id_a, suite_a, a = _plays(proj, run_a)
    b = None
    if run_b is not None:
        id_b, suite_b, b = _plays(proj, run_b)
        if suite_b != suite_a:
            raise WorkbenchError(f"Run {id_a} is {suite_a} and run {id_b} is {suite_b}: compare runs of one suite.")
    result = run_power(a, b)
    if result.detectable is None:
        raise WorkbenchError(f"Run {id_a} has {result.cases} scored case(s): power needs at least two.")
    kind = "paired over the shared cases" if result.paired else "two independent arms like this run (an upper bound)"
    console.print(Text(f"{suite_a}: smallest detectable difference {result.detectable:.3g} at {result.cases} cases "
                       f"× {result.epochs} epochs ({kind}; alpha {result.alpha}, power {result.power})."))  # fmt: skip
    table = Table("cases", "epochs", "detectable difference")
    for row in result.table:
        table.add_row(str(row.cases), str(row.epochs), f"{row.detectable:.3g}")
    console.print(table)
