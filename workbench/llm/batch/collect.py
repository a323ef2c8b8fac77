"""Follow submitted batches: ask the provider where each stands, and store the answers of those that ended.

    reports = await refresh(project)             # every open batch (what `workbench batch status` does)
    await collect_ready(project)                 # the same, before a stage runs; nothing to do: no call
    await cancel(project, ["wb-…"])
    await wait_for(project, batch_ids, on_poll=print)

A batch recorded but never acknowledged (the process died while submitting) is looked up by its
display name: adopted if the provider has it, else marked `submit_failed` so its requests are
asked again. Storing results is claimed once per batch (records.store_results), so a re-run or a
second process never writes a request's ledger row twice, and never pays for it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.llm.batch import records
from workbench.llm.batch.provider import BatchProvider, RemoteJob
from workbench.llm.batch.providers import make_batch_provider
from workbench.llm.spec import ModelSpec
from workbench.llm.types import BackendError
from workbench.project import Project


@dataclass(frozen=True)
class BatchReport:
    """What one refresh learned about a batch."""

    batch_id: str
    state: str
    collected: bool = False
    detail: str | None = None


async def collect_ready(project: Project) -> list[BatchReport]:
    """Refresh the open batches, if there are any (stages call this before they run).

    A provider that cannot be reached or refuses leaves its batches open (reported `unreachable`):
    their requests stay deferred, and the stage still runs everything else.
    """
    if not records.has_batches(project.store) or not records.batches(project.store, open_only=True):
        return []
    return await refresh(project, tolerant=True)


async def refresh(
    project: Project, ids: Iterable[str] = (), *, collect: bool = True, tolerant: bool = False
) -> list[BatchReport]:
    """Ask the provider about each open batch (or those named); store the results of the ended ones
    (only record their state, with `collect=False`). `tolerant`: a provider's failure is reported
    for its batch instead of raised."""
    wanted = list(ids)
    found = records.batches(project.store, open_only=not wanted, ids=wanted)
    _check_named(wanted, found)
    reports = []
    for batch in found:
        if not batch.open:
            reports.append(BatchReport(batch.id, batch.state, detail="already collected"))
        elif batch.provider == "export":
            reports.append(BatchReport(batch.id, batch.state, detail="waiting for `workbench batch import`"))
        else:
            reports.append(await _refresh_or_report(project, batch, collect, tolerant))
    return reports


async def cancel(project: Project, ids: Sequence[str]) -> list[BatchReport]:
    """Cancel batches: the provider is asked to stop; what it already answered is still collected."""
    found = records.batches(project.store, ids=ids)
    _check_named(list(ids), found)
    for batch in found:
        if not batch.open:
            continue
        if batch.provider == "export":
            job = RemoteJob("", "cancelled", detail="cancelled before it was run")
            records.store_results(project.store, batch, job, [], None)
            continue
        async with _provider(project, batch) as provider:
            remote = await _remote_job(provider, batch)  # one created just before a crash is found by name
            if remote is None:
                records.mark_submit_failed(project.store, batch.id, "the provider has no job by this name")
                continue
            records.mark_state(project.store, batch.id, remote)
            if not remote.final:
                await provider.cancel(remote.remote_id)
    return await refresh(project, [b.id for b in found])


async def wait_for(
    project: Project, batch_ids: Sequence[str], *, on_poll: Callable[[list[BatchReport]], None] | None = None
) -> list[BatchReport]:
    """Poll every `[batch] poll_s` seconds until none of these batches is open; returns the last reports."""
    if not batch_ids:
        return []
    while True:
        reports = await refresh(project, batch_ids)
        if on_poll is not None:
            on_poll(reports)
        if not any(b.open for b in records.batches(project.store, ids=batch_ids)):
            return reports
        await asyncio.sleep(project.config.batch.poll_s)


async def _refresh_or_report(project: Project, batch: records.BatchRow, collect: bool, tolerant: bool) -> BatchReport:
    try:
        return await _refresh_one(project, batch, collect)
    except (BackendError, WorkbenchError) as e:
        if not tolerant:
            raise
        return BatchReport(batch.id, "unreachable", detail=str(e))


async def _refresh_one(project: Project, batch: records.BatchRow, collect: bool) -> BatchReport:
    async with _provider(project, batch) as provider:
        job = await _remote_job(provider, batch)
        if job is None:
            records.mark_submit_failed(project.store, batch.id, "the provider has no job by this name")
            detail = "never reached the provider; its requests are asked again"
            return BatchReport(batch.id, "submit_failed", detail=detail)
        records.mark_state(project.store, batch.id, job)  # a job found by its name gets its remote id here
        if not (job.final and collect):
            return BatchReport(batch.id, job.state, detail=job.detail)
        results = await provider.results(job.remote_id)
    price = project.config.price_of(ModelSpec.parse(batch.model))
    collected = records.store_results(project.store, batch, job, results, price)
    return BatchReport(batch.id, job.state, collected=collected, detail=job.detail)


async def _remote_job(provider: BatchProvider, batch: records.BatchRow) -> RemoteJob | None:
    """The provider's job for a batch; one recorded but never acknowledged is looked up by name."""
    if batch.remote_id is None:
        return await provider.find(batch.id)
    return await provider.get(batch.remote_id)


@contextlib.asynccontextmanager
async def _provider(project: Project, batch: records.BatchRow) -> AsyncIterator[BatchProvider]:
    """The batch's provider, closed afterwards."""
    provider = make_batch_provider(ModelSpec.parse(batch.model), project.config)
    try:
        yield provider
    finally:
        await provider.aclose()


def _check_named(wanted: list[str], found: list[records.BatchRow]) -> None:
    known = {b.id for b in found} | {b.remote_id for b in found if b.remote_id}
    missing = [name for name in wanted if name not in known]
    if missing:
        raise WorkbenchError(
            f"No batch {', '.join(missing)} in this project.", hint="`workbench batch list` shows the batches."
        )
