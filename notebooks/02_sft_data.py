"""Stage 2: SFT data. Pick traits, run a pilot to the human gate, review its scenarios inline,
generate responses, read the autorater and dedup results, then project and run the full set.

    marimo edit notebooks/02_sft_data.py    # the walk, one run button at a time
    python notebooks/02_sft_data.py         # unattended: pilot, accept all shown, responses, full run

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). Every step works on
what is missing, so pressing a button again after a budget stop or a round of review continues
where things stand; spend is capped per run by the project's `[budget]`, as for the CLI.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import dataclasses
    from collections import Counter

    import marimo as mo

    from workbench import notebook as nb
    from workbench.generate.cost import project_sft_cost
    from workbench.generate.pipeline import run_sft
    from workbench.review import default_reviewer, review, review_many
    from workbench.views.queue import QueueFilter, queue_ids
    from workbench.views.runs import projection_rows
    from workbench.views.sft_pilot import example_rows, scenario_rows

    return (
        Counter,
        QueueFilter,
        dataclasses,
        default_reviewer,
        example_rows,
        mo,
        nb,
        project_sft_cost,
        projection_rows,
        queue_ids,
        review,
        review_many,
        run_sft,
        scenario_rows,
    )


@app.cell
def _(mo):
    mo.md("""
    # 2 · SFT data

    A **pilot** writes a few scenarios per trait, a baseline answer to each and the critic's verdict,
    then stops at the **human gate**: accept, reject or edit the scenarios below. **Generate
    responses** answers the accepted ones with the trait in the system prompt, refines, rates and
    deduplicates them. The cost of a **full run** is projected from what the pilot measured.
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
    versions = nb.stored_versions(project)
    return project, versions


@app.cell
def _(nb, versions):
    version_pick = nb.version_picker(versions)
    version_pick
    return (version_pick,)


@app.cell
def _(default_reviewer, mo, nb, project, version_pick):
    trait_pick = nb.trait_picker(project.store, version_pick.value)
    pilot_size = mo.ui.number(start=1, stop=50, value=2, label="Pilot: scenarios per trait")
    reviewer = mo.ui.text(value=default_reviewer(), label="Reviewer")
    pilot_button = mo.ui.run_button(label="Run the pilot")
    mo.vstack([trait_pick, mo.hstack([pilot_size, reviewer], justify="start"), pilot_button])
    return pilot_button, pilot_size, reviewer, trait_pick


@app.cell
async def _(
    mo,
    nb,
    pilot_button,
    pilot_size,
    project,
    run_sft,
    trait_pick,
    version_pick,
):
    mo.stop(not trait_pick.value, mo.md("Choose at least one trait."))
    mo.stop(not nb.should_run(pilot_button), mo.md("Press **Run the pilot** to write scenarios up to the gate."))
    with nb.stage() as _progress:
        # Only the steps before the gate: a project that auto-approves scenarios must still stop here.
        pilot = await run_sft(
            project, version_pick.value.ref, chunk_keys=trait_pick.value, scenarios=pilot_size.value,
            steps=["scenarios", "critique"], progress=_progress,
        )  # fmt: skip
    nb.run_report(
        f"Pilot run `{pilot.run_id}`: **{pilot.scenarios_awaiting_review}** scenarios await review.",
        pilot.steps,
        pilot.stopped_budget,
    )
    return (pilot,)


@app.cell
def _(mo):
    # The last decision (action, ids, reviewer): setting it makes the review table read the store again.
    get_decided, set_decided = mo.state(None)
    reload = mo.ui.button(label="Reload the table")
    return get_decided, reload, set_decided


@app.cell
def _(
    dataclasses,
    get_decided,
    mo,
    pilot,
    project,
    reload,
    scenario_rows,
    trait_pick,
    version_pick,
):
    _last = get_decided()
    reload.value  # re-read the store on request, too
    waiting = scenario_rows(project, version_pick.value.id, trait_pick.value)
    scenario_table = mo.ui.table(
        [dataclasses.asdict(r) for r in waiting], selection="multi", page_size=10, label="Awaiting review"
    )
    everything = scenario_rows(project, version_pick.value.id, trait_pick.value, statuses=())
    mo.vstack(
        [
            mo.md(
                f"### The gate\n\n**{len(waiting)}** scenarios await review (the pilot left "
                f"{pilot.scenarios_awaiting_review}). Each shows the critic's verdict and the baseline answer it read."
            ),
            # The reviewer's name is typed text: shown plain, never as Markdown.
            mo.plain_text(f"Last decision: {_last[0]} of {len(_last[1])} scenario(s) by {_last[2]}.")
            if _last
            else mo.md(""),
            scenario_table,
            reload,
            mo.accordion(
                {
                    f"Every current scenario of these traits ({len(everything)}), with the critic's drops": mo.ui.table(
                        [dataclasses.asdict(r) for r in everything], selection=None, page_size=10
                    )
                }
            ),
        ]
    )
    return scenario_table, waiting


