"""Loading the demo: every row built as the pipelines build theirs, then the demo's pattern audit.

Rows get the pipelines' deterministic ids and links (example → refined → conditioned → scenario
→ baseline / critique; document → brainstorm, draft, critique, rewrite), so loading twice writes
nothing twice, and a real run finds the demo rows' steps already done instead of paying for them.
Every row carries run_id `demo` where its table has one, and model fields say `demo:hand-written`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
from pydantic import BaseModel

from workbench.audit.audits import Audit, start_audit
from workbench.audit.datasets import DatasetRow, save_dataset
from workbench.audit.formats import render_record
from workbench.audit.patterns import Pattern
from workbench.config_stages import DEFAULT_DOC_TYPES, Thresholds
from workbench.demo.models import (
    DEMO_DIR,
    DEMO_ORIGIN,
    HAND_WRITTEN,
    TRAITS_FILE,
    DemoData,
    DemoDocument,
    DemoPattern,
    DemoScenario,
    read_demo,
)
from workbench.demo.remove import delete_demo, demo_counts, has_demo
from workbench.embeddings import text_hash
from workbench.generate.context import SFTContext, open_context
from workbench.generate.documents import document_id
from workbench.generate.quality import threshold_failures
from workbench.generate.scenarios import scenario_id
from workbench.generate.schemas import ScenarioDraft
from workbench.generate.steps import GENERATION_COLUMNS, stable_id
from workbench.project import Project
from workbench.runs import DEMO_RUN
from workbench.store.traits import add_traits_file

REVIEWER = "demo"
# Demo rows sit in slots from here on, so a real run's slots 0..N-1 of the same trait stay free.
DEMO_SLOT = 1000


@dataclass(frozen=True)
class DemoSummary:
    """What `load_demo` left in the store.

    Attributes:
        created: False when the demo was already loaded (and nothing was added).
        traits_ref: The traits version the demo rows belong to (`candid_care@N`).
        audit_id: The demo's pattern audit.
        counts: Demo rows per table.
    """

    created: bool
    traits_ref: str
    audit_id: str
    counts: dict[str, int]


def load_demo(project: Project, source_dir: Path = DEMO_DIR) -> DemoSummary:
    """Load the demo data into a project; a second call adds nothing.

    The traits version and the audit's dataset and audit are written by their own library
    functions (each one transaction); everything else in two transactions. If any part fails,
    whatever this call wrote is removed again before the error propagates.

    Raises:
        WorkbenchError: a demo file is malformed (nothing is written).
    """
    demo = read_demo(source_dir)
    existed = has_demo(project.store)
    added = add_traits_file(project.store, TRAITS_FILE)
    try:
        ctx = open_context(project, added.version.id, run_id=DEMO_RUN)
        with project.store.transaction() as con:
            _insert_run(con, added.version.id, added.created)
            examples = [_insert_scenario(con, ctx, s, slot) for slot, s in enumerate(demo.sft.scenarios, DEMO_SLOT)]
            for slot, document in enumerate(demo.documents.documents, start=DEMO_SLOT):
                _insert_document(con, ctx, document, slot)
        audit = _load_audit(project, demo, examples)
    except BaseException:
        if not existed:
            delete_demo(project.store, added.version.id if added.created else None)
        raise
    return DemoSummary(not existed, added.version.ref, audit.id, demo_counts(project.store))


def _insert_run(con: duckdb.DuckDBPyConnection, version_id: str, version_added: bool) -> None:
    con.execute(
        "INSERT INTO runs (id, stage, status, finished_at, traits_version, config, note)"
        " VALUES (?, 'demo', 'done', current_timestamp, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [DEMO_RUN, version_id, json.dumps({"traits_version_added": version_added}),
         "Hand-written demo data, not model output (data/demo). `workbench demo remove` deletes it."],
    )  # fmt: skip


def _generation(
    con: duckdb.DuckDBPyConnection, table: str, step: str, subject: str, role: str, *,
    text: str | None = None, parsed: BaseModel | None = None, system: str | None = None,
    template_hash: str | None = None,
) -> str:  # fmt: skip
    """Insert one hand-written "model output" as the pipeline stores it; returns its id."""
    gid = stable_id(step, subject, "")  # what Job.generation_id gives the same step and subject
    as_json = parsed.model_dump_json() if parsed is not None else None
    values = (gid, step, subject, "", role, HAND_WRITTEN, template_hash, HAND_WRITTEN, DEMO_RUN, system,
              text if text is not None else as_json, as_json, None, "ok", None)  # fmt: skip
    con.execute(
        f"INSERT INTO {table} ({', '.join(GENERATION_COLUMNS)}) VALUES ({', '.join('?' for _ in values)})"
        " ON CONFLICT (id) DO NOTHING",
        list(values),
    )
    return gid


def _review(con: duckdb.DuckDBPyConnection, table: str, item_id: str, action: str, note: str | None = None) -> None:
    con.execute(
        "INSERT INTO review_events (id, item_table, item_id, action, reviewer, note, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [stable_id("demo-review", table, item_id, action), table, item_id, action, REVIEWER, note,
         json.dumps({"previous_status": "needs_review"})],
    )  # fmt: skip


def _chunk_id(ctx: SFTContext, title: str) -> str:
    return next(c.id for c in ctx.traits if c.title == title)


def _scenario_round(
    con: duckdb.DuckDBPyConnection, ctx: SFTContext, s: DemoScenario, slot: int, round_: int, parent: str | None
) -> str:
    """Insert one round of a scenario (its row, draft, baseline and critique); returns the scenario's id."""
    chunk = _chunk_id(ctx, s.trait)
    sid = scenario_id(ctx.version.id, chunk, slot, 0, round_)
    first = s.first_round if round_ == 0 and s.first_round else None
    prompt, baseline, critique = (first.user_prompt, first.baseline, first.critique) if first else (
        s.user_prompt, s.baseline, s.critique)  # fmt: skip
    if parent is None:
        made_by = _generation(con, "sft_generations", "scenario", sid, "generator",
                              parsed=ScenarioDraft(scenario=s.scenario, user_prompt=prompt))  # fmt: skip
    else:
        made_by = stable_id("critique", parent, "")  # a revision is made by the critique of its parent
    status, reason = ("revised", critique.reasons) if first else ("ok", None)
    con.execute(
        "INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, parent_id, origin, axes,"
        " framing, scenario, user_prompt, generation_id, run_id, status, reason)"
        " VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [sid, ctx.version.id, chunk, slot, round_, parent, "revised" if parent else "generated",
         json.dumps(s.axes), ctx.config.framing, s.scenario, prompt, made_by, DEMO_RUN, status, reason],
    )  # fmt: skip
    _generation(con, "sft_generations", "baseline", sid, "baseline", text=baseline)
    _generation(con, "sft_generations", "critique", sid, "critic", parsed=critique)
    return sid


