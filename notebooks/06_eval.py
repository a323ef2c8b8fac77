"""Stage 6: evaluate models on the eval suites; scores with intervals, transcripts, paired comparisons.

    marimo edit notebooks/06_eval.py      # pick models and suites, press Run, read transcripts
    python notebooks/06_eval.py           # unattended: every default run, then the default views

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). One eval run per
(model, suite); a run's id is a hash of what it is, so running the same selection again resumes
it (finished cases are kept, model calls answered from the cache) instead of paying twice.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import dataclasses

    import marimo as mo

    from workbench import notebook as nb
    from workbench.errors import WorkbenchError
    from workbench.evals.base import suites
    from workbench.evals.report import compare_runs, comparison_figure, list_runs, run_summary, scores_figure
    from workbench.evals.report import samples as stored_samples
    from workbench.evals.runner import parse_settings, run_eval
    from workbench.store.traits import list_versions
    from workbench.views.evals import (
        checkpoint_specs,
        comparable_suites,
        highlighted_html,
        model_specs,
        role_specs,
        run_cases,
        run_label,
        sample_view,
        score_rows,
        shared_cases,
    )

    return (
        WorkbenchError,
        checkpoint_specs,
        comparable_suites,
        compare_runs,
        comparison_figure,
        dataclasses,
        highlighted_html,
        list_runs,
        list_versions,
        mo,
        model_specs,
        nb,
        parse_settings,
        role_specs,
        run_cases,
        run_eval,
        run_label,
        run_summary,
        sample_view,
        score_rows,
        scores_figure,
        shared_cases,
        stored_samples,
        suites,
    )


@app.cell
def _(mo):
    mo.md("""
    # 6 · Evaluate

    Pick the models (stored checkpoints, or any model spec: `gemini:…`, `openai:…@URL`, `hf:…`) and
    the suites, then **Run**: one eval run per model and suite, on the first cases of each suite's
    cases file (the project's `evals/SUITE.yaml`, else the shipped `data/evals/`). Below the runs:
    scores with 95% bootstrap intervals, every transcript with the judge's rationale, and two runs
    compared case by case.
    """)
    return


@app.cell
def _(nb):
    folder = nb.project_form()
    folder
    return (folder,)


@app.cell
def _(checkpoint_specs, folder, list_versions, nb, suites):
    project = nb.open_project(folder.value)
    registry = suites()
    checkpoints = checkpoint_specs(project)
    versions = list_versions(project.store)
    return checkpoints, project, registry, versions


@app.cell
def _(mo, registry):
    _rows = [
        {"suite": s.name, "score": f"{s.score_range[0]:g}–{s.score_range[1]:g}",
         "better": "higher" if s.higher_is_better else "lower", "what it measures": s.description}
        for s in sorted(registry.values(), key=lambda s: s.name)
    ]  # fmt: skip
    mo.vstack([mo.md("## The suites"), mo.ui.table(_rows, selection=None)])
    return


@app.cell
def _(checkpoints, mo, project, registry, role_specs, versions):
    # Defaults are a pilot: the newest checkpoint and the project's target and baseline roles (the
    # base model as a reference), two cheap single-turn suites, a few cases each.
    checkpoint_picker = mo.ui.multiselect(options=checkpoints, value=list(checkpoints)[:1], label="Checkpoints")
    typed_models = mo.ui.text_area(
        value="\n".join(role_specs(project)), label="Other model specs, one per line", rows=3, full_width=True
    )
    suite_picker = mo.ui.multiselect(
        options=sorted(registry), value=[s for s in ("knowledge", "capability") if s in registry], label="Suites"
    )
    traits_picker = mo.ui.dropdown(
        options={"(no traits document)": None, **{v.ref: v.ref for v in versions}},
        value=versions[-1].ref if versions else "(no traits document)",
        label="Traits version (the judges' reference)",
    )
    arm_picker = mo.ui.dropdown(
        options=["target", "floor", "ceiling"], value="target", label="Arm (ceiling: the traits in the system prompt)"
    )
    case_limit = mo.ui.number(start=1, step=1, value=5, label="Cases per suite (the first N)")
    settings_text = mo.ui.text_area(value="", label="Suite settings, KEY=VALUE per line (as `--set`)", rows=2)
    mo.vstack(
        [
            mo.md("## What to run"),
            checkpoint_picker,
            typed_models,
            mo.hstack([suite_picker, traits_picker, arm_picker], justify="start"),
            mo.hstack([case_limit, settings_text], justify="start"),
        ]
    )
    return (
        arm_picker,
        case_limit,
        checkpoint_picker,
        settings_text,
        suite_picker,
        traits_picker,
        typed_models,
    )


@app.cell
def _(
    case_limit,
    checkpoint_picker,
    mo,
    model_specs,
    nb,
    parse_settings,
    settings_text,
    suite_picker,
    typed_models,
):
    models = model_specs(checkpoint_picker.value, typed_models.value)
    with nb.shown_errors():
        suite_settings = parse_settings(settings_text.value.splitlines())
    mo.stop(not models or not suite_picker.value, mo.md("Pick at least one model and one suite."))
    mo.stop(not case_limit.value, mo.md("Set how many cases of each suite to run."))
    plan = [(_model, _suite) for _model in models for _suite in suite_picker.value]
    mo.vstack(
        [
            mo.md(f"**{len(plan)} eval run(s)**, one per model and suite:"),
            mo.ui.table([{"model": m, "suite": s} for m, s in plan], selection=None),
        ]
    )
    return plan, suite_settings


@app.cell
def _(mo):
    run_button = mo.ui.run_button(label="Run the evals")
    run_button
    return (run_button,)


@app.cell
async def _(
    WorkbenchError,
    arm_picker,
    case_limit,
    mo,
    nb,
    plan,
    project,
    run_button,
    run_eval,
    suite_settings,
    traits_picker,
):
    mo.stop(not nb.should_run(run_button), mo.md("Press **Run the evals** (finished runs resume for free)."))
    outcomes = []
    for _model, _suite in mo.status.progress_bar(plan, title="Eval runs", show_eta=False):
        mo.output.append(mo.plain_text(f"{_suite} · {_model}"))
        _progress = nb.MarimoProgress()
        _row = {"model": _model, "suite": _suite, "run": "", "cases": 0, "played now": 0, "already done": 0,
                "stopped at budget": False, "error": ""}  # fmt: skip
        try:
            _result = await run_eval(
                project, _suite, _model, arm=arm_picker.value, traits_ref=traits_picker.value,
                limit=int(case_limit.value), settings=suite_settings, progress=_progress,
            )  # fmt: skip
            _row |= {"run": _result.run_id, "cases": _result.cases, "played now": _result.finished_now,
                     "already done": _result.skipped, "stopped at budget": _result.stopped_budget}  # fmt: skip
        except WorkbenchError as _e:  # one bad pairing (say, knowledge without traits) leaves the others to run
            _row["error"] = str(_e)
        finally:
            _progress.close()
        outcomes.append(_row)
    run_ids = [o["run"] for o in outcomes if o["run"]]
    mo.vstack(
        [
            mo.md(f"### Runs: {len(run_ids)} of {len(plan)} done"),
            mo.ui.table(outcomes, selection=None),
            *[mo.callout(mo.plain_text(f"{o['suite']} · {o['model']}: {o['error']}"), kind="danger")
              for o in outcomes if o["error"]],
        ]
    )  # fmt: skip
    return outcomes, run_ids


@app.cell
def _(mo):
    show_all = mo.ui.checkbox(label="Also show the project's earlier eval runs")
    show_all
    return (show_all,)


@app.cell
def _(
    dataclasses,
    list_runs,
    mo,
    project,
    run_ids,
    run_summary,
    score_rows,
    scores_figure,
    show_all,
):
    summaries = [run_summary(project, _id) for _id in run_ids]
    summaries += [s for s in list_runs(project) if show_all.value and s.run_id not in run_ids]
    mo.stop(not summaries, mo.md("No eval runs to show yet."))
    figure = scores_figure(summaries)
    table_rows = score_rows(summaries)
    mo.vstack(
        [
            mo.md("## Scores"),
            mo.ui.plotly(figure),
            mo.ui.table([dataclasses.asdict(r) for r in table_rows], selection=None),
            mo.md(
                "Only **ok** samples are averaged (95% bootstrap interval over cases). Invalid samples (the "
                "target never replied) and judge failures are counted beside the score, never scored."
            ),
        ]
    )
    return figure, summaries, table_rows


@app.cell
def _(highlighted_html, mo, project, sample_view):
    def sample_panel(run_id: str, case_id: str):
        """One sample: its score (or why it has none), turns with their notes, the judge's rationale and quotes."""
        view = sample_view(project, run_id, case_id)
        if view is None:
            return mo.md("_This run has no sample for this case yet._")
        if view.status == "ok" and view.score is not None:
            head = mo.md(f"**Score {view.score:g}**")
        else:
            head = mo.callout(
                mo.vstack([mo.md("**Not scored**: counted apart, never averaged into the run's score."),
                           mo.plain_text(f"{view.status}: {view.reason or 'no reason recorded'}")]),
                kind="warn",
            )  # fmt: skip
        turns = []
        for turn in view.turns:
            # Quoted passages are marked in escaped HTML; text nobody quoted is shown as plain text.
            quoted = any(s.quoted for s in turn.segments)
            turns += [mo.plain_text(" · ".join(p for p in (turn.role.upper(), turn.meta) if p))]
            turns += [mo.callout(mo.plain_text(f"{n.label}: {n.text}"), kind="info") for n in turn.notes]
            turns += [mo.Html(highlighted_html(turn.segments)) if quoted else mo.plain_text(turn.content)]
        quotes = [{"quote": q, "in the transcript": q not in view.unmatched} for q in view.quotes]
        return mo.vstack(
            [
                head,
                *turns,
                mo.md("**The judge's rationale** (passages it quotes are marked in the transcript)"),
                mo.plain_text(view.rationale or "none"),
                mo.ui.table(quotes, selection=None) if quotes else mo.md("_No quotes in the rationale._"),
                mo.accordion({"Scores and details": mo.json({"scores": view.scores, "details": view.details})}),
            ]
        )

    return (sample_panel,)


@app.cell
def _(mo, run_label, summaries):
    transcript_run = mo.ui.dropdown(
        options={run_label(s): s.run_id for s in summaries}, value=run_label(summaries[0]), label="Run"
    )
    mo.vstack([mo.md("## Transcripts"), transcript_run])
    return (transcript_run,)


@app.cell
def _(dataclasses, mo, project, run_cases, transcript_run):
    cases_shown = run_cases(project, transcript_run.value)
    mo.stop(not cases_shown, mo.md("This run has no samples yet."))
    case_picker = mo.ui.dropdown(
        options={f"{c.case_id} ({c.status})": c.case_id for c in cases_shown},
        value=f"{cases_shown[0].case_id} ({cases_shown[0].status})",
        label="Case",
    )
    mo.vstack([mo.ui.table([dataclasses.asdict(c) for c in cases_shown], selection=None), case_picker])
    return case_picker, cases_shown


@app.cell
def _(case_picker, sample_panel, transcript_run):
    sample_panel(transcript_run.value, case_picker.value)
    return


@app.cell
def _(comparable_suites, mo, summaries):
    comparable = comparable_suites(summaries)
    mo.stop(
        not comparable,
        mo.md("## Compare two runs\n\nComparing needs two runs of one suite: add a second model above."),
    )
    compare_suite = mo.ui.dropdown(options=comparable, value=comparable[0], label="Suite")
    mo.vstack([mo.md("## Compare two runs"), compare_suite])
    return (compare_suite,)


@app.cell
def _(compare_suite, mo, run_label, summaries):
    _runs = {run_label(s): s.run_id for s in summaries if s.suite == compare_suite.value}
    _labels = list(_runs)
    run_a = mo.ui.dropdown(options=_runs, value=_labels[0], label="Run A")
    run_b = mo.ui.dropdown(options=_runs, value=_labels[1], label="Run B")
    mo.hstack([run_a, run_b], justify="start")
    return run_a, run_b


@app.cell
def _(compare_runs, comparison_figure, mo, project, run_a, run_b):
    comparison = compare_runs(project, run_a.value, run_b.value)
    _d = comparison.difference
    _interval = (
        "no interval (fewer than two cases)" if _d.low is None or _d.high is None
        else f"95% interval [{_d.low:+.3g}, {_d.high:+.3g}]"
    )  # fmt: skip
    mo.vstack(
        [
            mo.stat(
                value="n/a" if _d.mean is None else f"{_d.mean:+.3g}",
                label="A − B, paired over the cases both scored",
                caption=f"{_interval} over {_d.n} cases",
            ),
            mo.ui.plotly(comparison_figure(comparison)),
        ]
    )
    return (comparison,)


@app.cell
def _(mo, project, run_a, run_b, shared_cases):
    shared = shared_cases(project, run_a.value, run_b.value)
    mo.stop(not shared, mo.md("These runs share no case."))
    side_case = mo.ui.dropdown(options=shared, value=shared[0], label="Case, side by side")
    side_case
    return shared, side_case


@app.cell
def _(mo, run_a, run_b, sample_panel, side_case):
    mo.hstack(
        [
            mo.vstack([mo.md("**A**"), mo.plain_text(run_a.selected_key), sample_panel(run_a.value, side_case.value)]),
            mo.vstack([mo.md("**B**"), mo.plain_text(run_b.selected_key), sample_panel(run_b.value, side_case.value)]),
        ],
        widths="equal",
        align="start",
    )
    return


@app.cell
def _(
    case_picker,
    cases_shown,
    comparison,
    figure,
    list_runs,
    outcomes,
    plan,
    project,
    run_a,
    run_b,
    run_ids,
    sample_view,
    shared,
    stored_samples,
    summaries,
    table_rows,
    transcript_run,
):
    def test_one_finished_run_per_model_and_suite():
        assert not [o for o in outcomes if o["error"]] and len(run_ids) == len(plan)
        runs = [s for s in list_runs(project) if s.run_id in run_ids]
        assert sorted((s.model, s.suite) for s in runs) == sorted(plan)
        assert {s.status for s in runs} == {"done"}

    def test_the_table_counts_invalid_and_judge_failed_samples_and_averages_only_ok_ones():
        played = {o["run"]: o["cases"] for o in outcomes}
        assert [r.run_id for r in table_rows] == [s.run_id for s in summaries] == run_ids
        for row in table_rows:
            found = stored_samples(project, row.run_id)
            assert len(found) == played[row.run_id]  # every case up to the limit, once
            statuses = [s["status"] for s in found]
            assert (row.ok, row.invalid, row.judge_failed) == tuple(
                map(statuses.count, ("ok", "invalid", "judge_failed"))
            )
            ok = [s["score"] for s in found if s["status"] == "ok"]  # only ok samples are averaged
            assert (row.mean is None) == (not ok)
            assert not ok or abs(row.mean - sum(ok) / len(ok)) < 1e-9

    def test_the_chart_has_one_bar_per_run_at_its_mean():
        assert [bar.name for bar in figure.data] == [f"{s.model} ({s.arm})" for s in summaries]
        assert [bar.y[0] for bar in figure.data] == [s.score.mean or 0.0 for s in summaries]

    def test_the_transcript_viewer_shows_the_stored_sample():
        found = {s["case_id"]: s for s in stored_samples(project, transcript_run.value)}
        assert [c.case_id for c in cases_shown] == sorted(found)
        view = sample_view(project, transcript_run.value, case_picker.value)
        stored = found[case_picker.value]["transcript"]
        assert [(t.role, t.content) for t in view.turns] == [(t["role"], t["content"]) for t in stored]

    def test_the_comparison_is_paired_over_the_cases_both_runs_scored():
        assert (comparison.a.run_id, comparison.b.run_id) == (run_a.value, run_b.value) and run_a.value != run_b.value
        a, b = (stored_samples(project, r) for r in (run_a.value, run_b.value))
        assert shared == sorted({s["case_id"] for s in a} & {s["case_id"] for s in b})
        scored_a, scored_b = ({s["case_id"]: s["score"] for s in x if s["status"] == "ok"} for x in (a, b))
        both = sorted(set(scored_a) & set(scored_b))
        assert comparison.difference.n == len(both) > 0 and set(both) <= set(shared)
        expected = sum(scored_a[c] - scored_b[c] for c in both) / len(both)
        assert abs(comparison.difference.mean - expected) < 1e-9

    return


if __name__ == "__main__":
    app.run()
