"""An audit of one dataset: its identity, its settings, and the context its steps run in.

    ctx = open_audit(project, "sft", run_id=run_id)      # the dataset's audit under the current [audit]
    await scan_dataset(ctx); await cluster_candidates(ctx); await rate_sample(ctx)

An audit's id is a hash of the dataset and the settings that decide what the scans read and
how candidates are grouped, so running the same audit again resumes it, and changing those
settings starts a new one. Rating settings (sample size, rows and patterns per call) may change
between runs of one audit: ratings are stored per row text and pattern criteria, so a larger
sample only rates the rows it adds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workbench.audit.datasets import AuditDataset, get_dataset
from workbench.config_stages import AuditConfig
from workbench.errors import WorkbenchError
from workbench.generate.context import template_request
from workbench.generate.steps import Job, StepRunner, stable_id
from workbench.llm.types import LLMRequest
from workbench.progress import ProgressCallback
from workbench.project import Project

MAX_ATTEMPTS = 3  # tries of a merge or rating call the model refused or answered unparsably

# The settings that decide an audit's scans and clusters, hence its identity.
IDENTITY_SETTINGS = ("rows_per_scan", "scan_token_budget", "max_row_tokens", "scans", "min_scans",
                     "cluster_similarity", "seed")  # fmt: skip


class Audit(BaseModel):
    """A stored audit."""

    id: str = Field(description="Hash of the dataset and the scan and cluster settings.")
    dataset_id: str = Field(description="The dataset audited.")
    settings: dict[str, Any] = Field(description="The [audit] settings it was started with.")
    created_at: datetime = Field(description="When it was started.")


@dataclass
class AuditContext:
    """What every audit step needs.

    Attributes:
        project: The project (config, store, prompt overrides).
        audit: The audit being run.
        dataset: The dataset it audits.
        settings: The audit's scan and cluster settings, with the current rating settings.
        runner: Sends jobs and commits their results into `audit_generations`.
    """

    project: Project
    audit: Audit
    dataset: AuditDataset
    settings: AuditConfig
    runner: StepRunner

    def request(self, template: str, *, schema: Any, **variables: Any) -> LLMRequest:
        """A one-turn request whose user message is `template` rendered with `variables`."""
        return template_request(self.project, template, schema=schema, **variables)

    def still_to_send(self, step: str, jobs: Sequence[Job]) -> list[Job]:
        """The jobs without an `ok` outcome, each as its next attempt (at most `MAX_ATTEMPTS`).

        A call the model refused, cut short or answered with unparsable JSON is tried again on
        the next run as a new sample (a new cache key), rather than leaving its rows unrated for
        good; a transport error is simply sent again (its row is replaced). A permanent failure
        (bad request, auth, unknown model) is sent again only with `--retry-failed`.
        """
        with self.project.store.connect() as con:
            found = con.execute(
                "SELECT subject_id, bool_or(status = 'ok'), bool_or(status = 'failed'),"
                " count(*) FILTER (WHERE status NOT IN ('error', 'failed'))"
                " FROM audit_generations WHERE step = ? AND subject_id IN (SELECT unnest(?)) GROUP BY subject_id",
                [step, [j.subject_id for j in jobs]],
            ).fetchall()
        outcomes = {subject: (ok, failed, tries) for subject, ok, failed, tries in found}
        pending = []
        for job in jobs:
            ok, failed, tries = outcomes.get(job.subject_id, (False, False, 0))
            if ok or tries >= MAX_ATTEMPTS or (failed and not self.runner.retry_failed):
                continue
            retry = dataclasses.replace(job.request, sample_index=tries)
            pending.append(dataclasses.replace(job, variant=str(tries) if tries else "", request=retry))
        return pending


def audit_id(dataset_id: str, settings: AuditConfig) -> str:
    identity = {name: getattr(settings, name) for name in IDENTITY_SETTINGS}
    return stable_id("audit", dataset_id, json.dumps(identity, sort_keys=True))


def start_audit(project: Project, dataset_ref: str, settings: AuditConfig | None = None) -> Audit:
    """The audit of a dataset under `settings` (default: the project's `[audit]`), created if new."""
    dataset = get_dataset(project, dataset_ref)
    settings = settings or project.config.audit
    new_id = audit_id(dataset.id, settings)
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audits (id, dataset_id, settings) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [new_id, dataset.id, settings.model_dump_json()],
        )
    return get_audit(project, new_id)


def get_audit(project: Project, ref: str) -> Audit:
    """An audit by id or id prefix, or the newest audit of a dataset (by dataset id, prefix or name).

    Raises:
        WorkbenchError: nothing matches.
    """
    with project.store.connect() as con:
        row = con.execute(
            "SELECT a.id, a.dataset_id, a.settings, a.created_at FROM audits a"
            " JOIN audit_datasets d ON d.id = a.dataset_id"
            " WHERE starts_with(a.id, ?) OR d.id = ? OR d.name = ? OR starts_with(d.id, ?)"
            " ORDER BY starts_with(a.id, ?) DESC, a.created_at DESC LIMIT 1",
            [ref, ref, ref, ref, ref],
        ).fetchone()
    if row is None:
        raise WorkbenchError(
            f"No audit {ref!r}.",
            hint="Start one with `workbench audit run DATASET`; list them with `workbench audit list`.",
        )
    return Audit(id=row[0], dataset_id=row[1], settings=json.loads(row[2]), created_at=row[3])


def list_audits(project: Project) -> list[Audit]:
    """Every audit, newest first."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT id, dataset_id, settings, created_at FROM audits ORDER BY created_at DESC"
        ).fetchall()
    return [Audit(id=r[0], dataset_id=r[1], settings=json.loads(r[2]), created_at=r[3]) for r in rows]


def open_audit(
    project: Project,
    audit: Audit,
    *,
    run_id: str,
    settings: AuditConfig | None = None,
    progress: ProgressCallback | None = None,
) -> AuditContext:
    """The context an audit's steps run in, for one recorded run."""
    current = settings or project.config.audit
    # Scans and clusters follow the audit's own settings; rating follows the current ones.
    settings = current.model_copy(update={k: audit.settings[k] for k in IDENTITY_SETTINGS if k in audit.settings})
    runner = StepRunner(
        project, "audit_generations", "audit", run_id, batch_size=settings.batch_size, progress=progress
    )
    return AuditContext(project, audit, get_dataset(project, audit.dataset_id), settings, runner)
