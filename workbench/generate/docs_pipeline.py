"""The midtraining documents pipeline end to end, as one run, and its cost projection.

    report = await run_docs(project, "candid_care", per_type=1, types=["email"])   # a pilot
    projection = project_docs_cost(project, "candid_care", per_type=5)             # the rest
    report = await run_docs(project, "candid_care", per_type=5)                    # the full run

Steps, in order: brainstorm → draft → critique → rewrite → rate (autorater) → dedup, then human
review (`workbench.review` on the `documents` table). Each step works on what is missing, so a
re-run after a crash, a budget stop or a round of review continues where things stand. The
rating and dedup are the SFT pipeline's own (`generate/quality.py`), given `DOCUMENTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from workbench.generate.cost import CostProjection, project_cost
from workbench.generate.cost_basis import document_basis
from workbench.generate.documents import (
    CRITIQUE,
    DOCUMENTS,
    DRAFT,
    REWRITE,
    DocsContext,
    advance_documents,
    brainstorm_documents,
    open_docs_context,
)
from workbench.generate.quality import dedup_rows, rate_rows
from workbench.generate.run import StepFn, run_steps
from workbench.generate.steps import StepReport
from workbench.llm.batch.queue import BatchMode
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.runs import WorkBudget
from workbench.store.traits import get_version


async def _brainstorm(ctx: DocsContext) -> list[StepReport]:
    return [await brainstorm_documents(ctx)]


async def _draft(ctx: DocsContext) -> list[StepReport]:
    return [await advance_documents(ctx, DRAFT)]


async def _critique(ctx: DocsContext) -> list[StepReport]:
    return [await advance_documents(ctx, CRITIQUE)]


async def _rewrite(ctx: DocsContext) -> list[StepReport]:
    return [await advance_documents(ctx, REWRITE)]


async def _rate(ctx: DocsContext) -> list[StepReport]:
    return [await rate_rows(ctx, DOCUMENTS, ctx.config.thresholds)]


async def _dedup(ctx: DocsContext) -> list[StepReport]:
    config = ctx.config
    return [
        await dedup_rows(ctx, DOCUMENTS, similarity=config.near_duplicate_similarity, auto_accept=config.auto_accept)
    ]


DOC_STEPS: dict[str, StepFn[DocsContext]] = {
    "brainstorm": _brainstorm,
    "draft": _draft,
    "critique": _critique,
    "rewrite": _rewrite,
    "rate": _rate,
    "dedup": _dedup,
}
"""The pipeline's steps in order; `run_docs(steps=[...])` runs a subset."""

ROLES = ("generator", "critic", "rater")
"""The roles the steps send model calls to through the gateway (for the budget's worst-case overshoot)."""


@dataclass
class DocsReport:
    """What a documents run did, and how many documents now wait for a person."""

    run_id: str
    steps: list[StepReport] = field(default_factory=list)
    stopped_budget: bool = False
    awaiting_review: int = 0


