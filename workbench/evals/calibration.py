"""Judge calibration: each judge of a run against reference (human or gold) scores of its samples.

    calibration = calibrate(project, run_id, Path("reference.csv"))
    for judge in calibration.judges:
        judge.judge, judge.n, judge.alpha, judge.exact_rate, judge.bias, judge.mae, judge.confusion

The reference is a CSV with a header: `case_id` and `score` (a number) are required; `epoch`
(which play of the case, default 0) and `run_id` (an eval run id or prefix, default the run being
calibrated) are optional, so one file can also score transcripts of other runs, imported ones
included. Other columns (a rater's note) are ignored.

Per judge label found in the matched samples' `scores["judges"]`, plus the sample's `headline`
(the panel's median, or the only judge of a run judged without a panel), the report gives: n
matched; α between judge and reference (`workbench/evals/agreement.py`, at the suite's level of
measurement) and the exact-match rate; bias, the mean of judge − reference (positive: the judge
scores higher than the reference); mean absolute error; and a confusion table, reference score by
row and judge score by column. Scores that take more than `MAX_LABELS` distinct values are binned
to the nearest integer for the table; the other figures use the exact scores.

Reference rows that match no ok sample are counted and listed with the reason, never dropped.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

from pydantic import BaseModel, Field

from workbench.errors import WorkbenchError
from workbench.evals.agreement import (
    MIN_UNITS,
    Level,
    ScoredSample,
    alpha,
    default_level,
    exact_agreement,
    scored_samples,
)
from workbench.evals.report import get_run
from workbench.project import Project

REFERENCE = "reference"  # the reference's coder label in α
HEADLINE = "headline"  # the sample's headline score, calibrated beside the judges
MAX_LABELS = 12  # more distinct scores than this are continuous: the confusion table bins them to integers
REQUIRED = ("case_id", "score")
HINT = "The header needs case_id and score; epoch (default 0) and run_id (default the run) are optional."


class ReferenceRow(BaseModel):
    """One reference score, as read from the CSV."""

    line: int = Field(description="The CSV line the row ends on (the header is line 1).")
    run_id: str | None = Field(description="The run the row names; None: the run being calibrated.")
    case_id: str = Field(description="The case.")
    epoch: int = Field(description="Which play of the case (0-based).")
    score: float = Field(description="The reference score.")


class Unmatched(BaseModel):
    """A reference row that matched no scored sample, and why."""

    line: int = Field(description="The CSV line.")
    run_id: str = Field(description="The run it was looked up in (as the row named it, or the calibrated run).")
    case_id: str = Field(description="The case.")
    epoch: int = Field(description="The epoch.")
    reason: str = Field(description="Why it matched nothing: no run, no sample, or a sample no judge scored.")


class Confusion(BaseModel):
    """Counts of (reference score, judge score) over the matched samples."""

    labels: list[float] = Field(description="The scores heading both the rows and the columns, ascending.")
    binned: bool = Field(description="Whether scores were rounded to the nearest integer to make the labels.")
    counts: list[list[int]] = Field(description="counts[i][j]: samples with reference labels[i] and judge labels[j].")


class JudgeCalibration(BaseModel):
    """One judge (or the headline) against the reference."""

    judge: str = Field(description="The judge label, or 'headline' for the sample's headline score.")
    n: int = Field(description="Matched samples this judge scored.")
    alpha: float | None = Field(description="Krippendorff's α between judge and reference; None: see alpha_reason.")
    alpha_reason: str | None = Field(description="Why there is no α (too few samples, no variation); else None.")
    exact_rate: float | None = Field(description="Share of samples where the judge gave exactly the reference score.")
    bias: float | None = Field(description="Mean of judge − reference: positive when the judge scores higher.")
    mae: float | None = Field(description="Mean absolute difference between judge and reference.")
    confusion: Confusion = Field(description="Reference score (rows) by judge score (columns).")


class Calibration(BaseModel):
    """A run's judges against reference scores."""

    run_id: str = Field(description="The calibrated run (rows naming no run_id are matched in it).")
    suite: str = Field(description="The run's suite.")
    reference: str = Field(description="The reference CSV's path.")
    level: Level = Field(description="Level of measurement α was computed at.")
    rows: int = Field(description="Reference rows read.")
    matched: int = Field(description="Rows matched to an ok sample.")
    judges: list[JudgeCalibration] = Field(description="Per judge label, then the headline.")
    unmatched: list[Unmatched] = Field(description="Rows that matched no ok sample, with the reason.")


def _field(raw: dict[str, str | None], name: str) -> str:
    return (raw.get(name) or "").strip()


def _row(path: Path, line: int, raw: dict[str, str | None]) -> ReferenceRow:
    """One CSV record as a reference row, or an error naming its line."""
    where = f"{path} line {line}"
    case_id, score, epoch = _field(raw, "case_id"), _field(raw, "score"), _field(raw, "epoch")
    if not case_id:
        raise WorkbenchError(f"{where}: case_id is empty.", hint=HINT)
    try:
        value = float(score)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise WorkbenchError(f"{where}: score {score!r} is not a number.", hint=HINT)
    if epoch and not (epoch.isascii() and epoch.isdigit()):
        raise WorkbenchError(f"{where}: epoch {epoch!r} is not a whole number ≥ 0.", hint=HINT)
    return ReferenceRow(line=line, run_id=_field(raw, "run_id") or None, case_id=case_id, epoch=int(epoch or 0),
                        score=value)  # fmt: skip


