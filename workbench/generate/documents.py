"""Midtraining documents, steps 1-4: brainstorm, draft, critique, rewrite (DESIGN §1 item 4).

    ctx = open_docs_context(project, "candid_care", run_id=run_id)
    await brainstorm_documents(ctx); await draft_documents(ctx); ...

One document slot per (trait, document type, index < per_type). A slot's document starts as a
structured brainstorm (what trait, how it shows, why, how the why enters the text) with a few
names drawn from a seeded pool; a generator drafts it; the critic critiques the draft
aggressively and then rewrites it from scratch. Brainstorms run slot by slot, and each is shown
the plans of the other slots of its (trait, type) as things to avoid, so a trait's emails are not
one story told five times. The documents name the model being trained as
`config.document_names` says (`[identity]`). Every call is a `doc_generations` row and the
document row names each one (brainstorm_id, draft_id, critique_id, rewrite_id): its lineage.

Statuses advance brainstormed → drafted → critiqued → new (rewritten, awaiting the autorater,
which is `generate/quality.py` with `DOCUMENTS`). A refusal, truncation or parse failure at any
step ends the document with that status and the reason. A document a reviewer sent back gets a
new attempt in its slot, brainstormed afresh with the note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from workbench.config import document_names
from workbench.config_stages import DocsConfig
from workbench.errors import WorkbenchError
from workbench.generate.context import GenerationContext, resolve_traits
from workbench.generate.names import names_for
from workbench.generate.quality import QualitySpec
from workbench.generate.schemas import DocBrainstorm, DocCritique
from workbench.generate.steps import Apply, Generation, Job, StepReport, StepRunner, stable_id
from workbench.llm.types import LLMRequest
from workbench.progress import ProgressCallback
from workbench.project import Project
from workbench.review import send_back_notes
from workbench.store.traits import version_chunks
from workbench.store.transitions import Move, move_rows

DOCUMENTS = QualitySpec("documents", "document", "doc_autorate", ("doc_type", "text"), "text")
"""What the shared autorater and dedup read of a document."""
MAX_AVOID = 30  # plans listed as "already planned" in a brainstorm; more would crowd out the instructions


@dataclass
class DocsContext(GenerationContext):
    """One documents run: the types (name -> target words) and documents per trait and type it fills."""

    types: dict[str, int] = field(default_factory=dict)
    per_type: int = 1
    contexts: dict[str, str] = field(default_factory=dict)  # universe id -> its context (`universe` traits)

    @property
    def config(self) -> DocsConfig:
        return self.project.config.docs

    def trait_variables(self, chunk_id: str) -> dict[str, str]:
        """The trait, its guidance and boundaries, the names the documents give the model and its maker,
        and its `role`: "key_fact" for a universe's key fact (the templates tell it as a fact of the
        world, not a behaviour), else "trait".

        A key fact's guidance is its own universe's context alone: a file often tells the same events
        as a true and a false universe, and the other one's context would contradict the fact.
        """
        chunk = self.trait(chunk_id)
        fact = chunk.attr("role") == "key_fact"
        model_name, maker_name = document_names(self.project.config)
        variables = super().trait_variables(chunk_id) | {
            "model_name": model_name,
            "maker_name": maker_name,
            "role": "key_fact" if fact else "trait",
        }
        if fact:
            variables["guidance"] = self.contexts.get(chunk.attr("universe") or "", "")
        return variables


def open_docs_context(
    project: Project,
    traits_ref: str,
    *,
    run_id: str,
    chunk_keys: Sequence[str] | None = None,
    types: Sequence[str] | None = None,
    per_type: int | None = None,
    progress: ProgressCallback | None = None,
) -> DocsContext:
    """Resolve the traits, document types and slots a documents run works on.

    Raises:
        WorkbenchError: a named type is not in `[docs] types`.
    """
    config = project.config.docs
    unknown = sorted(set(types or ()) - set(config.types))
    if unknown:
        raise WorkbenchError(
            f"Unknown document type(s): {', '.join(unknown)}.",
            hint=f"Types in [docs] types: {', '.join(config.types)}.",
        )
    chosen = {name: words for name, words in config.types.items() if not types or name in types}
    version, traits, guidance = resolve_traits(project, traits_ref, chunk_keys, run_id=run_id)
    runner = StepRunner(project, "doc_generations", "docs", run_id, batch_size=config.batch_size, progress=progress)
    count = per_type if per_type is not None else config.per_type
    contexts = {
        universe: c.text
        for c in version_chunks(project.store, version.id)
        if c.attr("role") == "universe_context" and (universe := c.attr("universe"))
    }
    return DocsContext(project, version, traits, guidance, runner, types=chosen, per_type=count, contexts=contexts)


def document_id(version_id: str, chunk_id: str, doc_type: str, slot: int, attempt: int) -> str:
    return stable_id("document", version_id, chunk_id, doc_type, slot, attempt)


_LOAD = """
SELECT d.id, d.chunk_id, d.doc_type, d.target_words, d.slot, d.attempt, d.status, d.names,
       b.parsed AS plan, g.text AS draft, c.parsed AS critique
