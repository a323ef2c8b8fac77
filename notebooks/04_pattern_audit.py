"""Stage 4: audit a dataset for over-represented superficial patterns, then filter them out.

    marimo edit notebooks/04_pattern_audit.py      # choose, count (free), scan, edit criteria, rate, filter
    python notebooks/04_pattern_audit.py           # unattended: audits the newest dataset and filters
                                                   # out every pattern the LLM scan found, at the strict level

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). The lexical scanner
first counts over-represented openers, closers, phrases and structure exactly, with no model
call, and rates them the same way; then the LLM audit scans
batches of rows for recurring patterns, keeps those that several scans found, rates a sample
against each pattern's broad and strict criteria and reports prevalence with 95% Wilson
intervals. Every step does only what is missing, so running a cell again after an edit, a crash
or a budget stop pays for nothing twice (the same as `workbench audit run`).
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    from pathlib import Path

    import marimo as mo

    from workbench import notebook as nb
    from workbench.audit.audits import audit_id
    from workbench.audit.cost import plan_audit
    from workbench.audit.datasets import dataset_rows, get_dataset, snapshot_store
    from workbench.audit.filters import MATCHING, filter_dataset
    from workbench.audit.imports import import_file
    from workbench.audit.lexical import finding_table
    from workbench.audit.patterns import edit_pattern, get_pattern, list_patterns
    from workbench.audit.prevalence import wilson
    from workbench.audit.rate import sample_rows, stored_levels
    from workbench.audit.run import run_audit
    from workbench.views.datasets import audit_dataset_lineage
    from workbench.views.patterns import audit_status, pattern_examples, prevalence_figure, prevalence_rows
    from workbench.views.runs import projection_rows

    return (
        MATCHING,
        Path,
        audit_dataset_lineage,
        audit_id,
        audit_status,
        dataset_rows,
        edit_pattern,
        filter_dataset,
        finding_table,
        get_dataset,
        get_pattern,
        import_file,
        list_patterns,
        mo,
        nb,
        pattern_examples,
        plan_audit,
        prevalence_figure,
        prevalence_rows,
        projection_rows,
        run_audit,
        sample_rows,
        snapshot_store,
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
def _(audit_dataset_lineage, mo, project):
    known = audit_dataset_lineage(project)  # newest first
    source = mo.ui.radio(
        options=["A dataset in the store", "Snapshot the accepted rows", "Import a file"],
        value="A dataset in the store" if known else "Import a file",
        label="Dataset to audit",
        inline=True,
    )
    source
    return known, source


@app.cell
def _(known, mo):
    # Every widget of the three sources exists whatever the choice, so switching keeps what was typed.
    known_table = mo.ui.table(
        [vars(d) for d in known], selection="single", initial_selection=[0] if known else None, page_size=5
    )
    store_kind = mo.ui.dropdown(["sft", "preference", "documents"], value="sft", label="Accepted rows of")
    store_traits = mo.ui.text(label="Only this traits version (optional)")
    file_path = mo.ui.text(label="JSONL / Parquet file, or a `save_to_disk` folder", full_width=True)
    file_format = mo.ui.dropdown(
        ["detect", "messages", "prompt_completion", "sharegpt", "text", "preference"], value="detect", label="Format"
    )
    new_dataset_name = mo.ui.text(label="Name (optional)")
    add = mo.ui.run_button(label="Add the dataset")
    return (
        add,
        file_format,
        file_path,
        known_table,
        new_dataset_name,
        store_kind,
        store_traits,
    )


@app.cell
def _(
    add,
    file_format,
    file_path,
    known,
    known_table,
    mo,
    new_dataset_name,
    source,
    store_kind,
    store_traits,
):
    if source.value == "A dataset in the store":
        _shown = known_table if known else mo.md("_No datasets yet: snapshot the store's rows or import a file._")
    elif source.value == "Snapshot the accepted rows":
        _shown = mo.vstack([mo.hstack([store_kind, store_traits, new_dataset_name], justify="start"), add])
    else:
        _shown = mo.vstack([file_path, mo.hstack([file_format, new_dataset_name], justify="start"), add])
    _shown
    return


@app.cell
def _(
    Path,
    add,
    file_format,
    file_path,
    get_dataset,
    import_file,
    known_table,
    mo,
    nb,
    new_dataset_name,
    project,
    snapshot_store,
    source,
    store_kind,
    store_traits,
):
    if source.value == "A dataset in the store":
        mo.stop(not known_table.value, mo.md("Choose a dataset in the table."))
        dataset = get_dataset(project, known_table.value[0]["id"])
    else:
        mo.stop(not nb.should_run(add), mo.md("Press **Add the dataset**."))
        _name = new_dataset_name.value.strip() or None
        with nb.shown_errors():
            if source.value == "Snapshot the accepted rows":
                dataset = snapshot_store(
                    project, store_kind.value, traits_ref=store_traits.value.strip() or None, name=_name
                )
            else:
                mo.stop(not file_path.value.strip(), mo.md("Give the file's path."))
                _format = None if file_format.value == "detect" else file_format.value
                dataset = import_file(project, Path(file_path.value.strip()).expanduser(), name=_name, format=_format)
    mo.vstack(
        [
            mo.md(f"Dataset `{dataset.id}`: **{dataset.row_count}** {dataset.format} rows ({dataset.source})."),
            mo.plain_text(f"{dataset.name} · from {dataset.origin or '-'}"),
        ]
    )
    return (dataset,)


@app.cell
def _(dataset, known, mo):
    reference = mo.ui.dropdown(
        {f"{d.name} · {d.id[:8]}": d.id for d in known if d.id != dataset.id},
        label="Compare with (optional: e.g. the baseline data)",
    )
    find_lexical = mo.ui.run_button(label="Find lexical patterns (free)")
    mo.vstack(
        [
            mo.md(
                "### Lexical patterns (no model call)\n\nCounts the openers, closers, word n-grams and "
                "structure features (headings, lists, bold, a final question, length) of each answer, ranked by "
                "document frequency, or by log-odds against the reference; each becomes a pattern rated exactly."
            ),
            mo.hstack([reference, find_lexical], justify="start"),
        ]
    )
    return find_lexical, reference


@app.cell
async def _(
    dataset,
    find_lexical,
    finding_table,
    mo,
    nb,
    prevalence_figure,
    prevalence_rows,
    project,
    reference,
    run_audit,
):
    mo.stop(not nb.should_run(find_lexical), mo.md("Press **Find lexical patterns (free)**."))
    with nb.stage() as _progress:
        counted = await run_audit(project, dataset.id, scanner="lexical", reference=reference.value, progress=_progress)
    findings = counted.findings
    _percent = {c: (lambda v: "–" if v is None else f"{v:.1%}") for c in ("share", "reference share")}
    _lexical = counted.report.model_copy(
        update={"patterns": [p for p in counted.report.patterns if p.pattern.rule is not None]}
    )
    mo.vstack(
        [
            mo.md(f"**{len(findings)} findings**, best first (score: " + ("log-odds z" if reference.value else "share")
                  + f"); rated on the audit's sample of {counted.report.sample_size} rows with no call."),
            mo.ui.table(finding_table(findings), selection=None, format_mapping=_percent),
            mo.ui.plotly(prevalence_figure(prevalence_rows(_lexical))),
        ]
    )  # fmt: skip
    return counted, findings


@app.cell
def _(mo):
    expected = mo.ui.number(start=1, stop=200, value=10, label="Patterns you expect the audit to rate")
    expected
    return (expected,)


@app.cell
def _(
    audit_id,
    audit_status,
    dataset,
    expected,
    mo,
    plan_audit,
    project,
    projection_rows,
):
    projection = plan_audit(project, dataset.id, patterns=expected.value)
    # The audit's id is a hash of the dataset and the [audit] settings: this is the one the run resumes.
    _status = audit_status(project, audit_id(dataset.id, project.config.audit))
    _cost = projection.cost.cost_usd
    mo.vstack(
        [
            mo.md(
                f"### Projection\n\n{projection.rows} rows; {projection.sample} sampled and rated against "
                f"{projection.patterns} patterns: **{projection.cost.calls:.0f} calls**, "
                f"{projection.cost.tokens:,.0f} tokens, "
                + (f"**${_cost:.4f}**" if _cost is not None else "cost unknown (no price for the rater)")
                + (f" (budget per run ${projection.cost.budget_usd:.2f})." if projection.cost.budget_usd else ".")
            ),
            mo.ui.table(projection_rows(projection.cost), selection=None),
            *[mo.callout(mo.plain_text(f"Assumed, not measured: {a}."), kind="warn") for a in projection.assumptions],
            mo.md(
                f"Settings (`[audit]`): {project.config.audit.scans} scans of {project.config.audit.rows_per_scan} "
                f"rows, kept when found by {project.config.audit.min_scans}; this audit has "
                f"{_status.candidates} candidates and {_status.active_patterns} patterns so far."
            ),
        ]
    )
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
def _(edited, list_patterns, mo, project, scanned):
    # Read again after an edit below, so the table shows the criteria the rating will use.
    _patterns = list_patterns(project, scanned.audit_id)
    mo.stop(not _patterns, mo.md("No pattern was found by enough scans."))
    _rows = [
        {"name": p.name, "kind": p.kind, "found by": p.found_by, "broad": p.broad, "strict": p.strict, "id": p.id}
        for p in _patterns
    ]
    _title = f"### {len(_rows)} patterns: found by the scans, counted, or added" + (" (as edited)" if edited else "")
    mo.vstack([mo.md(_title), mo.ui.table(_rows, selection=None)])
    return


@app.cell
def _(list_patterns, mo, project, scanned):
    # A lexical pattern's criteria are its rule: only the LLM patterns' criteria are edited here.
    _patterns = [p for p in list_patterns(project, scanned.audit_id) if p.rule is None]
    edit_pick = mo.ui.dropdown(
        {f"{p.name} · {p.id[:8]}": p.id for p in _patterns},
        value=f"{_patterns[0].name} · {_patterns[0].id[:8]}" if _patterns else None,
        label="Edit the criteria of",
    )
    edit_pick
    return (edit_pick,)


@app.cell
def _(edit_pick, get_pattern, mo, project):
    mo.stop(edit_pick.value is None)
    _pattern = get_pattern(project, edit_pick.value)
    criteria = mo.ui.dictionary(
        {
            "broad": mo.ui.text_area(value=_pattern.broad, label="Broad criterion", full_width=True),
            "strict": mo.ui.text_area(value=_pattern.strict, label="Strict criterion", full_width=True),
        }
    ).form(submit_button_label="Save criteria")
    criteria
    return (criteria,)


@app.cell
def _(criteria, edit_pattern, edit_pick, mo, nb, project):
    # Nothing is submitted in an unattended run: the criteria stay as clustering wrote them.
    edited = None
    if criteria.value:
        with nb.shown_errors():
            edited = edit_pattern(project, edit_pick.value, **criteria.value)
    mo.md(f"Saved (criteria hash `{edited.criteria_hash[:12]}`); rate again to measure it.") if edited else None
    return (edited,)


@app.cell
def _(mo):
    rate = mo.ui.run_button(label="Rate")
    rate
    return (rate,)


@app.cell
async def _(edited, mo, nb, project, rate, run_audit, scanned):
    _again = " to rate the edited criteria" if edited else ""
    mo.stop(not nb.should_run(rate), mo.md(f"Press **Rate**{_again}: the sample against every active pattern."))
    with nb.stage() as _progress:
        rated = await run_audit(project, scanned.audit_id, steps=("rate",), new=False, progress=_progress)
    nb.run_report(f"Rated in run `{rated.run_id}`.", rated.steps, rated.stopped_budget)
    return (rated,)


@app.cell
def _(mo, prevalence_figure, prevalence_rows, rated):
    prevalence = prevalence_rows(rated.report)
    prevalence_chart = prevalence_figure(prevalence)
    _percent = {c: (lambda v: "–" if v is None else f"{v:.1%}") for c in ("rate", "low", "high")}
    mo.vstack(
        [
            mo.md(
                f"### Prevalence\n\nOn the audit's sample of {rated.report.sample_size} rows; "
                "the bars are 95% Wilson intervals. Lexical patterns are rated exactly, without calls."
            ),
            mo.ui.plotly(prevalence_chart),
            mo.ui.table([vars(r) for r in prevalence], selection=None, format_mapping=_percent),
        ]
    )
    return prevalence, prevalence_chart


@app.cell
def _(mo, rated):
    example_pattern = mo.ui.dropdown(
        {f"{p.pattern.name} · {p.pattern.id[:8]}": p.pattern.id for p in rated.report.patterns},
        value=next((f"{p.pattern.name} · {p.pattern.id[:8]}" for p in rated.report.patterns), None),
        label="Examples of",
    )
    example_level = mo.ui.radio(["strict", "broad"], value="strict", label="Matching at", inline=True)
    example_limit = mo.ui.number(start=1, stop=50, value=5, label="Examples of each")
    mo.hstack([example_pattern, example_level, example_limit], justify="start")
    return example_level, example_limit, example_pattern


@app.cell
def _(
    example_level,
    example_limit,
    example_pattern,
    mo,
    pattern_examples,
    project,
):
    mo.stop(example_pattern.value is None, mo.md("No patterns to show."))
    examples = pattern_examples(project, example_pattern.value, example_level.value, example_limit.value)

    def _column(title, total, rows):
        # Row text is data, shown as plain text only.
        shown = [mo.plain_text(f"row {r.row_id} · group {r.group or '-'} · rated {r.level}\n\n{r.text}") for r in rows]
        return mo.vstack([mo.md(f"**{title}** ({total} rated rows)"), *shown])

    mo.hstack(
        [
            _column("Matching", examples.matching_total, examples.matching),
            _column("Not matching", examples.not_matching_total, examples.not_matching),
        ],
        widths="equal",
    )
    return (examples,)


@app.cell
def _(mo, rated):
    _options = {f"{p.pattern.name} · {p.pattern.id[:8]}": p.pattern for p in rated.report.patterns}
    # Unattended, every pattern the LLM scan found is filtered out. Lexical ones are offered, not
    # chosen: a count such as a length bucket describes the data rather than a tic to remove.
    drop = mo.ui.multiselect(
        {label: p.id for label, p in _options.items()},
        value=[label for label, p in _options.items() if p.rule is None],
        label="Patterns to filter out",
    )
    drop_level = mo.ui.radio(["strict", "broad"], value="strict", label="Drop rows where a pattern is", inline=True)
    filtered_name = mo.ui.text(label="Name of the new dataset (optional)")
    build = mo.ui.run_button(label="Build filtered dataset")
    mo.vstack(
        [
            mo.md(
                "### Build a filtered dataset\n\nRates *every* row of the dataset against the chosen patterns, "
                "then saves the rows without them as a new dataset linked to its parent."
            ),
            drop,
            mo.hstack([drop_level, filtered_name], justify="start"),
            build,
        ]
    )
    return build, drop, drop_level, filtered_name


@app.cell
async def _(
    build,
    drop,
    drop_level,
    filter_dataset,
    filtered_name,
    mo,
    nb,
    project,
    rated,
):
    mo.stop(not nb.should_run(build), mo.md("Press **Build filtered dataset**."))
    mo.stop(not drop.value, mo.md("Choose at least one pattern to filter out."))
    with nb.stage() as _progress:
        filtered = await filter_dataset(
            project, rated.audit_id, drop.value, level=drop_level.value,
            name=filtered_name.value.strip() or None, progress=_progress,
        )  # fmt: skip
    mo.vstack(
        [
            mo.md(
                f"Saved dataset `{filtered.dataset.id}` (parent `{filtered.dataset.parent_id}`): "
                f"removed **{filtered.removed}** rows, kept **{filtered.kept}**."
            ),
            mo.plain_text(f"Name: {filtered.dataset.name}"),
        ]
    )
    return (filtered,)


@app.cell
def _(
    MATCHING,
    audit_status,
    counted,
    dataset,
    dataset_rows,
    drop,
    drop_level,
    examples,
    filtered,
    findings,
    get_pattern,
    plan_audit,
    prevalence,
    prevalence_chart,
    project,
    projection,
    rated,
    sample_rows,
    scanned,
    stored_levels,
    wilson,
):
    def test_the_projection_counted_the_calls_the_audit_made():
        made = {}
        for c in audit_status(project, scanned.audit_id).calls:
            made[c.step] = made.get(c.step, 0) + c.calls
        assert {s.stage: s.calls for s in projection.cost.stages}["audit.scan"] == made["scan"] > 0
        assert made["merge"] == len([p for p in rated.report.patterns if p.pattern.origin == "found"])
        llm_patterns = [p for p in rated.report.patterns if p.pattern.rule is None]  # lexical ones cost no call
        replanned = plan_audit(project, dataset.id, patterns=len(llm_patterns)).cost.stages
        assert {s.stage: s.calls for s in replanned}["audit.rate"] == sum(s.jobs for s in rated.steps) > 0

    def test_the_chart_shows_each_patterns_rate_with_its_wilson_interval():
        assert len(prevalence) == 2 * len(rated.report.patterns) > 0
        settings = project.config.audit  # the settings this audit was started under
        sample = sample_rows(dataset_rows(project, dataset.id), settings.sample_size, settings.seed)
        with project.store.connect() as con:
            levels = stored_levels(con, [get_pattern(project, r.pattern_id) for r in prevalence],
                                   [r.text_hash for r in sample])  # fmt: skip
        bars = {trace.name: trace for trace in prevalence_chart.data}
        for row in prevalence:
            rated_levels = [
                levels[(row.pattern_id, r.text_hash)] for r in sample if (row.pattern_id, r.text_hash) in levels
            ]
            assert (row.k, row.n) == (sum(level in MATCHING[row.level] for level in rated_levels), len(rated_levels))
            assert (row.low, row.high) == (wilson(row.k, row.n).low, wilson(row.k, row.n).high)
            i = [r.pattern_id for r in prevalence if r.level == row.level].index(row.pattern_id)
            bar = bars[row.level]
            assert bar.y[i] == row.rate
            assert abs(bar.error_y.array[i] - (row.high - row.rate)) < 1e-12
            assert abs(bar.error_y.arrayminus[i] - (row.rate - row.low)) < 1e-12

    def test_the_examples_are_rated_as_they_are_labelled():
        rows = {r.row_id: r.text_hash for r in dataset_rows(project, dataset.id)}
        with project.store.connect() as con:
            levels = stored_levels(con, [examples.pattern], list(rows.values()))
        level_of = {i: levels.get((examples.pattern.id, h)) for i, h in rows.items()}
        assert examples.matching and examples.not_matching
        assert all(level_of[r.row_id] in MATCHING[examples.level] for r in examples.matching)
        assert all(level_of[r.row_id] == "absent" for r in examples.not_matching)
        # Read before the filter rated the rest of the dataset: the totals are the chart's counts on the sample.
        shown = {(r.pattern_id, r.level): r for r in prevalence}
        assert examples.matching_total == shown[(examples.pattern.id, examples.level)].k
        broad = shown[(examples.pattern.id, "broad")]
        assert examples.not_matching_total == broad.n - broad.k

    def test_the_lexical_findings_became_patterns_rated_without_a_call():
        patterns = {p.pattern.rule: p for p in counted.report.patterns if p.pattern.rule is not None}
        assert findings and set(patterns) == {f.rule for f in findings}
        assert all(p.unrated == 0 and p.strict.n == counted.report.sample_size for p in patterns.values())
        with project.store.connect() as con:
            calls = con.execute("SELECT count(*) FROM llm_calls WHERE run_id = ?", [counted.run_id]).fetchone()
        assert calls == (0,)

    def test_the_filtered_dataset_lacks_exactly_the_rows_rated_as_matching():
        assert filtered.dataset.parent_id == dataset.id and filtered.dataset.source == "filtered"
        assert {p["id"] for p in filtered.dataset.filter["patterns"]} == set(drop.value)
        parent = dataset_rows(project, dataset.id)
        with project.store.connect() as con:
            levels = stored_levels(con, [get_pattern(project, i) for i in drop.value], [r.text_hash for r in parent])
        matching = {
            r.row_id for r in parent if any(levels[(i, r.text_hash)] in MATCHING[drop_level.value] for i in drop.value)
        }
        kept = [r.row_id for r in dataset_rows(project, filtered.dataset.id)]
        assert matching and kept == [r.row_id for r in parent if r.row_id not in matching]
        assert (filtered.removed, filtered.kept) == (len(matching), len(kept))

    return


if __name__ == "__main__":
    app.run()
