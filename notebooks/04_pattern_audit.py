"""Stage 4: audit a dataset for over-represented superficial patterns, then filter them out.

    marimo edit notebooks/04_pattern_audit.py      # choose, count (free), scan, edit criteria, rate, filter
    python notebooks/04_pattern_audit.py           # unattended: audits the newest dataset and filters
                                                   # out every pattern the LLM scan found, at the strict level

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). The lexical scanner
first counts over-represented openers, closers, phrases and structure exactly, with no model
call, and rates them the same way; then the LLM audit scans batches of rows for recurring
patterns, keeps those that several scans found, rates a sample against each pattern's broad and
strict criteria and reports prevalence with 95% Wilson intervals. Every step does only what is
missing, so running a cell again after an edit, a crash or a budget stop pays for nothing twice
(the same as `workbench audit run`).
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    from workbench import notebook as nb
    from workbench.audit import datasets, filters, patterns
    from workbench.audit.prevalence import wilson
    from workbench.audit.rate import sample_rows, stored_levels
    from workbench.audit.run import run_audit
    from workbench.views import audit_sources
    from workbench.views import patterns as pv
    from workbench.views.datasets import audit_dataset_lineage
    from workbench.views.projections import audit_projection

    return (
        audit_dataset_lineage,
        audit_projection,
        audit_sources,
        datasets,
        filters,
        mo,
        nb,
        patterns,
        pv,
        run_audit,
        sample_rows,
        stored_levels,
        wilson,
    )


@app.cell
def _(mo):
    mo.md("""
    # 4 · Pattern audit

    Choose a dataset; **count** its over-represented openers, closers, phrases and structure
    (the lexical scanner: exact and free, against a reference dataset if you give one); **scan**
    batches of its rows for recurring patterns and **cluster** them
    (a pattern must be found by several scans to survive); check or edit each pattern's *broad*
    and *strict* criteria; **rate** a sample against them; read the prevalence and the examples;
    then **build a filtered dataset** without the patterns you do not want the model to learn.
    """)
    return


@app.cell
def _(nb):
    folder = nb.project_form()
    folder
    return (folder,)


@app.cell
def _(folder, nb):
    project = nb.open_project(folder.value)
    return (project,)


@app.cell
def _(audit_dataset_lineage, audit_sources, mo, project):
    known = audit_dataset_lineage(project)  # newest first
    _first = audit_sources.STORED if known else audit_sources.IMPORT
    source = mo.ui.radio(list(audit_sources.SOURCES), value=_first, label="Dataset to audit", inline=True)
    # Every widget of the three sources exists whatever the choice, so switching keeps what was typed.
    known_table = mo.ui.table(
        [vars(d) for d in known], selection="single", initial_selection=[0] if known else None, page_size=5
    )
    new = mo.ui.dictionary(
        {
            "store_kind": mo.ui.dropdown(list(audit_sources.STORE_KINDS), value="sft", label="Accepted rows of"),
            "traits_ref": mo.ui.text(label="Only this traits version (optional)"),
            "path": mo.ui.text(label="JSONL / Parquet file, or a `save_to_disk` folder", full_width=True),
            "file_format": mo.ui.dropdown(list(audit_sources.FILE_FORMATS), value=audit_sources.DETECT, label="Format"),
            "name": mo.ui.text(label="Name (optional)"),
        }
    )
    add = mo.ui.run_button(label="Add the dataset")
    source
    return add, known, known_table, new, source


@app.cell
def _(add, audit_sources, known, known_table, mo, new, source):
    if source.value == audit_sources.STORED:
        _shown = known_table if known else mo.md("_No datasets yet: snapshot the store's rows or import a file._")
    elif source.value == audit_sources.SNAPSHOT:
        _shown = mo.vstack([mo.hstack([new["store_kind"], new["traits_ref"], new["name"]], justify="start"), add])
    else:
        _shown = mo.vstack([new["path"], mo.hstack([new["file_format"], new["name"]], justify="start"), add])
    _shown
    return


@app.cell
def _(add, audit_sources, known_table, mo, nb, new, project, source):
    _stored = source.value == audit_sources.STORED
    mo.stop(_stored and not known_table.value, mo.md("Choose a dataset in the table."))
    mo.stop(not _stored and not nb.should_run(add), mo.md("Press **Add the dataset**."))
    _form = audit_sources.DatasetForm(source.value, known_table.value[0]["id"] if _stored else None, **new.value)
    with nb.shown_errors():
        dataset = audit_sources.chosen_dataset(project, _form)
    mo.vstack([mo.md(audit_sources.dataset_line(dataset)), mo.plain_text(audit_sources.origin_text(dataset))])
    return (dataset,)


@app.cell
def _(audit_sources, dataset, known, mo):
    _others = audit_sources.dataset_options(known, excluding=dataset.id)
    reference = mo.ui.dropdown(_others, label="Compare with (optional: e.g. the baseline data)")
    find_lexical = mo.ui.run_button(label="Find lexical patterns (free)")
    _about = (
        "### Lexical patterns (no model call)\n\nCounts the openers, closers, word n-grams and structure features "
        "(headings, lists, bold, a final question, length) of each answer, ranked by document frequency, or by "
        "log-odds against the reference; each becomes a pattern rated exactly."
    )
    mo.vstack([mo.md(_about), mo.hstack([reference, find_lexical], justify="start")])
    return find_lexical, reference


@app.cell
async def _(dataset, find_lexical, mo, nb, project, pv, reference, run_audit):
    mo.stop(not nb.should_run(find_lexical), mo.md("Press **Find lexical patterns (free)**."))
    with nb.stage() as _progress:
        counted = await run_audit(project, dataset.id, scanner="lexical", reference=reference.value, progress=_progress)
    _view = pv.findings_view(counted.findings, counted.report, against_reference=bool(reference.value))
    _table = mo.ui.table(_view.rows, selection=None, format_mapping=pv.percent_format(("share", "reference share")))
    mo.vstack([mo.md(_view.heading), _table, mo.ui.plotly(_view.figure)])
    return (counted,)


@app.cell
def _(mo):
    expected = mo.ui.number(start=1, stop=200, value=10, label="Patterns you expect the audit to rate")
    expected
    return (expected,)


@app.cell
def _(audit_projection, dataset, expected, mo, project):
    projection = audit_projection(project, dataset.id, expected.value)
    _warnings = [mo.callout(mo.plain_text(w), kind="warn") for w in projection.warnings]
    _table = mo.ui.table(projection.rows, selection=None)
    mo.vstack([mo.md(projection.summary), _table, *map(mo.md, projection.notes), *_warnings])
    return (projection,)


@app.cell
def _(mo):
    scan = mo.ui.run_button(label="Scan and cluster")
    scan
    return (scan,)


@app.cell
async def _(dataset, mo, nb, project, run_audit, scan):
    mo.stop(not nb.should_run(scan), mo.md("Press **Scan and cluster** to run the scans and merge what they found."))
    with nb.stage() as _progress:
        scanned = await run_audit(project, dataset.id, steps=("scan", "cluster"), progress=_progress)
    nb.run_report(f"Audit `{scanned.audit_id}`, run `{scanned.run_id}`.", scanned.steps, scanned.stopped_budget)
    return (scanned,)


@app.cell
def _(edited, mo, patterns, project, pv, scanned):
    # Read again after an edit below, so the table shows the criteria the rating will use.
    _patterns = patterns.list_patterns(project, scanned.audit_id)
    mo.stop(not _patterns, mo.md("No pattern was found by enough scans."))
    _title = pv.patterns_heading(len(_patterns), edited is not None)
    mo.vstack([mo.md(_title), mo.ui.table(pv.pattern_rows(_patterns), selection=None)])
    return


@app.cell
def _(mo, patterns, project, pv, scanned):
    # A lexical pattern's criteria are its rule: only the LLM patterns' criteria are edited here.
    _options = pv.pattern_options(pv.model_found(patterns.list_patterns(project, scanned.audit_id)))
    edit_pick = mo.ui.dropdown(_options, value=next(iter(_options), None), label="Edit the criteria of")
    edit_pick
    return (edit_pick,)


@app.cell
def _(edit_pick, mo, patterns, project):
    mo.stop(edit_pick.value is None)
    _pattern = patterns.get_pattern(project, edit_pick.value)
    criteria = mo.ui.dictionary(
        {
            "broad": mo.ui.text_area(value=_pattern.broad, label="Broad criterion", full_width=True),
            "strict": mo.ui.text_area(value=_pattern.strict, label="Strict criterion", full_width=True),
        }
    ).form(submit_button_label="Save criteria")
    criteria
    return (criteria,)


@app.cell
def _(criteria, edit_pick, mo, nb, patterns, project):
    # Nothing is submitted in an unattended run: the criteria stay as clustering wrote them.
    edited = None
    if criteria.value:
        with nb.shown_errors():
            edited = patterns.edit_pattern(project, edit_pick.value, **criteria.value)
    rate = mo.ui.run_button(label="Rate")
    _saved = f"Saved (criteria hash `{edited.criteria_hash[:12]}`); rate again to measure it." if edited else ""
    mo.vstack([mo.md(_saved), rate])
    return edited, rate


@app.cell
async def _(edited, mo, nb, project, rate, run_audit, scanned):
    _again = " to rate the edited criteria" if edited else ""
    mo.stop(not nb.should_run(rate), mo.md(f"Press **Rate**{_again}: the sample against every active pattern."))
    with nb.stage() as _progress:
        rated = await run_audit(project, scanned.audit_id, steps=("rate",), new=False, progress=_progress)
    nb.run_report(f"Rated in run `{rated.run_id}`.", rated.steps, rated.stopped_budget)
    return (rated,)


@app.cell
def _(mo, pv, rated):
    prevalence = pv.prevalence_rows(rated.report)
    prevalence_chart = pv.prevalence_figure(prevalence)
    _percent = pv.percent_format(("rate", "low", "high"))
    _table = mo.ui.table([vars(r) for r in prevalence], selection=None, format_mapping=_percent)
    _options = pv.pattern_options(p.pattern for p in rated.report.patterns)
    example = mo.ui.dictionary(  # pattern_examples' arguments
        {
            "pattern_ref": mo.ui.dropdown(_options, value=next(iter(_options), None), label="Examples of"),
            "level": mo.ui.radio(pv.LEVELS, value="strict", label="Matching at", inline=True),
            "limit": mo.ui.number(start=1, stop=50, value=5, label="Examples of each"),
        }
    )
    _heading = mo.md(pv.prevalence_heading(rated.report.sample_size))
    mo.vstack([_heading, mo.ui.plotly(prevalence_chart), _table, example.hstack(justify="start")])
    return example, prevalence, prevalence_chart


@app.cell
def _(example, mo, project, pv):
    mo.stop(example.value["pattern_ref"] is None, mo.md("No patterns to show."))
    examples = pv.pattern_examples(project, **example.value)
    # Row text is data, shown as plain text only.
    _columns = [mo.vstack([mo.md(title), *map(mo.plain_text, rows)]) for title, rows in pv.example_columns(examples)]
    mo.hstack(_columns, widths="equal")
    return (examples,)


@app.cell
def _(mo, pv, rated):
    _patterns = [p.pattern for p in rated.report.patterns]
    # Unattended, every pattern the LLM scan found is filtered out. Lexical ones are offered, not
    # chosen: a count such as a length bucket describes the data rather than a tic to remove.
    _chosen = list(pv.pattern_options(pv.model_found(_patterns)))
    to_drop = mo.ui.dictionary(
        {
            "patterns": mo.ui.multiselect(pv.pattern_options(_patterns), value=_chosen, label="Patterns to filter out"),
            "level": mo.ui.radio(pv.LEVELS, value="strict", label="Drop rows where a pattern is", inline=True),
            "name": mo.ui.text(label="Name of the new dataset (optional)"),
        }
    )
    build = mo.ui.run_button(label="Build filtered dataset")
    _about = (
        "### Build a filtered dataset\n\nRates *every* row of the dataset against the chosen patterns, "
        "then saves the rows without them as a new dataset linked to its parent."
    )
    _options = mo.hstack([to_drop["level"], to_drop["name"]], justify="start")
    mo.vstack([mo.md(_about), to_drop["patterns"], _options, build])
    return build, to_drop


@app.cell
async def _(build, filters, mo, nb, project, pv, rated, to_drop):
    mo.stop(not nb.should_run(build), mo.md("Press **Build filtered dataset**."))
    _drop = to_drop.value
    mo.stop(not _drop["patterns"], mo.md("Choose at least one pattern to filter out."))
    with nb.stage() as _progress:
        filtered = await filters.filter_dataset(
            project, rated.audit_id, _drop["patterns"], level=_drop["level"], name=_drop["name"].strip() or None,
            progress=_progress,
        )  # fmt: skip
    mo.vstack([mo.md(pv.filtered_line(filtered)), mo.plain_text(f"Name: {filtered.dataset.name}")])
    return (filtered,)


@app.cell
def _(
    audit_projection,
    counted,
    dataset,
    datasets,
    examples,
    filtered,
    filters,
    patterns,
    prevalence,
    prevalence_chart,
    project,
    projection,
    pv,
    rated,
    sample_rows,
    stored_levels,
    to_drop,
    wilson,
):
    def test_the_projection_counted_the_calls_the_audit_made():
        made: dict[str, int] = {}
        for c in pv.audit_status(project, rated.audit_id).calls:
            made[c.step] = made.get(c.step, 0) + c.calls
        assert {s.stage: s.calls for s in projection.cost.stages}["audit.scan"] == made["scan"] > 0
        assert made["merge"] == len([p for p in rated.report.patterns if p.pattern.origin == "found"])
        llm_patterns = [p for p in rated.report.patterns if p.pattern.rule is None]  # lexical ones cost no call
        replanned = audit_projection(project, dataset.id, len(llm_patterns)).cost.stages
        assert {s.stage: s.calls for s in replanned}["audit.rate"] == sum(s.jobs for s in rated.steps) > 0

    def test_the_chart_shows_each_patterns_rate_with_its_wilson_interval():
        assert len(prevalence) == 2 * len(rated.report.patterns) > 0
        settings = project.config.audit  # the settings this audit was started under
        sample = sample_rows(datasets.dataset_rows(project, dataset.id), settings.sample_size, settings.seed)
        with project.store.connect() as con:
            levels = stored_levels(con, [patterns.get_pattern(project, r.pattern_id) for r in prevalence],
                                   [r.text_hash for r in sample])  # fmt: skip
        bars = {trace.name: trace for trace in prevalence_chart.data}
        for row in prevalence:
            rated_levels = [
                levels[(row.pattern_id, r.text_hash)] for r in sample if (row.pattern_id, r.text_hash) in levels
            ]
            matching = filters.MATCHING[row.level]
            assert (row.k, row.n) == (sum(level in matching for level in rated_levels), len(rated_levels))
            assert (row.low, row.high) == (wilson(row.k, row.n).low, wilson(row.k, row.n).high)
            i = [r.pattern_id for r in prevalence if r.level == row.level].index(row.pattern_id)
            bar = bars[row.level]
            assert bar.y[i] == row.rate
            assert abs(bar.error_y.array[i] - (row.high - row.rate)) < 1e-12
            assert abs(bar.error_y.arrayminus[i] - (row.rate - row.low)) < 1e-12

    def test_the_examples_are_rated_as_they_are_labelled():
        rows = {r.row_id: r.text_hash for r in datasets.dataset_rows(project, dataset.id)}
        with project.store.connect() as con:
            levels = stored_levels(con, [examples.pattern], list(rows.values()))
        level_of = {i: levels.get((examples.pattern.id, h)) for i, h in rows.items()}
        assert examples.matching and examples.not_matching
        assert all(level_of[r.row_id] in filters.MATCHING[examples.level] for r in examples.matching)
        assert all(level_of[r.row_id] == "absent" for r in examples.not_matching)
        # Read before the filter rated the rest of the dataset: the totals are the chart's counts on the sample.
        shown = {(r.pattern_id, r.level): r for r in prevalence}
        assert examples.matching_total == shown[(examples.pattern.id, examples.level)].k
        broad = shown[(examples.pattern.id, "broad")]
        assert examples.not_matching_total == broad.n - broad.k

    def test_the_lexical_findings_became_patterns_rated_without_a_call():
        lexical = {p.pattern.rule: p for p in counted.report.patterns if p.pattern.rule is not None}
        assert counted.findings and set(lexical) == {f.rule for f in counted.findings}
        assert all(p.unrated == 0 and p.strict.n == counted.report.sample_size for p in lexical.values())
        with project.store.connect() as con:
            calls = con.execute("SELECT count(*) FROM llm_calls WHERE run_id = ?", [counted.run_id]).fetchone()
        assert calls == (0,)

    def test_the_filtered_dataset_lacks_exactly_the_rows_rated_as_matching():
        drop, drop_level = to_drop.value["patterns"], to_drop.value["level"]
        assert filtered.dataset.parent_id == dataset.id and filtered.dataset.source == "filtered"
        assert {p["id"] for p in filtered.dataset.filter["patterns"]} == set(drop)
        parent = datasets.dataset_rows(project, dataset.id)
        with project.store.connect() as con:
            levels = stored_levels(con, [patterns.get_pattern(project, i) for i in drop], [r.text_hash for r in parent])
        matching = {
            r.row_id for r in parent if any(levels[(i, r.text_hash)] in filters.MATCHING[drop_level] for i in drop)
        }
        kept = [r.row_id for r in datasets.dataset_rows(project, filtered.dataset.id)]
        assert matching and kept == [r.row_id for r in parent if r.row_id not in matching]
        assert (filtered.removed, filtered.kept) == (len(matching), len(kept))

    return


if __name__ == "__main__":
    app.run()