@app.cell
def _(mo):
    accept_selected = mo.ui.run_button(label="Accept selected")
    reject_selected = mo.ui.run_button(label="Reject selected", kind="danger")
    accept_all = mo.ui.run_button(label="Accept all shown", kind="success")
    note = mo.ui.text(label="Note (kept with the decision)", full_width=True)
    mo.vstack([mo.hstack([accept_selected, reject_selected, accept_all], justify="start"), note])
    return accept_all, accept_selected, note, reject_selected


@app.cell
def _(mo, scenario_table):
    # An edit changes one scenario: the form appears when exactly one row is selected.
    _chosen = scenario_table.value
    edit_form = (
        mo.ui.text_area(value=_chosen[0]["user_prompt"] or "", label="User prompt", full_width=True, rows=6).form(
            submit_button_label="Save the edit (accepts the edited copy)"
        )
        if len(_chosen) == 1
        else None
    )
    edit_form if edit_form is not None else mo.md("_Select one scenario to edit its prompt._")
    return (edit_form,)


@app.cell
def _(
    accept_all,
    accept_selected,
    edit_form,
    nb,
    note,
    project,
    reject_selected,
    review,
    review_many,
    reviewer,
    scenario_table,
    set_decided,
    waiting,
):
    # Every decision is an append-only review event with the reviewer's name (workbench/review.py).
    _selected = [row["id"] for row in scenario_table.value]
    _note = note.value.strip() or None
    decision = None
    with nb.shown_errors():
        # The buttons first: a submitted form keeps its value until the selection changes.
        if accept_selected.value and _selected:
            decision = ("accept", review_many(project.store, "sft_scenarios", _selected, "accept",
                                              reviewer=reviewer.value, note=_note).current_ids)  # fmt: skip
        elif reject_selected.value and _selected:
            decision = ("reject", review_many(project.store, "sft_scenarios", _selected, "reject",
                                              reviewer=reviewer.value, note=_note).current_ids)  # fmt: skip
        elif nb.should_run(accept_all) and waiting:
            _ids = [r.id for r in waiting]
            decision = ("accept", review_many(project.store, "sft_scenarios", _ids, "accept",
                                              reviewer=reviewer.value, note=_note).current_ids)  # fmt: skip
        elif edit_form is not None and edit_form.value is not None and len(_selected) == 1:
            _new = review(
                project.store, "sft_scenarios", _selected[0], "edit", reviewer=reviewer.value, note=_note,
                edits={"user_prompt": edit_form.value},
            )  # fmt: skip
            decision = ("edit", [_new])
    if decision is not None:
        set_decided((*decision, reviewer.value))  # the table above reloads and says what was recorded
    return (decision,)


@app.cell
def _(mo):
    generate_button = mo.ui.run_button(label="Generate responses")
    generate_button
    return (generate_button,)


@app.cell
async def _(
    decision,
    generate_button,
    mo,
    nb,
    pilot_size,
    project,
    run_sft,
    trait_pick,
    version_pick,
):
    decision  # after the gate's decisions: the accepted scenarios are what this answers
    mo.stop(not nb.should_run(generate_button), mo.md("Press **Generate responses** for the accepted scenarios."))
    with nb.stage() as _progress:
        generated = await run_sft(
            project, version_pick.value.ref, chunk_keys=trait_pick.value, scenarios=pilot_size.value,
            steps=["respond", "refine", "reject", "rate", "dedup"], progress=_progress,
        )  # fmt: skip
    nb.run_report(
        f"Run `{generated.run_id}`: **{generated.examples_awaiting_review}** examples await review.",
        generated.steps,
        generated.stopped_budget,
    )
    return (generated,)


@app.cell
def _(
    Counter,
    dataclasses,
    example_rows,
    generated,
    mo,
    project,
    trait_pick,
    version_pick,
):
    generated  # read after the responses were written
    examples = example_rows(project, version_pick.value.id, trait_pick.value)
    _counts = " · ".join(f"{status} {n}" for status, n in sorted(Counter(e.status for e in examples).items()))
    mo.vstack(
        [
            mo.md(
                f"### Examples\n\n**{len(examples)}** examples: {_counts or 'none'}. Under a threshold is "
                "`filtered` (the reason names the score); `duplicate` names the earlier example it repeats. "
                "Review the rest on the app's **Review** page or with `workbench sft review`."
            ),
            mo.ui.table([dataclasses.asdict(e) for e in examples], selection=None, page_size=10),
        ]
    )
    return (examples,)


@app.cell
def _(mo, project):
    full_size = mo.ui.number(
        start=1, stop=10_000, value=project.config.sft.scenarios_per_chunk, label="Full run: scenarios per trait"
    )
    full_size
    return (full_size,)