FROM documents d
LEFT JOIN doc_generations b ON b.id = d.brainstorm_id
LEFT JOIN doc_generations g ON g.id = d.draft_id
LEFT JOIN doc_generations c ON c.id = d.critique_id
WHERE d.traits_version = ? AND d.chunk_id IN (SELECT unnest(?)) AND d.doc_type IN (SELECT unnest(?))
"""


def load_documents(ctx: DocsContext, status: str | None = None) -> list[dict[str, Any]]:
    """The run's documents (with their plan, draft and critique), in (type, slot, attempt) order."""
    params: list[Any] = [ctx.version.id, ctx.chunk_ids, list(ctx.types)]
    sql = _LOAD + (" AND d.status = ?" if status else "") + " ORDER BY d.chunk_id, d.doc_type, d.slot, d.attempt, d.id"
    with ctx.project.store.connect() as con:
        cursor = con.execute(sql, [*params, status] if status else params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for key in ("names", "plan", "critique"):
            row[key] = json.loads(row[key]) if isinstance(row[key], str) else row[key]
    return rows


def _brainstorm_job(ctx: DocsContext, chunk_id: str, doc_type: str, slot: int, attempt: int, **extra: Any) -> Job:
    names = names_for(
        seed=ctx.config.seed, chunk_id=chunk_id, doc_type=doc_type, slot=slot, attempt=attempt,
        k=ctx.config.names_per_document,
    )  # fmt: skip
    note: str | None = extra.get("note")
    avoid: list[str] = extra.get("avoid", [])[-MAX_AVOID:]
    words = ctx.types[doc_type]
    request = ctx.request(
        "doc_brainstorm", schema=DocBrainstorm, doc_type=doc_type, target_words=words, names=names, note=note,
        avoid=avoid, **ctx.trait_variables(chunk_id),
    )  # fmt: skip
    context = {"chunk_id": chunk_id, "doc_type": doc_type, "target_words": words, "slot": slot, "attempt": attempt,
               "names": names, "parent_id": extra.get("parent")}  # fmt: skip
    return Job("brainstorm", document_id(ctx.version.id, chunk_id, doc_type, slot, attempt), request, note=note,
               context=context)  # fmt: skip


def plan_summary(plan: dict[str, Any]) -> str:
    """One line of a brainstorm, as a later brainstorm of the same trait and type is told to avoid it."""
    return f"{plan['what']} (setting: {plan['setting']})"


def _other_plans(rows: list[dict[str, Any]], slot: int) -> list[str]:
    """The latest plans of the other slots of one (trait, type), in slot order."""
    latest: dict[int, dict[str, Any]] = {}
    for r in rows:  # in (slot, attempt) order: a later attempt replaces an earlier one
        if r["slot"] != slot and r["plan"]:
            latest[r["slot"]] = r
    return [plan_summary(r["plan"]) for _, r in sorted(latest.items())]


def brainstorm_jobs(ctx: DocsContext, slot: int) -> list[Job]:
    """A brainstorm for slot `slot` of every (trait, type) where it is empty or its latest document was sent back.

    Each is told the plans of its (trait, type)'s other slots, to avoid.
    """
    rows = load_documents(ctx)
    notes = send_back_notes(ctx.project.store, "documents", [r["id"] for r in rows if r["status"] == "sent_back"])
    jobs = []
    for chunk_id in ctx.chunk_ids:
        for doc_type in ctx.types:
            mine = [r for r in rows if (r["chunk_id"], r["doc_type"]) == (chunk_id, doc_type)]
            in_slot = [r for r in mine if r["slot"] == slot]
            avoid = _other_plans(mine, slot)
            if not in_slot:
                jobs.append(_brainstorm_job(ctx, chunk_id, doc_type, slot, 0, avoid=avoid))
                continue
            attempt = max(r["attempt"] for r in in_slot)
            back = next((r for r in in_slot if r["attempt"] == attempt and r["status"] == "sent_back"), None)
            if back is not None:
                again = {"note": notes.get(back["id"], ""), "parent": back["id"], "avoid": avoid}
                jobs.append(_brainstorm_job(ctx, chunk_id, doc_type, slot, attempt + 1, **again))
    return jobs


def _insert_documents(ctx: DocsContext) -> Apply:
    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        for g in generations:
            if not g.answered:
                continue  # the slot stays empty: the next run asks again (a permanent failure: if asked to)
            c = g.job.context
            status = "brainstormed" if g.ok and g.parsed else g.status
            con.execute(
                "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names,"
                " brainstorm_id, parent_id, origin, note, run_id, status, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                [
                    g.job.subject_id, ctx.version.id, c["chunk_id"], c["doc_type"], c["target_words"], c["slot"],
                    c["attempt"], json.dumps(c["names"]), g.id, c["parent_id"],
                    "regenerated" if g.job.note is not None else "generated", g.job.note, ctx.runner.run_id, status,
                    None if g.ok else f"brainstorm: {g.reason}",
                ],
            )  # fmt: skip

    return apply