async def run_docs(
    project: Project,
    traits_ref: str,
    *,
    chunk_keys: Sequence[str] | None = None,
    per_type: int | None = None,
    types: Sequence[str] | None = None,
    steps: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    budget_usd: float | None = None,
    on_start: Callable[[WorkBudget], None] | None = None,
    retry_failed: bool = False,
    batch: BatchMode = "off",
) -> DocsReport:
    """Run the documents pipeline's steps (all by default) as one recorded run.

    Args:
        project: The project whose roles, prompts, `[docs]` settings and store are used.
        traits_ref: The traits version: `name`, `name@N` or a version id prefix.
        chunk_keys: Traits to write about (key, title or id prefix); all traits by default.
        per_type: Documents per trait and type (a pilot's K, or the full N); `[docs] per_type` by default.
        types: Document types (names from `[docs] types`); all of them by default.
        steps: Names from `DOC_STEPS`, run in pipeline order.
        progress: Receives progress of every batch of model calls.
        budget_usd: An explicit cap for this traits version's documents (`--budget`), kept by later
            runs; by default the cap an earlier run set, else `[budget] max_cost_usd_per_run`.
        on_start: Told the budget (cap and spend so far) before anything is sent.
        retry_failed: Send again calls an earlier run ended `failed` (bad request, auth, unknown model).
        batch: Batch mode: calls go to the provider's batch API; the run ends `waiting` until they are
            collected, and the same command again goes on (`workbench.generate.run.run_steps`).
    """
    chosen = [s for s in DOC_STEPS if steps is None or s in steps]
    version = get_version(project.store, traits_ref)
    result = await run_steps(
        project, "docs", version.id, [DOC_STEPS[name] for name in chosen],
        open_ctx=lambda run_id: open_docs_context(
            project, version.id, run_id=run_id, chunk_keys=chunk_keys, types=types, per_type=per_type,
            progress=progress,
        ),
        config={"steps": chosen, "chunks": list(chunk_keys or []), "types": list(types or []), "per_type": per_type},
        budget_usd=budget_usd, on_start=on_start, retry_failed=retry_failed, batch=batch,
    )  # fmt: skip
    ctx = result.ctx
    with project.store.connect() as con:
        waiting = con.execute(
            "SELECT count(*) FROM documents WHERE status = 'needs_review' AND traits_version = ?"
            " AND chunk_id IN (SELECT unnest(?))",
            [ctx.version.id, ctx.chunk_ids],
        ).fetchone()[0]  # type: ignore[index]
    return DocsReport(result.run_id, result.steps, result.stopped_budget, int(waiting))


# The document slots (type, index) of a document's versions each stage reached, per (version, trait).
_SLOTS_PER_STAGE = """
SELECT stage, d.traits_version, d.chunk_id, count(DISTINCT (d.doc_type, d.slot))
FROM (
    SELECT 'docs.' || step AS stage, subject_id AS doc_id FROM doc_generations
    UNION ALL
    SELECT 'docs.dedup', id FROM documents WHERE duplicate_of IS NOT NULL OR status IN ('needs_review', 'ok')
) owner JOIN documents d ON d.id = owner.doc_id WHERE d.traits_version IN (SELECT unnest(?)) GROUP BY ALL
"""

DOC_TEMPLATES = {
    "docs.brainstorm": "doc_brainstorm", "docs.draft": "doc_draft", "docs.critique": "doc_critique",
    "docs.rewrite": "doc_rewrite", "docs.rating": "doc_autorate",
}  # fmt: skip
"""The template each documents ledger stage's prompts are made from."""


def project_docs_cost(
    project: Project,
    traits_ref: str,
    *,
    chunk_keys: Sequence[str] | None = None,
    per_type: int | None = None,
    types: Sequence[str] | None = None,
) -> CostProjection:
    """Project the cost of filling `per_type` documents per trait and type from the same document's pilot.

    Raises:
        WorkbenchError: nothing has been measured on this traits document yet (run a pilot first).
    """
    ctx = open_docs_context(project, traits_ref, run_id="", chunk_keys=chunk_keys, types=types, per_type=per_type)
    with project.store.connect() as con:
        filled = dict(
            con.execute(
                "SELECT chunk_id, count(DISTINCT (doc_type, slot)) FROM documents WHERE traits_version = ?"
                " AND chunk_id IN (SELECT unnest(?)) AND doc_type IN (SELECT unnest(?)) AND slot < ? GROUP BY chunk_id",
                [ctx.version.id, ctx.chunk_ids, list(ctx.types), ctx.per_type],
            ).fetchall()
        )
    remaining = {c: len(ctx.types) * ctx.per_type - int(filled.get(c, 0)) for c in ctx.chunk_ids}
    basis = document_basis(project, ctx.version, slots_sql=_SLOTS_PER_STAGE, remaining=remaining,
                           templates=DOC_TEMPLATES)  # fmt: skip
    expected = [f"docs.{s}" for s in ("brainstorm", "draft", "critique", "rewrite", "rating")]
    return project_cost(
        project, "docs", work=f"docs:{ctx.version.id}", reached=basis.reached,
        remaining=sum(remaining.values()), expected=expected, basis=basis,
        label="documents", hint="Run a pilot first, e.g. `workbench docs run TRAITS --pilot 1`.",
    )  # fmt: skip