def _insert_scenario(con: duckdb.DuckDBPyConnection, ctx: SFTContext, s: DemoScenario, slot: int) -> str:
    """A scenario (and its first round, if any), its answers, its example and the example's rating.

    Returns:
        The example's id.
    """
    parent = _scenario_round(con, ctx, s, slot, 0, None) if s.first_round else None
    sid = _scenario_round(con, ctx, s, slot, 1 if parent else 0, parent)
    _review(con, "sft_scenarios", sid, "accept")  # only an accepted scenario is answered
    chunk = _chunk_id(ctx, s.trait)
    template = ctx.template("conditioned_system")  # the system prompt the real step would have used
    system = template.render(**ctx.trait_variables(chunk), note=None)
    conditioned = _generation(con, "sft_generations", "conditioned", sid, "generator", text=s.conditioned,
                              system=system, template_hash=template.hash)  # fmt: skip
    refined = _generation(con, "sft_generations", "refined", conditioned, "critic", text=s.refined)
    example = stable_id("example", conditioned)  # the id assemble_examples gives it
    failures = threshold_failures(s.rating, Thresholds())
    con.execute(
        "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,"
        " response_generation_id, scores, run_id, status, reason)"
        " VALUES (?, ?, ?, ?, 'generated', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [example, sid, ctx.version.id, chunk, s.user_prompt, s.refined, refined, s.rating.model_dump_json(),
         DEMO_RUN, s.status, "; ".join(failures) or None],
    )  # fmt: skip
    _generation(con, "sft_generations", "rating", example, "rater", parsed=s.rating)
    if s.status == "ok":
        _review(con, "sft_examples", example, "accept")
    if s.review_note:
        _review(con, "sft_examples", example, "note", s.review_note)
    return example