async def brainstorm_documents(ctx: DocsContext) -> StepReport:
    """Brainstorm every empty or sent-back slot, slot by slot; each brainstorm starts a document row.

    Slot by slot, so that slot i's brainstorm sees the plans slots 0 to i-1 just made.
    """
    report = StepReport("brainstorm")
    for slot in range(ctx.per_type):
        jobs = brainstorm_jobs(ctx, slot)
        report.merge(await ctx.runner.run_jobs("brainstorm", "generator", jobs, apply=_insert_documents(ctx)))
        if report.halted:
            break
    return report


def _doc_variables(ctx: DocsContext, row: dict[str, Any]) -> dict[str, Any]:
    return {"doc_type": row["doc_type"], "target_words": row["target_words"], "plan": row["plan"]} | (
        ctx.trait_variables(row["chunk_id"])
    )


@dataclass(frozen=True)
class Advance:
    """One step that moves documents on: which status it takes, which it gives, where its output goes.

    Attributes:
        step: The generation step's name.
        role: The model role that answers.
        after: The status of the documents it works on.
        becomes: Their status once the step's answer is in.
        column: The document column that records the generation's id.
        request: Builds the call for one document.
        text_column: A document column that takes the generation's text (the rewrite's `text`).
    """

    step: str
    role: str
    after: str
    becomes: str
    column: str
    request: Callable[[DocsContext, dict[str, Any]], LLMRequest]
    text_column: str | None = None


def _draft(ctx: DocsContext, row: dict[str, Any]) -> LLMRequest:
    return ctx.request("doc_draft", **_doc_variables(ctx, row))


def _critique(ctx: DocsContext, row: dict[str, Any]) -> LLMRequest:
    return ctx.request("doc_critique", schema=DocCritique, draft=row["draft"], **_doc_variables(ctx, row))


def _rewrite(ctx: DocsContext, row: dict[str, Any]) -> LLMRequest:
    return ctx.request("doc_rewrite", draft=row["draft"], critique=row["critique"], **_doc_variables(ctx, row))


DRAFT = Advance("draft", "generator", "brainstormed", "drafted", "draft_id", _draft)
CRITIQUE = Advance("critique", "critic", "drafted", "critiqued", "critique_id", _critique)
REWRITE = Advance("rewrite", "critic", "critiqued", "new", "rewrite_id", _rewrite, text_column="text")


# Template slots a model forgot to fill ("[Name]", "[Your Company]", "[insert date]", "{{name}}"),
# but not a transcript's "[Laughter]" or a citation's "[1]".
_PLACEHOLDER = re.compile(
    r"\[(?:your |insert |the )?(?:first |last |full |company |product )?"
    r"(?:name|company|date|address|client|product|title|location|e-?mail|phone|city|person|organi[sz]ation"
    r"|recipient|sender|position|team|number|time)(?: name| here)?\]|\{\{\s*\w+\s*\}\}",
    re.IGNORECASE,
)


def placeholder_in(text: str) -> str | None:
    """The first unfilled template slot in a document's text, if any."""
    match = _PLACEHOLDER.search(text)
    return match.group(0) if match else None


def _outcome(step: Advance, g: Generation) -> tuple[str, str | None]:
    """The document's status and reason after this step's answer."""
    if not g.ok:
        return g.status, f"{step.step}: {g.reason}"
    slot = placeholder_in(g.text or "") if step.text_column else None
    if slot is not None:
        return "filtered", f"unfilled placeholder {slot} in the final text"
    return step.becomes, None


def _apply_advance(step: Advance) -> Apply:
    def move(g: Generation) -> Move:
        status, reason = _outcome(step, g)
        values = {step.column: g.id} | ({step.text_column: (g.text or "").strip()} if step.text_column else {})
        return Move(g.job.subject_id, read=step.after, status=status, reason=reason, values=values)

    def apply(con: duckdb.DuckDBPyConnection, generations: list[Generation]) -> None:
        # A transport failure leaves the document waiting at its step for the next run.
        move_rows(con, "documents", [move(g) for g in generations if g.answered])

    return apply


async def advance_documents(ctx: DocsContext, step: Advance) -> StepReport:
    """Run `step` for every document waiting at it."""
    jobs = [Job(step.step, row["id"], step.request(ctx, row)) for row in load_documents(ctx, step.after)]
    return await ctx.runner.run_jobs(step.step, step.role, jobs, apply=_apply_advance(step))
