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
    import marimo as mo

    from workbench import notebook as nb
    from workbench.generate.docs_pipeline import run_docs
    from workbench.review import default_reviewer
    from workbench.views import documents as docs
    from workbench.views import queue
    from workbench.views.focus import focus_item
    from workbench.views.projections import docs_projection

    return (
        default_reviewer,
        docs,
        docs_projection,
        focus_item,
        mo,
        nb,
        queue,
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
def _(docs, mo, nb, project, version):
    chunks = nb.trait_picker(project.store, version.value)
    _types = docs.type_options(project.config.docs.types)
    types = mo.ui.multiselect(
        options=_types, value=list(_types), label="Document types ([docs] types)", full_width=True
    )
    pilot_size = mo.ui.number(start=1, stop=20, value=1, label="Pilot: documents per trait and type")
    mo.vstack([chunks, types, pilot_size])
    return chunks, pilot_size, types


@app.cell
def _(chunks, docs, mo, pilot_size, types, version):
    mo.stop(not chunks.value or not types.value, mo.md("Choose at least one trait and one document type."))
    choice = docs.DocsChoice(version.value.ref, list(chunks.value), list(types.value))
    run_pilot = mo.ui.run_button(label="Run the pilot")
    _slots = choice.slots(int(pilot_size.value))
    mo.vstack([mo.md(f"The pilot fills **{_slots}** document slot(s); filled ones are kept."), run_pilot])
    return choice, run_pilot


@app.cell
async def _(
    choice,
    mo,
    nb,
    pilot_size,
    project,
    run_docs,
    run_pilot,
    set_runs,
):
    _press = "Press **Run the pilot**: brainstorm, draft, critique, rewrite, rate, dedup."
    mo.stop(not nb.should_run(run_pilot), mo.md(_press))
    with nb.stage() as _progress:
        pilot = await run_docs(
            project, choice.traits_ref, chunk_keys=choice.chunk_keys, per_type=int(pilot_size.value),
            types=choice.types, progress=_progress,
        )  # fmt: skip
    set_runs(lambda n: n + 1)
    _headline = f"**Pilot run `{pilot.run_id}`**: {pilot.awaiting_review} document(s) await review."
    nb.run_report(_headline, pilot.steps, pilot.stopped_budget)
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
def _(default_reviewer, docs, get_runs, mo, project, queue):
    get_runs()  # a run brings new statuses and traits to filter on
    _choices = docs.queue_choices(queue.queue_options(project, "documents"))
    statuses = mo.ui.multiselect(
        options=_choices.statuses, value=_choices.awaiting, label="Status (none chosen: every status)"
    )
    trait = mo.ui.dropdown(options=_choices.traits, value=docs.EVERY_TRAIT, label="Trait")
    reviewer = mo.ui.text(value=default_reviewer(), label="Reviewer")
    mo.hstack([statuses, trait, reviewer], justify="start")
    return reviewer, statuses, trait


@app.cell
def _(docs, get_decisions, get_runs, mo, project, queue, statuses, trait):
    get_runs(), get_decisions()  # re-read after every run and decision
    shown = queue.QueueFilter(stage="documents", statuses=tuple(statuses.value), chunk_id=trait.value or None)
    _total = queue.count_queue(project, shown)
    shown_rows = queue.queue_page(project, shown, limit=500)
    documents = mo.ui.table(
        docs.document_rows(shown_rows), selection="single", initial_selection=[0] if shown_rows else None, page_size=10
    )
    mo.vstack([mo.md(f"**{_total}** document(s) match; {len(shown_rows)} listed."), documents])
    return documents, shown, shown_rows


@app.cell
def _(docs, documents, focus_item, mo, project):
    mo.stop(not documents.value, mo.md("_Select a document in the table to read its stages._"))
    item = focus_item(project, "documents", documents.value[0]["id"])
    panes = docs.document_panes(item)
    _stages = [
        mo.vstack([mo.md(f"**{p.label}**"), mo.plain_text(f"[{p.status}]\n{p.text}").style({"overflow": "auto"})])
        for p in panes
    ]
    mo.vstack(
        [
            mo.plain_text(docs.document_heading(item)),
            mo.hstack(_stages, widths="equal", align="start"),
            mo.md("**Review history**"),
            mo.ui.table(docs.history_rows(item), selection=None)
            if item.events
            else mo.md("_No decision recorded yet._"),
        ]
    )
    return item, panes


@app.cell
def _(docs, item, mo):
    decision = mo.ui.dictionary(
        {
            "action": mo.ui.radio(options=docs.DECISIONS, value="accept", inline=True, label="Decision"),
            "note": mo.ui.text(label="Note (needed to send back or to annotate)", full_width=True),
            "edited_text": mo.ui.text_area(
                value=item.fields.get("text") or "", label="Edited text (for edit)", full_width=True, rows=6
            ),
        }
    )
    decide = mo.ui.run_button(label="Record decision")
    mo.vstack([decision.vstack(), decide])
    return decide, decision


@app.cell
def _(decide, decision, docs, item, mo, nb, project, reviewer, set_decisions):
    # Unattended, the default decision (accept) is recorded for the first document listed, and "Accept all
    # shown" below takes the rest. No mo.stop here: the projection waits on `decided` and `accepted`, so
    # the full run comes after the review, yet an unpressed button holds nothing back.
    decided = None
    if nb.should_run(decide):
        with nb.shown_errors():
            decided = docs.record_decision(project, item.id, reviewer=reviewer.value, **decision.value)
        set_decisions(lambda n: n + 1)
    mo.md(docs.decision_line(decision.value["action"], decided))
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
    docs,
    mo,
    nb,
    project,
    queue,
    reviewer,
    set_decisions,
    shown,
):
    decided  # after the single decision above, which may have taken one of the rows listed
    accepted = None
    if nb.should_run(accept_all):
        with nb.shown_errors():
            accepted = queue.review_queue(project, shown, "accept", reviewer=reviewer.value)
        set_decisions(lambda n: n + 1)
    mo.md(docs.acceptance_line(accepted))
    return (accepted,)


