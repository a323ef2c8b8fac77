"""Stage 1: write or import the traits document; preview its chunks, tick its traits, diff, then save.

    marimo edit notebooks/01_traits.py      # edit and save interactively
    python notebooks/01_traits.py           # unattended: saves the starting text as a version

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). Every later stage
generates from the chunks a saved version has; a changed chunk gets a new id, so later stages
regenerate only what the diff below lists as added or changed.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    from workbench import notebook as nb
    from workbench.config import traits_variables
    from workbench.errors import WorkbenchError
    from workbench.store.traits import list_versions, save_version, traits_sources, version_chunks
    from workbench.traits import FORMATS, ReadOptions, diff_versions, read_document
    from workbench.views.traits_preview import check_selection, ticked_options, traits_preview
    from workbench.workspace import CHECKOUT_DATA_DIR

    return (
        CHECKOUT_DATA_DIR,
        FORMATS,
        ReadOptions,
        WorkbenchError,
        check_selection,
        diff_versions,
        list_versions,
        mo,
        nb,
        read_document,
        save_version,
        ticked_options,
        traits_preview,
        traits_sources,
        traits_variables,
        version_chunks,
    )


@app.cell
def _(mo):
    mo.md("""
    # 1 · The traits document

    Top-level bullets are **traits**; sections headed *Trade-offs*, *Exceptions*, *When not …*,
    *Priorities* or *Guidance* hold **guidance** that every generation step sees beside the trait.
    Model specs, numbered rules, JSON constitutions and universe contexts read too (the shape is
    detected, or pick it); **boundaries** (what the model must never do) are never instilled:
    the generator respects them and the critic checks them. Edit below, untick the traits to leave
    out: the preview and the diff against the last saved version follow as you type.
    """)
    return


@app.cell
def _(nb):
    folder = nb.project_form()
    folder
    return (folder,)


@app.cell
def _(CHECKOUT_DATA_DIR, folder, nb, traits_sources):
    project = nb.open_project(folder.value)
    sources = traits_sources(project.store, project.root, CHECKOUT_DATA_DIR / "traits")
    return project, sources


@app.cell
def _(mo, sources):
    source = mo.ui.dropdown(
        options={s.label: s for s in sources},
        value=sources[0].label if sources else None,
        label="Start from",
        full_width=True,
    )
    source
    return (source,)


@app.cell
def _(FORMATS, mo, source):
    start = source.value
    name = mo.ui.text(value=start.document if start else "traits", label="Save as document")
    shape = mo.ui.dropdown(options=["detect", *FORMATS], value="detect", label="Format")
    editor = mo.ui.code_editor(
        value=start.text if start else "", language="markdown", min_height=320, max_height=520, debounce=400
    )
    mo.vstack([mo.hstack([name, shape], justify="start"), editor])
    return editor, name, shape


@app.cell
def _(ReadOptions, WorkbenchError, editor, mo, name, project, read_document, shape, traits_preview, traits_variables):
    options = ReadOptions(
        format=None if shape.value == "detect" else shape.value, variables=traits_variables(project.config)
    )
    try:
        reading = read_document(editor.value, name.value or "editor", options)
        problem = None
    except WorkbenchError as e:
        reading, problem = None, str(e)
    mo.stop(reading is None, mo.callout(mo.plain_text(problem or ""), kind="danger"))
    preview = traits_preview(reading, name.value or "editor")
    trait_rows = [{"heading path": r.path, "line": r.line, "key": r.key} for r in preview.rows_of("trait")]
    picker = mo.ui.table(
        trait_rows, selection="multi", initial_selection=list(range(len(trait_rows))), pagination=True,
        label="Traits: tick those to store",
    )  # fmt: skip
    kept_rows = [
        mo.vstack(
            [
                mo.md(f"**{heading} ({len(rows)})**"),
                mo.ui.table([{"heading path": r.path, "line": r.line} for r in rows], selection=None),
            ]
        )
        for heading, rows in (
            ("Guidance", preview.rows_of("guidance")),
            ("Boundaries: never instilled; the critic checks them", preview.rows_of("boundary")),
        )
        if rows
    ]
    mo.vstack(
        [
            mo.plain_text(f"{preview.format_line}\n{preview.counts_line}"),
            picker,
            *kept_rows,
            *[mo.callout(mo.plain_text(w), kind="warn") for w in preview.warnings],
        ]
    )
    return options, picker, reading


@app.cell
def _(WorkbenchError, check_selection, editor, mo, name, options, picker, read_document, reading, ticked_options):
    ticked = [row["key"] for row in picker.value]
    try:
        # Read again keeping exactly the ticked traits: what is saved is what was ticked.
        parsed = read_document(editor.value, name.value or "editor", ticked_options(options, reading, ticked))
        check_selection(parsed, ticked)
        unticked = None
    except WorkbenchError as e:
        parsed, unticked = None, str(e)
    mo.stop(parsed is None, mo.callout(mo.plain_text(unticked or ""), kind="warn"))
    mo.md(f"**{len(ticked)} of {reading.count('trait') + len(reading.excluded)} traits ticked** for saving.")
    return parsed, ticked


@app.cell
def _(diff_versions, list_versions, mo, name, parsed, project, version_chunks):
    previous = list_versions(project.store, name.value)
    last = previous[-1] if previous else None
    diff = diff_versions(version_chunks(project.store, last.id) if last else [], parsed.chunks)
    changes = [
        *[{"change": "added", "key": c.key, "old": "", "new": c.text} for c in diff.added],
        *[{"change": "removed", "key": c.key, "old": c.text, "new": ""} for c in diff.removed],
        *[{"change": "changed", "key": ch.key, "old": ch.old.text, "new": ch.new.text} for ch in diff.changed],
    ]
    against = f"against `{last.ref}`" if last else "(no saved version yet: everything is new)"
    mo.vstack(
        [
            mo.md(
                f"### Diff {against}\n\n{len(diff.added)} added · {len(diff.removed)} removed · "
                f"{len(diff.changed)} changed · {diff.unchanged_count} unchanged"
            ),
            mo.ui.table(changes, selection=None) if changes else mo.md("_No changes._"),
        ]
    )
    return diff, last


@app.cell
def _(mo):
    save = mo.ui.run_button(label="Save as a new version")
    save
    return (save,)


@app.cell
def _(mo, name, nb, parsed, project, save, save_version, source):
    mo.stop(not nb.should_run(save), mo.md("Press **Save as a new version** to store this text."))
    path = source.value.path if source.value else None
    saved, created = save_version(project.store, parsed, name.value, str(path) if path else None)
    mo.md(
        f"Saved **{saved.ref}** ({saved.chunk_count} chunks)."
        if created
        else f"Nothing new: this text is already stored as **{saved.ref}**."
    )
    return (saved,)


@app.cell
def _(diff, last, list_versions, name, parsed, project, saved, ticked, version_chunks):
    def test_the_saved_version_holds_exactly_the_previewed_chunks():
        assert [c.id for c in version_chunks(project.store, saved.id)] == [c.id for c in parsed.chunks]
        assert list_versions(project.store, name.value)[-1].id == saved.id == parsed.version_id

    def test_the_saved_version_holds_exactly_the_ticked_traits():
        saved_traits = {c.key for c in version_chunks(project.store, saved.id) if c.kind == "trait"}
        assert saved_traits == set(ticked)

    def test_the_diff_accounts_for_every_chunk_of_both_versions():
        new_ids = {c.id for c in parsed.chunks}
        assert len(diff.added) + len(diff.changed) + diff.unchanged_count == len(new_ids)
        assert {c.id for c in diff.added} | {ch.new.id for ch in diff.changed} | set(diff.unchanged) == new_ids
        old_count = last.chunk_count if last else 0
        assert len(diff.removed) + len(diff.changed) + diff.unchanged_count == old_count

    return


if __name__ == "__main__":
    app.run()