def read_reference(path: Path) -> list[ReferenceRow]:
    """The reference rows of a CSV file.

    Raises:
        WorkbenchError: the file is missing or empty, lacks a required column, or a row's
            case_id, score or epoch is malformed (the message names the line).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                header = ", ".join(reader.fieldnames or []) or "nothing"
                raise WorkbenchError(f"{path} line 1: the header ({header}) has no {' or '.join(missing)} column.",
                                     hint=HINT)  # fmt: skip
            rows = [_row(path, reader.line_num, raw) for raw in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise WorkbenchError(f"Cannot read the reference scores {path}: {error}", hint=HINT) from error
    if not rows:
        raise WorkbenchError(f"{path} has a header but no reference rows.", hint=HINT)
    return rows


_Found = tuple[str, dict[tuple[str, int], ScoredSample]]  # a run's id and its samples by (case, epoch)
Matched = tuple[float, ScoredSample]  # a reference score and the sample it scores


class _Runs:
    """Samples of the runs the reference names, each run read once."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.found: dict[str, _Found | None] = {}

    def lookup(self, ref: str) -> _Found | None:
        """The run's id and its samples by (case, epoch); None when no run matches `ref`."""
        if ref not in self.found:
            try:
                run_id = get_run(self.project, ref)[0]
            except WorkbenchError:
                self.found[ref] = None
            else:
                samples = scored_samples(self.project, run_id)
                self.found[ref] = run_id, {(s.case_id, s.epoch): s for s in samples}
        return self.found[ref]


def _sample(runs: _Runs, ref: str, row: ReferenceRow) -> tuple[str, ScoredSample] | str:
    """The run id and ok sample a row scores, or why it has none."""
    found = runs.lookup(ref)
    if found is None:
        return f"no eval run {ref!r}"
    sample = found[1].get((row.case_id, row.epoch))
    if sample is None:
        return "no such sample"
    return (found[0], sample) if sample.status == "ok" else f"the sample is {sample.status}: no judge scored it"


def match(project: Project, run_id: str, path: Path, rows: list[ReferenceRow]) -> tuple[list[Matched], list[Unmatched]]:
    """Each reference row's ok sample, or why it has none.

    Raises:
        WorkbenchError: two rows give a reference for the same sample.
    """
    runs = _Runs(project)
    seen: dict[tuple[str, str, int], int] = {}  # sample -> the line that scored it
    matched: list[Matched] = []
    unmatched: list[Unmatched] = []
    for row in rows:
        ref = row.run_id or run_id
        found = _sample(runs, ref, row)
        if isinstance(found, str):
            unmatched.append(Unmatched(line=row.line, run_id=ref, case_id=row.case_id, epoch=row.epoch, reason=found))
            continue
        key = (found[0], row.case_id, row.epoch)
        if key in seen:
            raise WorkbenchError(f"{path} line {row.line}: case {row.case_id!r} epoch {row.epoch} of run {found[0]} "
                                 f"already has a reference score (line {seen[key]}).",
                                 hint="Keep one reference score per sample.")  # fmt: skip
        seen[key] = row.line
        matched.append((row.score, found[1]))
    return matched, unmatched


def _label(value: float, binned: bool) -> float:
    return float(math.floor(value + 0.5)) if binned else value  # half up: 2.5 -> 3, as a reader expects


def confusion(pairs: list[tuple[float, float]], binned: bool) -> Confusion:
    """The (reference, judge) counts of `pairs`, reference by row."""
    cells = [(_label(r, binned), _label(j, binned)) for r, j in pairs]
    labels = sorted({value for cell in cells for value in cell})
    index = {value: i for i, value in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for reference, judge in cells:
        counts[index[reference]][index[judge]] += 1
    return Confusion(labels=labels, binned=binned, counts=counts)


def judge_calibration(judge: str, pairs: list[tuple[float, float]], level: Level, binned: bool) -> JudgeCalibration:
    """One judge's figures from its (reference, judge) score pairs."""
    units = [{REFERENCE: r, judge: j} for r, j in pairs]
    value, reason = alpha(units, level, MIN_UNITS)
    differences = [j - r for r, j in pairs]
    return JudgeCalibration(
        judge=judge, n=len(pairs), alpha=value, alpha_reason=reason,
        exact_rate=exact_agreement(units, judge, REFERENCE).rate,
        bias=statistics.fmean(differences) if differences else None,
        mae=statistics.fmean(abs(d) for d in differences) if differences else None,
        confusion=confusion(pairs, binned),
    )  # fmt: skip


def calibrate(project: Project, ref: str, reference: Path, level: Level | None = None) -> Calibration:
    """Every judge of a run (and its headline) against the reference scores in a CSV.

    Args:
        project: The project whose store holds the run.
        ref: The eval run's id or id prefix; rows with no run_id are matched in it.
        reference: The CSV of reference scores (see the module docstring).
        level: Level of measurement for α; None: the suite's default.

    Raises:
        WorkbenchError: no such run, or a malformed or ambiguous CSV.
    """
    run_id, suite = get_run(project, ref)[:2]
    rows = read_reference(reference)
    matched, unmatched = match(project, run_id, reference, rows)
    judges = sorted({judge for _, sample in matched for judge in sample.judges})
    per_judge = {judge: [(score, s.judges[judge]) for score, s in matched if judge in s.judges] for judge in judges}
    headlines = [(score, s.headline) for score, s in matched if s.headline is not None]
    if headlines:
        per_judge[HEADLINE] = headlines
    distinct = {value for pairs in per_judge.values() for pair in pairs for value in pair}
    chosen = level or default_level(suite)
    return Calibration(
        run_id=run_id, suite=suite, reference=str(reference), level=chosen, rows=len(rows), matched=len(matched),
        judges=[judge_calibration(j, pairs, chosen, len(distinct) > MAX_LABELS) for j, pairs in per_judge.items()],
        unmatched=unmatched,
    )  # fmt: skip
