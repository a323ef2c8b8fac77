"""Stage 5: build a training dataset (synthetic rows mixed with a baseline), train on it, watch the loss live.

    marimo edit notebooks/05_train.py       # build, launch, and watch the charts redraw while it trains
    python notebooks/05_train.py            # unattended: builds, trains with the defaults, waits for the end

The project comes from the form (default: $WORKBENCH_PROJECT, else data/). Training runs in a
`workbench train …` process of its own, so this notebook stays responsive while it trains: its
metrics stream into the store, and the charts below re-read them on a timer until it ends.
The base model defaults to the project's `baseline` role (the model being trained), and for SFT
to the latest finished midtraining checkpoint when there is one; a midtraining base that looks
post-trained gets a warning before launch. Baseline data files are offered from the project's
baselines/ folder.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    from workbench import notebook as nb
    from workbench.datasets import DatasetRecipe, build_dataset
    from workbench.errors import WorkbenchError
    from workbench.store.traits import list_versions
    from workbench.train.checks import DATASET_KIND
    from workbench.train.config import CONFIGS, METHODS
    from workbench.train.defaults import base_model_warning
    from workbench.train.launch import (
        baseline_files,
        default_base_model,
        launch_state,
        launch_training,
        stop_training,
        wait_for_launch,
    )
    from workbench.train.tracking import list_checkpoints, run_metrics
    from workbench.views.datasets import dataset_composition, train_dataset_summaries
    from workbench.views.training import metric_figures, refresh_every

    return (
        CONFIGS,
        DATASET_KIND,
        DatasetRecipe,
        METHODS,
        WorkbenchError,
        base_model_warning,
        baseline_files,
        build_dataset,
        dataset_composition,
        default_base_model,
        launch_state,
        launch_training,
        list_checkpoints,
        list_versions,
        metric_figures,
        mo,
        nb,
        refresh_every,
        run_metrics,
        stop_training,
        train_dataset_summaries,
        wait_for_launch,
    )


@app.cell
def _(mo):
    mo.md("""
    # 5 · Train

    First the **training dataset**: the accepted rows of one kind, mixed with baseline data at a
    synthetic fraction, shuffled and split with a seed, and frozen (the same recipe over the same
    rows is the same dataset). Then the **run**: a method that fits the dataset's kind, a base
    model (a hub name, a local folder, or `checkpoint:ID` to continue from one of this project's
    checkpoints) and a few settings. The run trains in the background; its charts redraw live.
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
def _(mo):
    mo.md("""
    ## The training dataset
    """)
    return


@app.cell
def _(baseline_files, list_versions, mo, project):
    versions = list_versions(project.store)
    traits_options = {"every traits version": None} | {
        name: name for name in dict.fromkeys([*(v.document for v in versions), *(v.ref for v in versions)])
    }
    offered = baseline_files(project)
    dataset_name = mo.ui.text(value="train-mix", label="Name")
    kind = mo.ui.dropdown(
        options={"sft (chats)": "sft", "preference (DPO pairs)": "preference", "documents (midtraining)": "midtrain"},
        value="sft (chats)",
        label="Kind",
    )
    traits = mo.ui.dropdown(options=traits_options, value="every traits version", label="Traits")
    baseline = mo.ui.text(
        value=str(offered[0]) if offered else "",
        label="Baseline (a .jsonl/.parquet file, a saved dataset folder or a Hugging Face name; empty: none)",
        full_width=True,
    )
    seed = mo.ui.number(start=0, stop=2**31 - 1, step=1, value=0, label="Seed")
    mo.vstack([mo.hstack([dataset_name, kind, traits, seed], justify="start"), baseline])
    return baseline, dataset_name, kind, seed, traits


@app.cell
def _(baseline, mo):
    # Without a baseline every row is synthetic; with one, half and half is the usual start.
    fraction = mo.ui.slider(
        start=0.05, stop=1.0, step=0.05, value=0.5 if baseline.value.strip() else 1.0,
        label="Synthetic fraction of the mix", show_value=True,
    )  # fmt: skip
    build = mo.ui.run_button(label="Build dataset")
    mo.hstack([fraction, build], justify="start")
    return build, fraction


