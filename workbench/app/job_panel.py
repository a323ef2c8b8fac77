"""The Run page's parts: a plan shown before its job starts, a confirm, and the jobs with their progress.

    plan_form(project, plan, label="Start the pilot")   # projection, the CLI command beside Start; then Confirm
    jobs_panel(project)                                  # the jobs, newest first, redrawn from the store while any runs

Nothing starts on the first click: Start asks to confirm the exact command whose projection is
shown (changing a field changes the command, which withdraws the question). The jobs' progress is
read from their rows (workbench/jobs.py), so a reload, another tab or another page shows the same
bars; only the jobs panel reruns on its timer, and the whole page reruns when a job starts or ends.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.app.theme import table
from workbench.errors import WorkbenchError
from workbench.jobs import Job, list_jobs, start_job, stop_job
from workbench.project import Project
from workbench.views.job_plans import JobPlan, trained_steps
from workbench.views.literal import markdown_literal
from workbench.views.style import status_badge

REFRESH_S = 1.0  # seconds between re-reads of the jobs while any runs
FINISHED_SHOWN = 3  # ended jobs shown under the running ones
CONFIRM = "run-confirm"  # session key: the command waiting for its confirm
ERROR = "run-error"  # session key: why the last start failed


def _ask(command: str) -> None:
    st.session_state[CONFIRM] = command
    st.session_state.pop(ERROR, None)


def _cancel() -> None:
    st.session_state.pop(CONFIRM, None)


def _start(project: Project, plan: JobPlan) -> None:
    """Confirmed: start the job (a button callback, so the page that follows already lists it)."""
    _cancel()
    try:
        start_job(project, plan.kind, plan.args, total=plan.total, stage=plan.stage)
    except WorkbenchError as e:
        st.session_state[ERROR] = e


def plan_form(project: Project, plan: JobPlan, *, label: str) -> None:
    """The plan's projection, then Start beside the CLI command that does the same; Start asks to confirm first."""
    st.markdown(plan.summary)
    if plan.rows:
        table(pd.DataFrame(plan.rows))
    for warning in plan.warnings:
        st.warning(markdown_literal(warning))
    button, code = st.columns([1, 4], vertical_alignment="center")
    with code:
        st.code(plan.command, language="bash")
    if st.session_state.get(CONFIRM) != plan.command:
        button.button(label, key=f"start-{plan.kind}", type="primary", on_click=_ask, args=(plan.command,))
    else:
        st.warning("Start this job now, as projected above? It runs in the background until it ends or you stop it.")
        yes, no, _ = st.columns([1, 1, 4])
        yes.button("Confirm", key=f"confirm-{plan.kind}", type="primary", on_click=_start, args=(project, plan))
        no.button("Cancel", key=f"cancel-{plan.kind}", on_click=_cancel)
    if isinstance(error := st.session_state.get(ERROR), WorkbenchError):
        st.error(markdown_literal(error.message))


def _progress(project: Project, job: Job) -> tuple[float, str]:
    """The bar's fill and label: the stage's done / total (a training job's steps come from its run)."""
    done = trained_steps(project, job.pid) if job.kind == "train" else job.done
    if job.status == "done":
        return 1.0, f"{job.stage}: finished" if job.stage else "finished"
    if job.total <= 0:
        return 0.0, "starting…" if job.active else "no progress was reported"
    detail = f" · {job.detail}" if job.detail else ""
    return min(done / job.total, 1.0), f"{job.stage}: {done} of {job.total}{detail}"


def _job_card(project: Project, job: Job) -> None:
    """One job in two lines: status, when, its bar and Stop; then its command and log, folded."""
    with st.container(border=True):
        head, bar, stop = st.columns([3, 5, 1], vertical_alignment="center")
        when = f"{job.started_at:%m-%d %H:%M:%S}"
        if job.finished_at:
            when += f" – {job.finished_at:%H:%M:%S}" + (f" (exit {job.exit_code})" if job.exit_code else "")
        head.markdown(f"{status_badge(job.status)} **{markdown_literal(job.kind)}** · {when}")
        fraction, text = _progress(project, job)
        bar.progress(fraction, text=markdown_literal(text))
        if job.active:
            stop.button("Stop", key=f"stop-{job.id}", on_click=stop_job, args=(project.store, job.id))
        with st.expander(markdown_literal(job.command), expanded=job.status in ("failed", "interrupted")):
            st.code(job.command, language="bash")
            st.code(job.log_tail or "(nothing logged yet)", language=None)


def jobs_panel(project: Project) -> None:
    """Running jobs, then the latest ended ones, each with its bar, Stop while it runs, command and log."""
    running = [j.id for j in list_jobs(project.store) if j.active]

    @st.fragment(run_every=REFRESH_S if running else None)
    def live() -> None:
        jobs = list_jobs(project.store)
        active = [j for j in jobs if j.active]
        if not jobs:
            st.info("No jobs yet: start one below, after its projection.")
        for job in [*active, *[j for j in jobs if not j.active][:FINISHED_SHOWN]]:
            _job_card(project, job)
        if [j.id for j in active] != running:
            st.rerun()  # a job started or ended: the whole page, so the timer starts or stops with it

    live()
