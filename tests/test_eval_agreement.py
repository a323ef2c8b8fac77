"""Inter-judge agreement: Krippendorff's α on published examples, and over a planted panel run.

The textbook values are those Krippendorff publishes in "Computing Krippendorff's Alpha-Reliability"
(2011): example B (two observers, binary data) α = 0.095; example C (four observers, twelve units,
missing data) α = 0.743 nominal, 0.815 ordinal, 0.849 interval, 0.797 ratio.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.evals.agreement import alpha, exact_agreement, run_agreement
from workbench.project import Project

N = math.nan
# Krippendorff (2011), example C: rows are observers A-D, columns units 1-12; N: no value.
EXAMPLE_C = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    "C": [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
}
EXAMPLE_B: dict[str, list[float]] = {"A": [0, 1, 0, 0, 0, 0, 0, 0, 1, 0], "B": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]}
ESCAPED_JUDGE = "openai:m\x1b[2J@http://x"


def units(coders: dict[str, list[float]]) -> list[dict[str, float]]:
    """Columns of a coders x units table as one {coder: value} per unit, missing values left out."""
    width = len(next(iter(coders.values())))
    return [{c: v[i] for c, v in coders.items() if not math.isnan(v[i])} for i in range(width)]


def plant_judged_run(project: Project, run_id: str, suite: str, samples: list[dict[str, object]]) -> None:
    """A run and its samples as a panel run stores them: one per (case, epoch), judges in scores["judges"]."""
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status)"
            " VALUES (?, ?, 'hf:m', 'target', 'h', '{}', 'done')",
            [run_id, suite],
        )
        for s in samples:
            judges = s.get("judges")
            scores = {} if judges is None else {"judges": judges, "judge_failures": {}}
            con.execute(
                "INSERT INTO eval_samples (id, run_id, case_id, epoch, status, score, scores, transcript, details)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, '[]', '{}')",
                [f"{run_id}-{s['case']}-{s.get('epoch', 0)}", run_id, s["case"], s.get("epoch", 0),
                 s.get("status", "ok"), s.get("score"), json.dumps(scores)],
            )  # fmt: skip


def panel_samples(coders: dict[str, list[float]], cases: int) -> list[dict[str, object]]:
    """The table's units as ok samples over `cases` cases, each played len(units) / cases times."""
    found: list[dict[str, object]] = []
    for i, unit in enumerate(units(coders)):
        headline = sorted(unit.values())[len(unit) // 2] if unit else None
        found.append({"case": f"c{i % cases}", "epoch": i // cases, "score": headline, "judges": unit})
    return found


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_reproduces_krippendorffs_example_c_with_missing_values(level: str, published: float) -> None:
    value, reason = alpha(units(EXAMPLE_C), level)  # type: ignore[arg-type]
    assert reason is None and value == pytest.approx(published, abs=5e-4)


def test_alpha_reproduces_the_binary_two_observer_example() -> None:
    value, reason = alpha(units(EXAMPLE_B), "nominal")
    assert reason is None and value == pytest.approx(0.095, abs=5e-4)


def test_perfect_agreement_is_one_and_exact_agreement_counts_shared_units() -> None:
    same = [{"x": float(v), "y": float(v)} for v in (0, 1, 2, 5, 3, 3)]
    assert alpha(same, "interval") == (1.0, None) and alpha(same, "nominal") == (1.0, None)
    pair = exact_agreement(units(EXAMPLE_C), "C", "D")  # units 2-11: C and D differ on 2, 6 and 8
    assert (pair.units, pair.rate) == (10, 0.7)


def test_no_alpha_without_two_judges_enough_units_or_any_variation() -> None:
    one_judge, reason = alpha([{"x": float(v)} for v in range(10)], "interval")
    assert one_judge is None and reason is not None and "two or more judges" in reason
    few, reason = alpha([{"x": 1.0, "y": 2.0}, {"x": 2.0, "y": 2.0}, {"x": 3.0}], "interval", min_units=3)
    assert few is None and reason is not None and "only 2 unit(s)" in reason
    flat, reason = alpha([{"x": 2.0, "y": 2.0}] * 6 + [{"x": 4.0}], "interval")
    assert flat is None and reason is not None and "same score" in reason


def test_a_planted_panel_run_gives_the_textbook_alpha_over_case_epoch_units(project: Project) -> None:
    samples = panel_samples(EXAMPLE_C, cases=6)  # 12 units: cases c0-c5, epochs 0 and 1
    samples += [{"case": "c9", "status": "invalid"}, {"case": "c8", "status": "judge_failed"}]
    plant_judged_run(project, "run-panel", "odcv", samples)
    agreement = run_agreement(project, "run-pan")
    assert (agreement.run_id, agreement.level, agreement.judges) == ("run-panel", "interval", ["A", "B", "C", "D"])
    assert agreement.units == 11  # unit 12 has only B's score
    assert agreement.alpha == pytest.approx(0.849, abs=5e-4) and agreement.reason is None
    rates = {pair.judges: (pair.units, pair.rate) for pair in agreement.pairwise}
    assert rates[("A", "B")] == (9, pytest.approx(8 / 9)) and rates[("C", "D")] == (10, pytest.approx(0.7))
    assert run_agreement(project, "run-panel", level="nominal").alpha == pytest.approx(0.743, abs=5e-4)


def test_capability_runs_default_to_nominal_and_a_single_judge_run_says_why_there_is_no_alpha(
    project: Project,
) -> None:
    plant_judged_run(project, "run-sxs", "capability", panel_samples(EXAMPLE_B, cases=5))
    sxs = run_agreement(project, "run-sxs")
    assert sxs.level == "nominal" and sxs.alpha == pytest.approx(0.095, abs=5e-4)
    single = [{"case": f"q{i}", "score": 1.0, "judges": {"judge": float(i % 3)}} for i in range(8)]
    plant_judged_run(project, "run-one", "knowledge", single)
    one = run_agreement(project, "run-one")
    assert one.alpha is None and one.judges == ["judge"] and one.reason and "two or more judges" in one.reason
    plant_judged_run(project, "run-old", "knowledge", [{"case": "q1", "score": 1.0}])
    old = run_agreement(project, "run-old")
    assert old.alpha is None and old.reason and "scores.judges" in old.reason


def test_the_agreement_command_prints_alpha_level_judges_and_units_escaped(project: Project) -> None:
    coders = {ESCAPED_JUDGE if name == "A" else name: values for name, values in EXAMPLE_C.items()}
    plant_judged_run(project, "run-panel", "odcv", panel_samples(coders, cases=6))
    result = CliRunner().invoke(app, ["eval", "agreement", "run-panel", "-p", str(project.root)],
                                env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "α (interval) = 0.849" in result.output and "11 unit(s)" in result.output
    assert "\x1b" not in result.output and "openai:m\\x1b[2J@http://x" in result.output
    plant_judged_run(project, "run-one", "odcv", [{"case": "q1", "score": 1.0, "judges": {"judge": 1.0}}])
    result = CliRunner().invoke(app, ["eval", "agreement", "run-one", "-p", str(project.root)])
    assert result.exit_code == 0 and "No α (interval)" in result.output and "--judge SPEC" in result.output