@app.cell
def _(
    full_size,
    generated,
    mo,
    nb,
    project,
    project_sft_cost,
    projection_rows,
    trait_pick,
    version_pick,
):
    generated  # project from what the pilot measured, responses included
    with nb.shown_errors(kind="warn"):
        projection = project_sft_cost(
            project, version_pick.value.ref, chunk_keys=trait_pick.value, scenarios=full_size.value
        )
    _cost = projection.cost_usd
    _cap = projection.budget_usd
    mo.vstack(
        [
            mo.md(
                f"### Projected cost of the full run\n\n**{projection.remaining_slots}** scenario slots to fill, "
                f"from per-slot averages over the {projection.measured_slots} measured: "
                f"**{projection.calls:,.0f} calls**, {projection.tokens:,.0f} tokens, "
                + ("cost unpriced (a model has no `[prices]` entry)" if _cost is None else f"**{_cost:,.4f} USD**")
                + (f"; cap {_cap:,.2f} USD for this piece of work." if _cap is not None else "; no budget cap.")
            ),
            mo.ui.table(projection_rows(projection), selection=None),
            mo.callout(
                mo.md("Not measured yet, so not in the totals: " + ", ".join(f"`{s}`" for s in projection.unmeasured)),
                kind="warn",
            )
            if projection.unmeasured
            else mo.md(""),
            mo.callout(mo.md("Over the cap: the run will stop cleanly there; press again to continue."), kind="warn")
            if _cost is not None and _cap is not None and _cost > _cap
            else mo.md(""),
        ]
    )
    return (projection,)


@app.cell
def _(mo):
    full_button = mo.ui.run_button(label="Run full", kind="warn")
    full_button
    return (full_button,)


@app.cell
async def _(
    full_button,
    full_size,
    mo,
    nb,
    project,
    projection,
    run_sft,
    trait_pick,
    version_pick,
):
    projection  # the projection is on screen before this can run
    mo.stop(not nb.should_run(full_button), mo.md("Check the projection, then press **Run full**."))
    with nb.stage() as _progress:
        full_report = await run_sft(
            project, version_pick.value.ref, chunk_keys=trait_pick.value, scenarios=full_size.value,
            progress=_progress,
        )  # fmt: skip
    nb.run_report(
        f"Full run `{full_report.run_id}`: **{full_report.scenarios_awaiting_review}** scenarios and "
        f"**{full_report.examples_awaiting_review}** examples await review. New scenarios stop at the "
        "gate: **Reload the table** above, decide, then **Generate responses** again.",
        full_report.steps,
        full_report.stopped_budget,
    )
    return (full_report,)


@app.cell
def _(
    QueueFilter,
    decision,
    examples,
    full_report,
    full_size,
    pilot,
    pilot_size,
    project,
    projection,
    queue_ids,
    reviewer,
    scenario_rows,
    trait_pick,
    version_pick,
    waiting,
):
    def test_the_gate_showed_every_scenario_the_pilot_left_with_its_critique_and_baseline():
        assert pilot.scenarios_awaiting_review == len(waiting) > 0
        assert all(r.status == "needs_review" and r.verdict and r.critique and r.baseline for r in waiting)

    def test_accepting_all_shown_recorded_the_reviewer_on_exactly_those_scenarios():
        action, ids = decision
        assert action == "accept" and ids == [r.id for r in waiting]
        by_reviewer = QueueFilter(stage="scenarios", statuses=("ok",), reviewer=reviewer.value)
        assert set(queue_ids(project, by_reviewer)) == set(ids)

    def test_the_examples_table_is_every_example_each_rated_and_duplicates_point_at_a_kept_one():
        everything = QueueFilter(stage="examples", statuses=())
        assert {e.id for e in examples} == set(queue_ids(project, everything))
        assert len(examples) == len(decision[1]), "one example per accepted scenario"
        assert all(None not in (e.realism, e.quality, e.embodiment, e.leakage) for e in examples)
        kept = {e.id for e in examples if e.status != "duplicate"}
        assert all(e.duplicate_of in kept and e.similarity for e in examples if e.status == "duplicate")
        assert all(e.reason for e in examples if e.status in ("filtered", "duplicate"))

    def test_the_projection_and_the_full_run_cover_the_same_slots():
        traits = len(trait_pick.value)
        assert projection.remaining_slots == traits * max(full_size.value - pilot_size.value, 0) > 0
        assert projection.unmeasured == [] and projection.calls > 0, "responses measured every stage"
        assert not full_report.stopped_budget
        current = scenario_rows(project, version_pick.value.id, trait_pick.value, statuses=())
        assert len({(r.trait, r.slot) for r in current}) == traits * full_size.value

    return


if __name__ == "__main__":
    app.run()