@app.cell
def _(
    DatasetRecipe,
    WorkbenchError,
    baseline,
    build,
    build_dataset,
    dataset_name,
    fraction,
    kind,
    mo,
    nb,
    project,
    seed,
    traits,
):
    # Not mo.stop: the chooser below must list the stored datasets whether or not one is built now.
    built, problem = None, None
    if nb.should_run(build):
        try:
            _recipe = DatasetRecipe(
                name=dataset_name.value, kind=kind.value, traits_ref=traits.value,
                baseline=baseline.value.strip() or None, synthetic_fraction=fraction.value, seed=int(seed.value),
            )  # fmt: skip
            built = build_dataset(project, _recipe)
        except WorkbenchError as e:
            problem = str(e)
    if problem:
        _shown = mo.callout(mo.plain_text(problem), kind="danger")
    elif built is None:
        _shown = mo.md("Press **Build dataset** to freeze this recipe, or choose a stored dataset below.")
    else:
        _counts = built.manifest["counts"]
        _shown = mo.vstack(
            [
                mo.md(
                    f"Built `{built.id[:12]}`: {built.train_rows} train, {built.validation_rows} validation rows; "
                    f"synthetic fraction {built.manifest['synthetic_fraction']:.3f} (asked {fraction.value})."
                ),
                mo.ui.table([{"split": s} | c for s, c in _counts.items()], selection=None),
            ]
        )
    _shown
    return (built,)


@app.cell
def _(built, mo, project, train_dataset_summaries):
    summaries = {s.id: s for s in train_dataset_summaries(project)}
    mo.stop(not summaries, mo.md("_No training dataset yet: build one above._"))
    _labels = {f"{s.name} · {s.kind} · {s.id[:12]}": s.id for s in summaries.values()}
    chosen = mo.ui.dropdown(
        options=_labels,
        value=next(label for label, i in _labels.items() if i == (built.id if built else next(iter(summaries)))),
        label="Train on",
        full_width=True,
    )
    chosen
    return chosen, summaries


@app.cell
def _(chosen, dataset_composition, mo, project, summaries):
    dataset = summaries[chosen.value]
    composition = dataset_composition(project, dataset.id)
    _origins = composition.by_origin()
    _share = composition.synthetic_fraction()
    _rows = [{"origin": r.origin, "trait": r.trait or "(baseline)", "traits version": r.traits_version,
              "train": r.train, "validation": r.validation} for r in composition.rows]  # fmt: skip
    mo.vstack(
        [
            mo.md(
                f"**{composition.total()} rows**: {_origins.get('synthetic', 0)} synthetic, "
                f"{_origins.get('baseline', 0)} baseline; synthetic fraction "
                f"{'–' if _share is None else f'{_share:.3f}'} (asked {dataset.recipe['synthetic_fraction']})."
            ),
            mo.ui.table(_rows, selection=None),
        ]
    )
    return composition, dataset


@app.cell
def _(mo):
    mo.md("""
    ## The run
    """)
    return


@app.cell
def _(DATASET_KIND, METHODS, dataset, mo):
    _fits = [m for m in METHODS if DATASET_KIND[m] == dataset.kind]
    method = mo.ui.dropdown(options=_fits, value=_fits[0], label="Method")
    steps = mo.ui.number(start=-1, stop=1_000_000, step=1, value=10, label="Max steps (-1: train for the epochs)")
    epochs = mo.ui.number(start=0.1, stop=100, step=0.1, value=1.0, label="Epochs")
    lora = mo.ui.checkbox(value=True, label="LoRA adapter (off: every weight)")
    mo.hstack([method, steps, epochs, lora], justify="start")
    return epochs, lora, method, steps


@app.cell
def _(dataset, default_base_model, method, mo, project):
    # SFT starts from the latest midtrained checkpoint when there is one (the seed's order), else the baseline role.
    base = mo.ui.text(
        value=default_base_model(project, method.value, dataset.id),
        label="Base model (hub name, folder or checkpoint:ID)",
        full_width=True,
    )
    base
    return (base,)


@app.cell
def _(base, base_model_warning, method, mo, project):
    # Before launching: midtraining is meant to start from a pretrained model, not a post-trained one.
    _warning = base_model_warning(project, method.value, base.value.strip())
    mo.callout(mo.plain_text(_warning), kind="warn") if _warning else None
    return


@app.cell
def _(CONFIGS, method, mo):
    # Each method has its own default learning rate (DPO's is far below SFT's).
    lr = mo.ui.text(value=str(CONFIGS[method.value]().learning_rate), label="Learning rate")
    launch = mo.ui.run_button(label="Launch")
    mo.hstack([lr, launch], justify="start")
    return launch, lr


