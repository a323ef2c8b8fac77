"""Stage 6: evaluate models on the eval suites; scores with intervals, transcripts, paired comparisons.

    marimo edit notebooks/06_eval.py      # pick models and suites, press Run, read transcripts
    python notebooks/06_eval.py           # unattended: every default run, then the default views

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). One eval run per
(model, suite); a run's id is a hash of what it is, so running the same selection again resumes
it (finished cases are kept, model calls answered from the cache) instead of paying twice. The
form's logic lives in workbench/views/eval_form.py, the tables' in workbench/views/evals.py and
workbench/views/eval_scores.py: the cells here only wire widgets to them.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import dataclasses

    import marimo as mo

    from workbench import notebook as nb
    from workbench.evals import report
    from workbench.evals.base import suites
    from workbench.store.traits import list_versions
    from workbench.views import eval_form, eval_scores
    from workbench.views import evals as views

    return dataclasses, eval_form, eval_scores, list_versions, mo, nb, report, suites, views


@app.cell
def _(mo):
    mo.md("""
    # 6 · Evaluate

    Pick the models (stored checkpoints, or any model spec: `gemini:…`, `openai:…@URL`, `hf:…`) and
    the suites, then **Run**: one eval run per model and suite, on the first cases of each suite's
    cases file (the project's `evals/SUITE.yaml`, else the shipped `data/evals/`), each case played
    for the suite's epochs unless you set them, judged by the judges you name or else the project's
    judge role. Below the runs: scores with 95% bootstrap intervals (a case's plays resampled
    together), the judges' agreement, every transcript with the judge's rationale, and two runs
    compared case by case.
    """)
    return


@app.cell
def _(nb):
    folder = nb.project_form()
    folder
    return (folder,)


@app.cell
def _(folder, list_versions, nb, suites, views):
    project = nb.open_project(folder.value)
    registry = suites()
    checkpoints = views.checkpoint_specs(project)
    versions = list_versions(project.store)
    return checkpoints, project, registry, versions


@app.cell
def _(eval_form, mo, registry):
    mo.vstack([mo.md("## The suites"), mo.ui.table(eval_form.suite_rows(registry), selection=None)])
    return


@app.cell
def _(checkpoints, mo, project, registry, versions, views):
    # Defaults are a pilot: the newest checkpoint and the project's target and baseline roles (the
    # base model as a reference), two cheap single-turn suites, a few cases each, the suites' epochs.
    targets = mo.ui.dictionary({
        "checkpoints": mo.ui.multiselect(options=checkpoints, value=list(checkpoints)[:1], label="Checkpoints"),
        "typed": mo.ui.text_area(value="\n".join(views.role_specs(project)), label="Other model specs, one per line",
                                 rows=3, full_width=True),
        "suites": mo.ui.multiselect(options=sorted(registry), label="Suites",
                                    value=[s for s in ("knowledge", "capability") if s in registry]),
    })  # fmt: skip
    form = mo.ui.dictionary({  # its keys are `eval_form.run_options`' arguments
        "traits_ref": mo.ui.dropdown(options={"(no traits document)": None, **{v.ref: v.ref for v in versions}},
                                     value=versions[-1].ref if versions else "(no traits document)",
                                     label="Traits version (the judges' reference)"),
        "arm": mo.ui.dropdown(options=["target", "floor", "ceiling"], value="target",
                              label="Arm (ceiling: the traits in the system prompt)"),
        "limit": mo.ui.number(start=1, step=1, value=5, label="Cases per suite (the first N)"),
        "epochs": mo.ui.number(step=1, value=None, label="Epochs, plays per case (empty: each suite's own)"),
        "temperature": mo.ui.number(step=0.1, value=None, label="Target temperature (empty: the runner's default)"),
        "settings_text": mo.ui.text_area(value="", label="Suite settings, KEY=VALUE per line (as `--set`)", rows=2),
        "judges_text": mo.ui.text_area(value="", label="Judges, one model spec per line (empty: the judge role)",
                                       rows=2),
    })  # fmt: skip
    mo.vstack(
        [
            mo.md("## What to run"),
            targets["checkpoints"],
            targets["typed"],
            mo.hstack([targets["suites"], form["traits_ref"], form["arm"]], justify="start"),
            mo.hstack([form["limit"], form["epochs"], form["temperature"]], justify="start"),
            mo.hstack([form["settings_text"], form["judges_text"]], justify="start"),
        ]
    )
    return form, targets


@app.cell
def _(eval_form, form, mo, nb, registry, targets, views):
    models = views.model_specs(targets.value["checkpoints"], targets.value["typed"])
    mo.stop(not models or not targets.value["suites"], mo.md("Pick at least one model and one suite."))
    with nb.shown_errors():
        options = eval_form.run_options(**form.value)
    plan = [(_model, _suite) for _model in models for _suite in targets.value["suites"]]
    mo.vstack(
        [
            mo.md(f"**{len(plan)} eval run(s)**, one per model and suite:"),
            mo.ui.table([{"model": m, "suite": s, "epochs": options.epochs or registry[s].epochs,
                          "judges": ", ".join(options.judges) or "the judge role"} for m, s in plan], selection=None),
        ]
    )  # fmt: skip
    return options, plan


@app.cell
def _(mo):
    run_button = mo.ui.run_button(label="Run the evals")
    run_button
    return (run_button,)


@app.cell
async def _(dataclasses, eval_form, mo, nb, options, plan, project, run_button):
    mo.stop(not nb.should_run(run_button), mo.md("Press **Run the evals** (finished runs resume for free)."))
    outcomes = []
    for _model, _suite in mo.status.progress_bar(plan, title="Eval runs", show_eta=False):
        mo.output.append(mo.plain_text(f"{_suite} · {_model}"))
        _progress = nb.MarimoProgress()
        try:
            outcomes.append(await eval_form.play(project, _model, _suite, options, _progress))
        finally:
            _progress.close()
    run_ids = [o.run for o in outcomes if o.run]
    mo.vstack(
        [
            mo.md(f"### Runs: {len(run_ids)} of {len(plan)} done"),
            mo.ui.table([dataclasses.asdict(o) for o in outcomes], selection=None),
            *[mo.callout(mo.plain_text(f"{o.suite} · {o.model}: {o.error}"), kind="danger")
              for o in outcomes if o.error],
        ]
    )  # fmt: skip
    return outcomes, run_ids


@app.cell
def _(mo):
    show_all = mo.ui.checkbox(label="Also show the project's earlier eval runs")
    show_all
    return (show_all,)


@app.cell
def _(dataclasses, mo, project, report, run_ids, show_all, views):
    summaries = [report.run_summary(project, _id) for _id in run_ids]
    summaries += [s for s in report.list_runs(project) if show_all.value and s.run_id not in run_ids]
    mo.stop(not summaries, mo.md("No eval runs to show yet."))
    figure = report.scores_figure(summaries)
    table_rows = views.score_rows(summaries)
    mo.vstack(
        [
            mo.md("## Scores"),
            mo.ui.plotly(figure),
            mo.ui.table([dataclasses.asdict(r) for r in table_rows], selection=None),
            mo.md(
                "Only **ok** samples are averaged (95% bootstrap interval over the `cases` scored, each case's "
                "`epochs` plays resampled together; `width` is the interval's). Invalid samples (the target never "
                "replied) and judge failures are counted beside the score, never scored."
            ),
        ]
    )
    return figure, summaries, table_rows


@app.cell
def _(dataclasses, eval_scores, mo, nb, project, summaries):
    beside = eval_scores.beside_rows(summaries)
    with nb.shown_errors():
        agreement = eval_scores.agreement_rows(project, summaries)
    _none = "_No run here was scored by two or more judges: name them under **Judges** to see if they agree._"
    mo.vstack(
        [
            *([mo.md("### Sub-scores beside the headline"), mo.ui.table([dataclasses.asdict(r) for r in beside],
               selection=None)] if beside else []),
            mo.md("### The judges' agreement (Krippendorff's α; 1 is perfect, 0 chance)"),
            mo.ui.table([dataclasses.asdict(r) for r in agreement], selection=None) if agreement else mo.md(_none),
        ]
    )  # fmt: skip
    return agreement, beside


@app.cell
def _(mo, project, views):
    def sample_panel(run_id: str, case_id: str, epoch: int = 0):
        """One play of a case: its score (or why none), turns with their notes, the judge's rationale and quotes."""
        view = views.sample_view(project, run_id, case_id, epoch)
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
            turns += [mo.Html(views.highlighted_html(turn.segments)) if quoted else mo.plain_text(turn.content)]
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
def _(mo, summaries, views):
    transcript_run = mo.ui.dropdown(
        options={views.run_label(s): s.run_id for s in summaries}, value=views.run_label(summaries[0]), label="Run"
    )
    mo.vstack([mo.md("## Transcripts"), transcript_run])
    return (transcript_run,)


@app.cell
def _(dataclasses, mo, project, transcript_run, views):
    cases_shown = views.run_cases(project, transcript_run.value)
    mo.stop(not cases_shown, mo.md("This run has no samples yet."))
    _plays = views.play_options(cases_shown)  # with several epochs, each play of a case is its own option
    case_picker = mo.ui.dropdown(options=_plays, value=next(iter(_plays)), label="Case")
    mo.vstack([mo.ui.table([dataclasses.asdict(c) for c in cases_shown], selection=None), case_picker])
    return case_picker, cases_shown


@app.cell
def _(case_picker, sample_panel, transcript_run):
    sample_panel(transcript_run.value, *case_picker.value)
    return


@app.cell
def _(mo, summaries, views):
    comparable = views.comparable_suites(summaries)
    mo.stop(
        not comparable,
        mo.md("## Compare two runs\n\nComparing needs two runs of one suite: add a second model above."),
    )
    compare_suite = mo.ui.dropdown(options=comparable, value=comparable[0], label="Suite")
    mo.vstack([mo.md("## Compare two runs"), compare_suite])
    return (compare_suite,)


@app.cell
def _(compare_suite, mo, summaries, views):
    _runs = {views.run_label(s): s.run_id for s in summaries if s.suite == compare_suite.value}
    _labels = list(_runs)
    run_a = mo.ui.dropdown(options=_runs, value=_labels[0], label="Run A")
    run_b = mo.ui.dropdown(options=_runs, value=_labels[1], label="Run B")
    mo.hstack([run_a, run_b], justify="start")
    return run_a, run_b


@app.cell
def _(eval_scores, mo, project, report, run_a, run_b):
    comparison = report.compare_runs(project, run_a.value, run_b.value)
    _d = comparison.difference
    mo.vstack(
        [
            mo.stat(
                value="n/a" if _d.mean is None else f"{_d.mean:+.3g}",
                label="A − B, paired over the cases both scored (a case's plays averaged)",
                caption=eval_scores.interval_caption(_d),
            ),
            mo.ui.plotly(report.comparison_figure(comparison)),
        ]
    )
    return (comparison,)


@app.cell
def _(mo, project, run_a, run_b, views):
    shared = views.shared_cases(project, run_a.value, run_b.value)
    mo.stop(not shared, mo.md("These runs share no case."))
    side_case = mo.ui.dropdown(options=shared, value=shared[0], label="Case, side by side (its first play)")
    side_case
    return shared, side_case


@app.cell
def _(mo, run_a, run_b, sample_panel, side_case):
    mo.hstack(
        [mo.vstack([mo.md(f"**{_name}**"), mo.plain_text(_run.selected_key), sample_panel(_run.value, side_case.value)])
         for _name, _run in (("A", run_a), ("B", run_b))], widths="equal", align="start",
    )  # fmt: skip
    return


@app.cell
def _(figure, options, outcomes, plan, project, registry, report, run_ids, summaries, table_rows):
    def test_one_finished_run_per_model_and_suite_each_case_played_for_the_suites_epochs():
        assert not [o for o in outcomes if o.error] and len(run_ids) == len(plan)
        assert (options.epochs, options.temperature, options.judges) == (None, None, ())  # the form's defaults
        runs = [s for s in report.list_runs(project) if s.run_id in run_ids]
        assert sorted((s.model, s.suite) for s in runs) == sorted(plan)
        assert {s.status for s in runs} == {"done"}
        for o in outcomes:
            assert o.epochs == registry[o.suite].epochs
            assert len(report.samples(project, o.run)) == o.cases * o.epochs

    def test_the_table_counts_invalid_and_judge_failed_samples_and_averages_only_ok_ones():
        played = {o.run: o.cases for o in outcomes}
        assert [r.run_id for r in table_rows] == [s.run_id for s in summaries] == run_ids
        for row in table_rows:
            found = report.samples(project, row.run_id)
            assert len(found) == played[row.run_id] * row.epochs  # every case up to the limit, once per epoch
            statuses = [s["status"] for s in found]
            assert (row.ok, row.invalid, row.judge_failed) == tuple(
                map(statuses.count, ("ok", "invalid", "judge_failed"))
            )
            key = registry[row.suite].weight  # knowledge weighs each answer by its points
            ok = [(s["score"], s["scores"][key] if key else 1) for s in found if s["status"] == "ok"]
            assert (row.mean is None) == (not ok)
            assert row.cases == len({s["case_id"] for s in found if s["status"] == "ok"})  # cases, not plays
            assert not ok or abs(row.mean - sum(v * w for v, w in ok) / sum(w for _, w in ok)) < 1e-9
            assert row.width == (None if row.low is None else row.high - row.low)

    def test_the_chart_has_one_bar_per_run_at_its_mean():
        assert [bar.name for bar in figure.data] == [f"{s.model} ({s.arm})" for s in summaries]
        assert [bar.y[0] for bar in figure.data] == [s.score.mean or 0.0 for s in summaries]

    return


@app.cell
def _(agreement, beside, case_picker, cases_shown, project, report, transcript_run, views):
    def test_no_sub_scores_or_agreement_for_single_turn_suites_judged_by_one_role():
        assert beside == [] and agreement == []

    def test_the_transcript_viewer_shows_the_stored_sample():
        found = {(s["case_id"], s["epoch"]): s for s in report.samples(project, transcript_run.value)}
        assert [(c.case_id, c.epoch) for c in cases_shown] == sorted(found)
        view = views.sample_view(project, transcript_run.value, *case_picker.value)
        stored = found[case_picker.value]["transcript"]
        assert [(t.role, t.content) for t in view.turns] == [(t["role"], t["content"]) for t in stored]

    return


@app.cell
def _(comparison, project, report, run_a, run_b, shared):
    def test_the_comparison_is_paired_over_the_cases_both_runs_scored():
        assert (comparison.a.run_id, comparison.b.run_id) == (run_a.value, run_b.value) and run_a.value != run_b.value
        a, b = (report.samples(project, r) for r in (run_a.value, run_b.value))
        assert shared == sorted({s["case_id"] for s in a} & {s["case_id"] for s in b})
        scored_a, scored_b = ({s["case_id"]: s["score"] for s in x if s["status"] == "ok"} for x in (a, b))
        both = sorted(set(scored_a) & set(scored_b))
        assert comparison.difference.n == len(both) > 0 and set(both) <= set(shared)
        expected = sum(scored_a[c] - scored_b[c] for c in both) / len(both)
        assert abs(comparison.difference.mean - expected) < 1e-9

    return


if __name__ == "__main__":
    app.run()