def _insert_document(con: duckdb.DuckDBPyConnection, ctx: SFTContext, d: DemoDocument, slot: int) -> None:
    chunk = _chunk_id(ctx, d.trait)
    doc = document_id(ctx.version.id, chunk, d.doc_type, slot, 0)
    lineage = [
        _generation(con, "doc_generations", "brainstorm", doc, "generator", parsed=d.brainstorm),
        _generation(con, "doc_generations", "draft", doc, "generator", text=d.draft),
        _generation(con, "doc_generations", "critique", doc, "critic", parsed=d.critique),
        _generation(con, "doc_generations", "rewrite", doc, "critic", text=d.text),
    ]
    _generation(con, "doc_generations", "rating", doc, "rater", parsed=d.rating)
    words = ctx.project.config.docs.types.get(d.doc_type, DEFAULT_DOC_TYPES[d.doc_type])
    con.execute(
        "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names,"
        " brainstorm_id, draft_id, critique_id, rewrite_id, text, origin, scores, run_id, status)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, 'generated', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [doc, ctx.version.id, chunk, d.doc_type, words, slot, json.dumps(d.names), *lineage, d.text,
         d.rating.model_dump_json(), DEMO_RUN, d.status],
    )  # fmt: skip
    if d.status == "ok":
        _review(con, "documents", doc, "accept")


def _load_audit(project: Project, demo: DemoData, example_ids: list[str]) -> Audit:
    """The examples frozen as an audit dataset, its audit, the patterns, their evidence and ratings."""
    rows: dict[str, DatasetRow] = {}  # by demo id
    for s, example in zip(demo.sft.scenarios, example_ids, strict=True):
        record = {"messages": [{"role": "user", "content": s.user_prompt}, {"role": "assistant", "content": s.refined}]}
        rows[s.id] = DatasetRow(example, record, render_record(record, "messages"), s.trait)
    # Not snapshot_store: it takes accepted rows only, and most demo examples still await review.
    dataset = save_dataset(project, name=demo.audit.dataset_name, source="sft", format="messages",
                           rows=list(rows.values()), origin=DEMO_ORIGIN)  # fmt: skip
    audit = start_audit(project, dataset.id)
    with project.store.transaction() as con:
        for p in demo.audit.patterns:
            pattern = _insert_pattern(con, audit, p, rows)
            con.executemany(
                "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [[pattern.id, pattern.criteria_hash, text_hash(rows[key].text), level, HAND_WRITTEN]
                 for key, level in p.ratings.items()],
            )  # fmt: skip
    return audit


def _insert_pattern(
    con: duckdb.DuckDBPyConnection, audit: Audit, p: DemoPattern, rows: dict[str, DatasetRow]
) -> Pattern:
    origin = "found" if p.candidates else "manual"
    candidate_ids = [stable_id(audit.id, "demo-candidate", p.name, i) for i in range(len(p.candidates))]
    for cid, c in zip(candidate_ids, p.candidates, strict=True):
        evidence = [{"row_id": rows[e.example].row_id, "quote": e.quote, "verified": True} for e in c.evidence]
        con.execute(
            "INSERT INTO audit_candidates (id, audit_id, scan, name, description, kind, evidence, generation_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [cid, audit.id, c.scan, c.name, c.description, p.kind, json.dumps(evidence), HAND_WRITTEN],
        )
    pattern = Pattern(
        id=stable_id(audit.id, origin, p.name.lower()), audit_id=audit.id, name=p.name, description=p.description,
        kind=p.kind, broad=p.broad, strict=p.strict, origin=origin, scans=sorted({c.scan for c in p.candidates}),
        candidate_ids=candidate_ids, status="active", created_at=audit.created_at, updated_at=audit.created_at,
    )  # fmt: skip
    con.execute(
        "INSERT INTO audit_patterns (id, audit_id, name, description, kind, broad, strict, origin, scans,"
        " candidate_ids, status, generation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)"
        " ON CONFLICT (id) DO NOTHING",
        [pattern.id, audit.id, p.name, p.description, p.kind, p.broad, p.strict, origin, json.dumps(pattern.scans),
         json.dumps(candidate_ids), HAND_WRITTEN if p.candidates else None],
    )  # fmt: skip
    return pattern