@app.cell
def _(mo, nb, project):
    mo.md("## The full run")
    # Unattended (script, pytest) the full run stays small; a person starts from the project's [docs] per_type.
    _default = 2 if nb.unattended() else project.config.docs.per_type
    full_size = mo.ui.number(start=1, stop=10_000, value=_default, label="Full run: documents per trait and type")
    full_size
    return (full_size,)


@app.cell
def _(accepted, choice, docs_projection, full_size, get_runs, mo, nb, project):
    get_runs()  # the projection follows what the runs have measured
    accepted  # and comes after this round of review (which comes after `decided`), so the full run does too
    with nb.shown_errors(kind="warn"):
        projection = docs_projection(project, choice, int(full_size.value))
    _warnings = [mo.callout(mo.plain_text(w), kind="warn") for w in projection.warnings]
    _table = mo.ui.table(projection.rows, selection=None)
    mo.vstack([mo.md(projection.summary), _table, *map(mo.md, projection.notes), *_warnings])
    return (projection,)


@app.cell
def _(mo):
    run_full = mo.ui.run_button(label="Run full")
    run_full
    return (run_full,)


@app.cell
async def _(
    choice,
    full_size,
    mo,
    nb,
    project,
    projection,
    run_docs,
    run_full,
    set_runs,
):
    _press = (
        f"Press **Run full** to fill {projection.cost.remaining_slots} slot(s); the project's [budget] caps the spend."
    )
    mo.stop(not nb.should_run(run_full), mo.md(_press))
    with nb.stage() as _progress:
        full = await run_docs(
            project, choice.traits_ref, chunk_keys=choice.chunk_keys, per_type=int(full_size.value),
            types=choice.types, progress=_progress,
        )  # fmt: skip
    set_runs(lambda n: n + 1)
    _headline = f"**Full run `{full.run_id}`**: {full.awaiting_review} document(s) await review (the table above)."
    nb.run_report(_headline, full.steps, full.stopped_budget)
    return (full,)


@app.cell
def _(
    accepted,
    choice,
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
):
    def test_the_pilot_wrote_every_chosen_slot_through_all_four_steps():
        with project.store.connect() as con:
            written = con.execute(
                "SELECT count(*) FROM documents WHERE run_id = ? AND brainstorm_id IS NOT NULL"
                " AND draft_id IS NOT NULL AND critique_id IS NOT NULL AND rewrite_id IS NOT NULL"
                " AND chunk_id IN (SELECT unnest(?)) AND doc_type IN (SELECT unnest(?))",
                [pilot.run_id, choice.chunk_keys, choice.types],
            ).fetchall()
        assert written == [(len(choice.chunk_keys) * len(choice.types) * int(pilot_size.value),)]
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
        assert projection.cost.measured_slots == len(choice.chunk_keys) * len(choice.types) * int(pilot_size.value)
        assert projection.cost.remaining_slots > 0 and projection.cost.cost_usd and projection.cost.cost_usd > 0
        assert made == projection.cost.remaining_slots

    return


if __name__ == "__main__":
    app.run()