@app.cell
def _(
    base,
    dataset,
    epochs,
    launch,
    launch_training,
    lora,
    lr,
    method,
    mo,
    nb,
    project,
    steps,
    wait_for_launch,
):
    mo.stop(not nb.should_run(launch), mo.md("Press **Launch** to start training in the background."))
    _settings = {"dataset": dataset.id, "base_model": base.value.strip(), "max_steps": steps.value,
                 "epochs": epochs.value, "learning_rate": lr.value, "lora": lora.value}  # fmt: skip
    with nb.shown_errors():
        launched = launch_training(project, method.value, _settings)
    if nb.unattended():  # a script run ends with a finished run, so the charts and tests below see all of it
        with nb.stage() as _progress:
            wait_for_launch(project, launched, progress=_progress)
    mo.vstack([mo.md(f"Launched, in `{launched.output_dir}`:"), mo.plain_text(" ".join(launched.command))])
    return (launched,)


@app.cell
def _(mo, refresh_every):
    # One timer per launch; the charts below show it only while the process runs, so it stops with it.
    _every = refresh_every("running")
    ticker = mo.ui.refresh(options=[_every], default_interval=_every, label="Live")
    stop = mo.ui.run_button(label="Stop the run", kind="danger")
    return stop, ticker


@app.cell
def _(
    launch_state,
    launched,
    metric_figures,
    mo,
    project,
    run_metrics,
    stop,
    ticker,
):
    ticker.value  # each tick re-reads the run and its metrics from the store
    state = launch_state(project, launched)
    figures = metric_figures(run_metrics(project, state.run.id)) if state.run else []
    _step = state.run.last_step if state.run and state.run.last_step else 0
    _head = [mo.md(f"**{state.status}** · step {_step} of {launched.total_steps}")]
    if state.active:
        _head.append(mo.hstack([ticker, stop], justify="start"))
    if state.error:
        _head.append(mo.callout(mo.plain_text(state.error), kind="danger"))
    if state.status == "starting":
        _head.append(mo.md("_Loading the model and checking the rows; the charts start at the first logged step._"))
    mo.vstack([*_head, *(figure for _, figure in figures)])
    return figures, state


@app.cell
def _(launched, mo, stop, stop_training):
    # Only a press stops a run: unlike the run buttons above, nobody pressing it means "leave it running".
    mo.stop(not stop.value)
    stop_training(launched)
    mo.md("Interrupted: the run records itself as failed and exits.")
    return


@app.cell
def _(list_checkpoints, mo, project, state):
    run_checkpoints = list_checkpoints(project, state.run.id) if state.run else []
    mo.vstack(
        [
            mo.md("## Checkpoints"),
            mo.ui.table([c.model_dump(exclude={"manifest"}) for c in run_checkpoints], selection=None)
            if run_checkpoints
            else mo.md("_None yet: a run registers one every `save_steps` steps and one at its end._"),
        ]
    )
    return (run_checkpoints,)


@app.cell
def _(
    base,
    baseline,
    built,
    chosen,
    composition,
    figures,
    fraction,
    launched,
    lora,
    lr,
    method,
    project,
    run_checkpoints,
    run_metrics,
    state,
    steps,
):
    def test_the_built_dataset_is_chosen_and_mixes_at_the_asked_fraction():
        assert chosen.value == built.id
        assert built.recipe["baseline"] == baseline.value and built.recipe["synthetic_fraction"] == fraction.value
        assert composition.by_origin() == built.manifest["counts"]["total"]
        assert composition.total() == built.train_rows + built.validation_rows
        assert abs(composition.synthetic_fraction() - fraction.value) <= 1 / composition.total()

    def test_the_run_finished_on_the_chosen_dataset_with_the_chosen_settings():
        assert (state.status, state.returncode, state.error) == ("done", 0, None)
        run = state.run
        assert (run.dataset_id, run.method, run.base_model) == (built.id, method.value, base.value)
        assert (run.config["max_steps"], run.config["lora"]) == (steps.value, lora.value)
        assert run.config["learning_rate"] == float(lr.value)
        assert run.output_dir == str(launched.output_dir) and run.last_step == launched.total_steps == steps.value

    def test_the_loss_chart_shows_every_logged_step():
        stored = [(s, v) for s, split, n, v in run_metrics(project, state.run.id) if n == "loss" and split == "train"]
        assert [s for s, _ in stored] == list(range(1, launched.total_steps + 1))
        train_line = next(t for t in dict(figures)["loss"].data if t.name == "train")
        assert list(zip(train_line.x, train_line.y, strict=True)) == stored
        assert {"learning_rate", "tokens_per_s"} <= set(dict(figures))

    def test_the_table_lists_the_final_checkpoint_of_the_run():
        final = run_checkpoints[0]
        assert [c.run_id for c in run_checkpoints] == [state.run.id]
        assert (final.step, final.kind) == (launched.total_steps, "adapter" if lora.value else "full")
        assert final.path == str(launched.output_dir / "final")

    return


if __name__ == "__main__":
    app.run()
