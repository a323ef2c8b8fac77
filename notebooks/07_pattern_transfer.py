"""The pattern-transfer experiment, replayed from the store: base, full and filtered arms side by side.

    .venv/bin/python -m bench.pattern_transfer          # run the experiment first (~30 min on 2 cores)
    marimo edit notebooks/07_pattern_transfer.py        # then read it here
    python notebooks/07_pattern_transfer.py             # unattended: the newest finished run

The project comes from the form (default: $WORKBENCH_PROJECT, else data/experiments/pattern_transfer,
where the script keeps its store). Nothing here calls a model: every number is recomputed from the
stored ratings of each arm's sampled answers.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import os
    from pathlib import Path

    import marimo as mo

    from workbench import notebook as nb
    from workbench.audit.datasets import dataset_rows
    from workbench.views.pattern_transfer import (
        ARMS,
        arm_differences,
        arm_rates,
        arm_rates_figure,
        experiment_runs,
    )

    return (
        ARMS,
        Path,
        arm_differences,
        arm_rates,
        arm_rates_figure,
        dataset_rows,
        experiment_runs,
        mo,
        nb,
        os,
    )


@app.cell
def _(mo):
    mo.md("""
    # 7 · Pattern transfer

    A pattern over-represented in SFT data shows up in the trained model's answers, and filtering it
    out of the data lowers it. `bench/pattern_transfer.py` plants a BLUF opener ("Bottom line: …") and
    an emotional-validation opener in a share of SmolLM2's own answers, finds them with the lexical
    audit, trains a LoRA on all the answers (**full**) and on the answers without both openers
    (**filtered**), and samples each arm and the untrained model (**base**) on held-out prompts.
    Below: each arm's rate of each planted opener (strict criterion, 95% Wilson interval) and the
    differences between arms, paired over the held-out prompts.
    """)
    return


@app.cell
def _(Path, nb, os):
    _default = os.environ.get("WORKBENCH_PROJECT") or str(
        Path(__file__).resolve().parent.parent / "data" / "experiments" / "pattern_transfer"
    )
    folder = nb.project_form(_default)
    folder
    return (folder,)


@app.cell
def _(experiment_runs, folder, mo, nb):
    project = nb.open_project(folder.value)
    finished = [r for r in experiment_runs(project) if r.status == "done" and r.config.get("arms")]
    mo.stop(
        not finished,
        mo.md("No finished run of the experiment in this project yet: `.venv/bin/python -m bench.pattern_transfer`."),
    )
    run_picker = mo.ui.dropdown(
        options={f"{r.id} · {r.started_at:%Y-%m-%d %H:%M}": r.id for r in finished},
        value=f"{finished[0].id} · {finished[0].started_at:%Y-%m-%d %H:%M}",
        label="Run",
    )
    run_picker
    return finished, project, run_picker


@app.cell
def _(finished, mo, run_picker):
    run = next(r for r in finished if r.id == run_picker.value)
    mo.vstack([mo.md("**Settings**"), mo.json(run.config.get("settings", {}))])
    return (run,)


@app.cell
def _(arm_rates, arm_rates_figure, mo, project, run):
    rates = arm_rates(project, run)
    figure = arm_rates_figure(rates)
    rate_rows = [
        {"arm": r.arm, "pattern": r.planted, "strict rate": r.strict.rate, "low": r.strict.low, "high": r.strict.high,
         "k": r.strict.k, "n": r.strict.n, "broad rate": r.broad.rate}
        for r in rates
    ]  # fmt: skip
    mo.vstack([mo.md("## Each arm's rate"), mo.ui.plotly(figure), mo.ui.table(rate_rows, selection=None)])
    return figure, rate_rows, rates


@app.cell
def _(arm_differences, mo, project, run):
    pairs = [("full", "base"), ("filtered", "full"), ("filtered", "base")]
    difference_rows = [
        {"difference": f"{a} − {b}", "pattern": name, "mean": d.mean, "low": d.low, "high": d.high, "prompts": d.n}
        for a, b in pairs
        for name, d in arm_differences(project, run, a, b).items()
    ]
    mo.vstack([mo.md("## Differences, paired over held-out prompts"), mo.ui.table(difference_rows, selection=None)])
    return (difference_rows,)


@app.cell
def _(ARMS, mo):
    arm_picker = mo.ui.dropdown(options=list(ARMS), value="full", label="Arm")
    arm_picker
    return (arm_picker,)


@app.cell
def _(arm_picker, dataset_rows, mo, project, run):
    answers = dataset_rows(project, run.config["arms"][arm_picker.value])[:10]
    mo.vstack([mo.md("**Sampled answers** (the first ten)"), *(mo.plain_text(a.text) for a in answers)])
    return (answers,)


@app.cell
def _(ARMS, answers, difference_rows, figure, rate_rows, rates, run):
    def test_one_bar_per_arm_at_each_patterns_stored_strict_rate():
        assert [bar.name for bar in figure.data] == list(ARMS)
        for bar in figure.data:
            shown = [r for r in rates if r.arm == bar.name]
            assert list(bar.y) == [r.strict.rate for r in shown]

    def test_the_table_and_the_differences_cover_every_arm_and_pattern():
        assert {(r["arm"], r["pattern"]) for r in rate_rows} == {(a, p) for a in ARMS for p in run.config["patterns"]}
        assert len(difference_rows) == 3 * len(run.config["patterns"])

    def test_the_answers_shown_are_the_arms_stored_outputs():
        assert answers and all(a.text for a in answers)

    return


if __name__ == "__main__":
    app.run()
