"""Judge calibration: each judge of a planted run against a reference CSV written here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_eval_agreement import ESCAPED_JUDGE, plant_judged_run
from workbench.cli import app
from workbench.errors import WorkbenchError
from workbench.evals.calibration import HEADLINE, Calibration, JudgeCalibration, calibrate, confusion
from workbench.project import Project

# (case, epoch, strict judge, lenient judge); the reference agrees with the strict judge throughout,
# the lenient one scores one point higher except on c5 epoch 0 (both 5).
PANEL = [("c1", 0, 0, 1), ("c2", 0, 1, 2), ("c3", 0, 3, 4), ("c4", 0, 4, 5), ("c5", 0, 5, 5), ("c5", 1, 2, 3)]
REFERENCE = """case_id,score,epoch,run_id,note
c1,0,,,rater one
c2,1,0,,
c3,3,,,
c4,4,,,
c5,5,0,,
c5,2,1,,played again
c6,1,,,the target never replied
c9,2,,,no such case
t1,4,,imported,a transcript of another run
t1,4,,nope,no such run
"""


def plant(project: Project, lenient: str = "lenient") -> None:
    """The calibrated ODCV run (two judges, an invalid sample) and an imported run with one sample."""
    samples: list[dict[str, object]] = [
        {"case": case, "epoch": epoch, "score": (strict + loose) / 2, "judges": {"strict": strict, lenient: loose}}
        for case, epoch, strict, loose in PANEL
    ]
    plant_judged_run(project, "run-cal", "odcv", [*samples, {"case": "c6", "status": "invalid"}])
    plant_judged_run(project, "imported", "odcv", [{"case": "t1", "score": 4.0, "judges": {"strict": 4.0}}])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reference.csv"
    path.write_text(text, encoding="utf-8")
    return path


def by_judge(result: Calibration) -> dict[str, JudgeCalibration]:
    return {judge.judge: judge for judge in result.judges}


def test_each_judge_gets_agreement_bias_error_and_a_reference_by_judge_confusion(
    project: Project, tmp_path: Path
) -> None:
    plant(project)
    result = calibrate(project, "run-c", write(tmp_path, REFERENCE))
    assert (result.run_id, result.level, result.rows, result.matched) == ("run-cal", "interval", 10, 7)
    judges = by_judge(result)
    assert list(judges) == ["lenient", "strict", HEADLINE]
    strict, lenient = judges["strict"], judges["lenient"]
    assert (strict.n, strict.alpha, strict.exact_rate, strict.bias, strict.mae) == (7, 1.0, 1.0, 0.0, 0.0)
    assert lenient.n == 6 and lenient.exact_rate == pytest.approx(1 / 6)
    assert lenient.bias == pytest.approx(5 / 6) and lenient.mae == pytest.approx(5 / 6)  # judge − reference > 0
    assert lenient.alpha is not None and 0 < lenient.alpha < 1
    table = lenient.confusion
    assert table.labels == [0, 1, 2, 3, 4, 5] and not table.binned
    row = {label: dict(zip(table.labels, counts, strict=True)) for label, counts in zip(table.labels, table.counts,
                                                                                         strict=True)}  # fmt: skip
    assert row[0][1] == 1 and row[1][0] == 0  # reference 0 scored 1 by the judge: row = reference, column = judge
    assert row[5][5] == row[2][3] == row[3][4] == 1 and row[3][3] == 0 and sum(map(sum, table.counts)) == 6
    assert judges[HEADLINE].bias == pytest.approx(2.5 / 7)  # the panel's median sits half-way


def test_rows_that_match_no_scored_sample_are_listed_with_the_reason(project: Project, tmp_path: Path) -> None:
    plant(project)
    unmatched = calibrate(project, "run-cal", write(tmp_path, REFERENCE)).unmatched
    assert [(u.line, u.run_id, u.case_id) for u in unmatched] == [(8, "run-cal", "c6"), (9, "run-cal", "c9"),
                                                                  (11, "nope", "t1")]  # fmt: skip
    assert "invalid" in unmatched[0].reason and "no such sample" in unmatched[1].reason
    assert "no eval run 'nope'" in unmatched[2].reason


def test_the_epoch_column_picks_the_play_it_scores(project: Project, tmp_path: Path) -> None:
    plant(project)
    only_second_play = write(tmp_path, "case_id,score,epoch\nc5,2,1\nc5,2,2\n")
    result = calibrate(project, "run-cal", only_second_play)
    assert by_judge(result)["strict"].exact_rate == 1.0 and by_judge(result)["lenient"].bias == 1.0
    assert [(u.case_id, u.epoch, u.reason) for u in result.unmatched] == [("c5", 2, "no such sample")]


def test_continuous_scores_are_binned_to_integers_in_the_table_only() -> None:
    table = confusion([(0.4, 1.6), (2.5, 2.49)], binned=True)
    assert table.labels == [0, 2, 3] and table.counts == [[0, 1, 0], [0, 0, 0], [0, 1, 0]]
    assert confusion([(0.5, 1.0)], binned=False).labels == [0.5, 1.0]


def test_a_run_with_many_distinct_scores_gets_a_binned_table(project: Project, tmp_path: Path) -> None:
    plant_judged_run(project, "run-k", "knowledge",
                     [{"case": f"q{i}", "score": i / 7, "judges": {"judge": i / 7}} for i in range(14)])  # fmt: skip
    rows = "".join(f"q{i},{i / 7 + 0.01}\n" for i in range(14))
    result = calibrate(project, "run-k", write(tmp_path, "case_id,score\n" + rows))
    table = by_judge(result)["judge"].confusion
    assert table.binned and table.labels == [0, 1, 2] and by_judge(result)["judge"].bias == pytest.approx(-0.01)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("case,score\nc1,1\n", "line 1: the header (case, score) has no case_id column"),
        ("case_id,score\nc1,1\nc2,high\n", "line 3: score 'high' is not a number"),
        ("case_id,score\nc1,nan\n", "line 2: score 'nan' is not a number"),
        ("case_id,score,epoch\nc1,1,first\n", "line 2: epoch 'first' is not a whole number"),
        ("case_id,score\n,1\n", "line 2: case_id is empty"),
        ("case_id,score\n", "has a header but no reference rows"),
        ("case_id,score\nc1,0\nc2,1\nc1,1\n", "line 4: case 'c1' epoch 0 of run run-cal already has a reference score"),
    ],
)
def test_a_malformed_reference_names_the_line(project: Project, tmp_path: Path, text: str, says: str) -> None:
    plant(project)
    with pytest.raises(WorkbenchError, match=r"reference\.csv") as error:
        calibrate(project, "run-cal", write(tmp_path, text))
    assert says in error.value.message


def test_the_calibrate_command_prints_judges_confusion_and_unmatched_rows_escaped(
    project: Project, tmp_path: Path
) -> None:
    plant(project, lenient=ESCAPED_JUDGE)
    path = write(tmp_path, REFERENCE)
    result = CliRunner().invoke(app, ["eval", "calibrate", "run-cal", "--reference", str(path),
                                  "-p", str(project.root)], env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "7 of 10 reference row(s) matched" in result.output and "+0.833" in result.output
    assert "reference × judge" in result.output and "3 reference row(s) matched no scored sample" in result.output
    assert "\x1b" not in result.output and "openai:m\\x1b[2J@http://x" in result.output
