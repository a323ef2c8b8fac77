"""Stage 3: midtraining documents — a pilot, each document's brainstorm, draft, critique and rewrite
side by side, the review, then the projected cost and the full run.

    marimo edit notebooks/03_midtraining_docs.py    # the walk, one button at a time
    python notebooks/03_midtraining_docs.py         # unattended: pilot, accept what awaits review, a small full run

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). Every run works on
what is missing, so running the pilot again costs nothing and picks up documents sent back for
regeneration. The CLI does the same walk: `workbench docs run | plan | list | show | review`.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import dataclasses

    import marimo as mo

    from workbench import notebook as nb
    from workbench.generate.docs_pipeline import project_docs_cost, run_docs
    from workbench.review import default_reviewer, review
    from workbench.views.documents import document_panes
    from workbench.views.focus import focus_item
    from workbench.views.queue import SCORES, QueueFilter, count_queue, queue_options, queue_page, review_queue
    from workbench.views.runs import projection_rows

    return (
        QueueFilter,
        SCORES,
        count_queue,
        dataclasses,
        default_reviewer,
        document_panes,
        focus_item,
        mo,
        nb,
        project_docs_cost,
        projection_rows,
        queue_options,
        queue_page,
        review,
        review_queue,
        run_docs,
    )


@app.cell
def _(mo):
    mo.md("""
    # 3 · Midtraining documents

    For each trait and document type the pipeline **brainstorms** a plan (what the document shows,
    how, why, and how the why enters the text), **drafts** it, **critiques** the draft aggressively
    and **rewrites** it from scratch; the autorater then filters leaks and weak documents and
    near-duplicates are marked. Run a small pilot, read what it wrote, decide, and only then
    look at the projected cost of the full run.
    """)
    return


@app.cell
def _(mo):
    # Bumped after each run and each review decision, so the tables below re-read the store.
    get_runs, set_runs = mo.state(0)
    get_decisions, set_decisions = mo.state(0)
    return get_decisions, get_runs, set_decisions, set_runs


@app.cell
def _(nb):
    folder = nb.project_form()
    folder
    return (folder,)


@app.cell
def _(folder, nb):
    project = nb.open_project(folder.value)
    versions = nb.stored_versions(project)
    return project, versions


@app.cell
def _(nb, versions):
    version = nb.version_picker(versions)
    version
    return (version,)


@app.cell
def _(mo, nb, project, version):
    chunks = nb.trait_picker(project.store, version.value)
    _types = project.config.docs.types
    types = mo.ui.multiselect(
        options={f"{name} (~{words} words)": name for name, words in _types.items()},
        value=[f"{name} (~{words} words)" for name, words in _types.items()],
        label="Document types ([docs] types)",
        full_width=True,
    )
    pilot_size = mo.ui.number(start=1, stop=20, value=1, label="Pilot: documents per trait and type")
    mo.vstack([chunks, types, pilot_size])
    return chunks, pilot_size, types


@app.cell
def _(chunks, mo, pilot_size, types):
    mo.stop(not chunks.value or not types.value, mo.md("Choose at least one trait and one document type."))
    _slots = len(chunks.value) * len(types.value) * int(pilot_size.value)
    pilot_button = mo.ui.run_button(label="Run the pilot")
    mo.vstack([mo.md(f"The pilot fills **{_slots}** document slot(s); filled ones are kept."), pilot_button])
    return (pilot_button,)


@app.cell
async def _(
    chunks,
    mo,
    nb,
    pilot_button,
    pilot_size,
    project,
    run_docs,
    set_runs,
    types,
    version,
):
    mo.stop(
        not nb.should_run(pilot_button),
        mo.md("Press **Run the pilot**: brainstorm, draft, critique, rewrite, rate, dedup."),
    )
    with nb.stage() as _progress:
        pilot = await run_docs(
            project, version.value.ref, chunk_keys=chunks.value, per_type=int(pilot_size.value), types=types.value,
            progress=_progress,
        )  # fmt: skip
    set_runs(lambda n: n + 1)
    nb.run_report(
        f"**Pilot run `{pilot.run_id}`**: {pilot.awaiting_review} document(s) await review.",
        pilot.steps,
        pilot.stopped_budget,
    )
    return (pilot,)


@app.cell
def _(mo):
    mo.md("""
    ## Review

    The table lists the documents the filter selects, with the autorater's scores. Select one to
    read its four stages side by side and decide on it; **Accept all shown** accepts every
    document the filter selects, as one decision (`workbench undo BATCH` reverses it).
    """)
    return


@app.cell
def _(default_reviewer, get_runs, mo, project, queue_options):
    get_runs()  # a run brings new statuses and traits to filter on
    _options = queue_options(project, "documents")
    status_filter = mo.ui.multiselect(
        options={f"{s} ({n})": s for s, n in _options.statuses.items()},
        value=[f"{s} ({n})" for s, n in _options.statuses.items() if s == "needs_review"],
        label="Status (none chosen: every status)",
    )
    trait_filter = mo.ui.dropdown(
        options={"every trait": "", **{t: i for i, t in _options.chunks}}, value="every trait", label="Trait"
    )
    reviewer = mo.ui.text(value=default_reviewer(), label="Reviewer")
    mo.hstack([status_filter, trait_filter, reviewer], justify="start")
    return reviewer, status_filter, trait_filter


@app.cell
def _(
    QueueFilter,
    SCORES,
    count_queue,
    get_decisions,
    get_runs,
    mo,
    project,
    queue_page,
    status_filter,
    trait_filter,
):
    get_runs(), get_decisions()  # re-read after every run and decision
    shown = QueueFilter(stage="documents", statuses=tuple(status_filter.value), chunk_id=trait_filter.value or None)
    _total = count_queue(project, shown)
    shown_rows = queue_page(project, shown, limit=500)
    documents = mo.ui.table(
        [
            {
                "id": r.id,
                "trait": r.trait,
                "status": r.status,
                "origin": r.origin,
                **{s: (r.scores or {}).get(s) for s in SCORES},
                "document": r.preview,
            }
            for r in shown_rows
        ],
        selection="single",
        initial_selection=[0] if shown_rows else None,
        page_size=10,
    )
    mo.vstack([mo.md(f"**{_total}** document(s) match; {len(shown_rows)} listed."), documents])
    return documents, shown, shown_rows


@app.cell
def _(dataclasses, document_panes, documents, focus_item, mo, project):
    mo.stop(not documents.value, mo.md("_Select a document in the table to read its stages._"))
    item = focus_item(project, "documents", documents.value[0]["id"])
    panes = document_panes(item)
    _about = f"{item.trait} · {item.status} · {item.origin}" + (f"\nReason: {item.reason}" if item.reason else "")
    mo.vstack(
        [
            mo.plain_text(f"Document {item.id}\n{_about}"),
            mo.hstack(
                [
                    mo.vstack(
                        [mo.md(f"**{p.label}**"), mo.plain_text(f"[{p.status}]\n{p.text}").style({"overflow": "auto"})]
                    )
                    for p in panes
                ],
                widths="equal",
                align="start",
            ),
            mo.md("**Review history**"),
            mo.ui.table([dataclasses.asdict(e) for e in item.events], selection=None)
            if item.events
            else mo.md("_No decision recorded yet._"),
        ]
    )
    return item, panes


@app.cell
def _(item, mo):
    action = mo.ui.radio(
        options={
            "accept": "accept",
            "reject": "reject",
            "edit": "edit",
            "note": "note",
            "send back for regeneration": "regenerate",
        },
        value="accept",
        inline=True,
        label="Decision",
    )
    note = mo.ui.text(label="Note (needed to send back or to annotate)", full_width=True)
    edited = mo.ui.text_area(
        value=item.fields.get("text") or "", label="Edited text (for edit)", full_width=True, rows=6
    )
    decide = mo.ui.run_button(label="Record decision")
    mo.vstack([action, note, edited, decide])
    return action, decide, edited, note


@app.cell
def _(
    action,
    decide,
    edited,
    item,
    mo,
    nb,
    note,
    project,
    review,
    reviewer,
    set_decisions,
):
    # Unattended, the default decision (accept) is recorded for the first document listed, and "Accept all
    # shown" below takes the rest. No mo.stop here: the projection waits on `decided` and `accepted`, so
    # the full run comes after the review, yet an unpressed button holds nothing back.
    decided = None
    if nb.should_run(decide):
        with nb.shown_errors():
            decided = review(
                project.store, "documents", item.id, action.value, reviewer=reviewer.value,
                note=note.value or None, edits={"text": edited.value} if action.value == "edit" else None,
            )  # fmt: skip
        set_decisions(lambda n: n + 1)
    mo.md(
        f"Recorded **{action.value}**; the current row is `{decided}`."
        if decided
        else "Press **Record decision** to apply it to this document."
    )
    return (decided,)


@app.cell
def _(mo):
    accept_all = mo.ui.run_button(label="Accept all shown")
    accept_all
    return (accept_all,)


@app.cell
def _(
    accept_all,
    decided,
    mo,
    nb,
    project,
    review_queue,
    reviewer,
    set_decisions,
    shown,
):
    decided  # after the single decision above, which may have taken one of the rows listed
    accepted = None
    if nb.should_run(accept_all):
        with nb.shown_errors():
            accepted = review_queue(project, shown, "accept", reviewer=reviewer.value)
        set_decisions(lambda n: n + 1)
    mo.md(
        f"Accepted **{len(accepted.current_ids)}** document(s); undo with `workbench undo {accepted.batch_id}`."
        if accepted
        else "Press **Accept all shown** to accept every document listed."
    )
    return (accepted,)


@app.cell
def _(mo, nb, project):
    mo.md("## The full run")
    # Unattended (script, pytest) the full run stays small; a person starts from the project's [docs] per_type.
    full_size = mo.ui.number(
        start=1,
        stop=10_000,
        value=2 if nb.unattended() else project.config.docs.per_type,
        label="Full run: documents per trait and type",
    )
    full_size
    return (full_size,)


@app.cell
def _(
    accepted,
    chunks,
    decided,
    full_size,
    get_runs,
    mo,
    nb,
    project,
    project_docs_cost,
    projection_rows,
    types,
    version,
):
    get_runs()  # the projection follows what the runs have measured
    accepted, decided  # and comes after this round of review, so the full run does too
    with nb.shown_errors(kind="warn"):
        projection = project_docs_cost(
            project, version.value.ref, chunk_keys=chunks.value, per_type=int(full_size.value), types=types.value
        )
    _cost = "unknown (no price for a model)" if projection.cost_usd is None else f"${projection.cost_usd:.4f}"
    _cap = "no cap" if projection.budget_usd is None else f"${projection.budget_usd:.2f} per run"
    mo.vstack(
        [
            mo.md(
                f"**Projection:** {projection.remaining_slots} document slot(s) to fill, from per-slot averages over "
                f"the {projection.measured_slots} measured so far: ~{projection.calls:.0f} calls, "
                f"~{projection.tokens:,.0f} tokens, **{_cost}** (budget: {_cap})."
            ),
            mo.ui.table(projection_rows(projection), selection=None),
            *(
                [mo.md("_Nothing left to fill at this size: raise the number above (default: `[docs] per_type`)._")]
                if projection.remaining_slots == 0
                else []
            ),
            *(
                [
                    mo.callout(
                        mo.md("Not measured yet, so not in the totals: " + ", ".join(projection.unmeasured)),
                        kind="warn",
                    )
                ]
                if projection.unmeasured
                else []
            ),
        ]
    )
    return (projection,)


@app.cell
def _(mo):
    run_full = mo.ui.run_button(label="Run full")
    run_full
    return (run_full,)


@app.cell
async def _(
    chunks,
    full_size,
    mo,
    nb,
    project,
    projection,
    run_docs,
    run_full,
    set_runs,
    types,
    version,
):
    mo.stop(
        not nb.should_run(run_full),
        mo.md(
            f"Press **Run full** to fill {projection.remaining_slots} slot(s); the project's [budget] caps the spend."
        ),
    )
    with nb.stage() as _progress:
        full = await run_docs(
            project, version.value.ref, chunk_keys=chunks.value, per_type=int(full_size.value), types=types.value,
            progress=_progress,
        )  # fmt: skip
    set_runs(lambda n: n + 1)
    nb.run_report(
        f"**Full run `{full.run_id}`**: {full.awaiting_review} document(s) await review (the table above).",
        full.steps,
        full.stopped_budget,
    )
    return (full,)


@app.cell
def _(
    accepted,
    chunks,
    decided,
    full,
    item,
    panes,
    pilot,
    pilot_size,
    project,
    projection,
    reviewer,
    shown_rows,
    types,
):
    def test_the_pilot_wrote_every_chosen_slot_through_all_four_steps():
        with project.store.connect() as con:
            written = con.execute(
                "SELECT count(*) FROM documents WHERE run_id = ? AND brainstorm_id IS NOT NULL"
                " AND draft_id IS NOT NULL AND critique_id IS NOT NULL AND rewrite_id IS NOT NULL"
                " AND chunk_id IN (SELECT unnest(?)) AND doc_type IN (SELECT unnest(?))",
                [pilot.run_id, list(chunks.value), list(types.value)],
            ).fetchall()
        assert written == [(len(chunks.value) * len(types.value) * int(pilot_size.value),)]
        assert [s.step for s in pilot.steps] == ["brainstorm", "draft", "critique", "rewrite", "rating", "dedup"]

    def test_the_table_listed_exactly_what_the_pilot_left_for_review():
        with project.store.connect() as con:
            reviewed = con.execute(
                "SELECT DISTINCT d.id FROM documents d JOIN review_events e ON e.item_id = d.id WHERE d.run_id = ?",
                [pilot.run_id],
            ).fetchall()
        assert {r.status for r in shown_rows} == {"needs_review"}
        assert len(shown_rows) == pilot.awaiting_review == len(reviewed) > 0
        assert {r.id for r in shown_rows} == {r[0] for r in reviewed}

    def test_the_panes_show_the_selected_documents_own_lineage():
        with project.store.connect() as con:
            brainstorm_id, what, enters, draft, reasons, text = con.execute(
                "SELECT b.id, b.parsed ->> 'what', b.parsed ->> 'why_enters_text', g.text, c.parsed ->> 'reasons',"
                " d.text FROM documents d JOIN doc_generations b ON b.id = d.brainstorm_id"
                " JOIN doc_generations g ON g.id = d.draft_id JOIN doc_generations c ON c.id = d.critique_id"
                " WHERE d.id = ?",
                [item.id],
            ).fetchone()
        assert item.id == shown_rows[0].id
        assert [p.label for p in panes] == ["Brainstorm", "Draft", "Critique", "Final text"]
        assert panes[0].generation_id == brainstorm_id
        assert f"What: {what}" in panes[0].text and f"How the why enters the text: {enters}" in panes[0].text
        assert panes[1].text == draft and f"Reasons: {reasons}" in panes[2].text and panes[3].text == text

    def test_each_acceptance_is_a_review_event_by_the_reviewer():
        shown_ids = [r.id for r in shown_rows]
        with project.store.connect() as con:
            single = con.execute("SELECT action, reviewer FROM review_events WHERE item_id = ?", [decided]).fetchall()
            batch = con.execute(
                "SELECT item_id, action, reviewer FROM review_events WHERE batch_id = ?", [accepted.batch_id]
            ).fetchall()
            statuses = con.execute(
                "SELECT DISTINCT status FROM documents WHERE id IN (SELECT unnest(?))", [shown_ids]
            ).fetchall()
        assert decided == item.id and single == [("accept", reviewer.value)]
        assert set(accepted.current_ids) == set(shown_ids) - {item.id}
        assert sorted(batch) == sorted((i, "accept", reviewer.value) for i in accepted.current_ids)
        assert statuses == [("ok",)]

    def test_the_full_run_filled_the_slots_the_projection_counted():
        with project.store.connect() as con:
            made = con.execute("SELECT count(*) FROM documents WHERE run_id = ?", [full.run_id]).fetchone()[0]
        assert projection.measured_slots == len(chunks.value) * len(types.value) * int(pilot_size.value)
        assert projection.remaining_slots > 0 and projection.cost_usd and projection.cost_usd > 0
        assert made == projection.remaining_slots

    return


if __name__ == "__main__":
    app.run()
