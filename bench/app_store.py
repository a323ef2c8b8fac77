"""Fill a project's store with a large, realistic project for bench/app_queries.py.

    fill_store(project, examples=100_000)

Rows are made in SQL (range() and string functions), not through the pipelines, so 100,000
examples take seconds; the shapes match what the pipelines write: every example has a scenario and
its five generations, most were reviewed, an audit rated a sample for ten patterns, documents, a
ledger of model calls over a month, training runs with their metrics, eval runs with transcripts.
"""

from __future__ import annotations

from pathlib import Path

from workbench.audit.audits import start_audit
from workbench.audit.patterns import add_pattern
from workbench.project import Project
from workbench.store.traits import add_traits_file, version_chunks

REPO = Path(__file__).resolve().parents[1]
STATUSES = "['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'needs_review', 'needs_review', 'filtered', 'rejected']"
STEPS = ["baseline", "critique", "conditioned", "refined", "rating"]
PATTERNS = 10
RATED = 2_000  # the audit's rated sample
METRICS = "['loss', 'learning_rate', 'grad_norm', 'tokens_per_s', 'peak_memory_mb', 'epoch']"


def fill_store(project: Project, examples: int = 100_000) -> None:
    """Add `examples` SFT examples and everything around them to the project's store."""
    version = add_traits_file(project.store, REPO / "data" / "traits" / "candid_care.md", name="bench").version
    chunks = [c.id for c in version_chunks(project.store, version.id)]
    with project.store.transaction() as con:
        params = {"n": examples, "v": version.id, "chunks": chunks, "k": len(chunks)}
        for sql in _SFT + _DOCS + _LEDGER:
            con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    _audit(project, examples)
    with project.store.transaction() as con:
        for sql in _TRAINING + _EVALS:
            con.execute(sql)


_SFT = [
    """INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, origin, axes, framing,
         scenario, user_prompt, status, created_at)
       SELECT 'sc-' || i, $v, $chunks[1 + i % $k], i, 0, 0, 'generated', '{"persona": "p"}', 'plain',
         'A situation numbered ' || i || ' ' || repeat('with some detail ', 8),
         'Question ' || i || ': ' || repeat('what should I do here? ', 4), 'ok',
         TIMESTAMP '2026-10-01' + to_seconds(i * 20)
       FROM range($n) t(i)""",
    f"""INSERT INTO sft_generations (id, step, subject_id, variant, role, model, cache_key, text, parsed, status,
         system_prompt)
       SELECT 'g-' || step || '-' || i, step,
         CASE WHEN step = 'refined' THEN 'g-conditioned-' || i WHEN step = 'rating' THEN 'ex-' || i
              ELSE 'sc-' || i END,
         '', 'generator', 'gemini:gemini-3-flash', 'k-' || step || '-' || i,
         CASE WHEN step IN ('critique', 'rating') THEN NULL ELSE repeat('An answer sentence. ', 15) END,
         CASE WHEN step = 'critique' THEN '{{"verdict": "keep", "reasons": "fine"}}' END, 'ok',
         CASE WHEN step = 'conditioned' THEN 'You are a model with this trait.' END
       FROM range($n) t(i), unnest({STEPS}) s(step)""",
    f"""INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,
         response_generation_id, scores, status, run_id, created_at)
       SELECT 'ex-' || i, 'sc-' || i, $v, $chunks[1 + i % $k], 'generated',
         'Question ' || i || ': ' || repeat('what should I do here? ', 4),
         'Answer ' || i || '. ' || repeat('A considered answer sentence. ', 20), 'g-refined-' || i,
         json_object('realism', 1 + i % 5, 'quality', 1 + (i // 5) % 5, 'embodiment', 1 + (i // 25) % 5,
                     'leakage', 1, 'reasons', 'Reasons for example ' || i),
         ({STATUSES})[1 + i % 10], 'bench', TIMESTAMP '2026-10-01' + to_seconds(i * 20 + 10)
       FROM range($n) t(i)""",
    """INSERT INTO review_events (id, item_table, item_id, action, reviewer, payload, batch_id, created_at)
       SELECT 'ev-' || e.id, 'sft_examples', e.id, CASE e.status WHEN 'ok' THEN 'accept' ELSE 'reject' END,
         ['ada', 'bob', 'cy'][(1 + hash(e.id) % 3)::BIGINT], '{"previous_status": "needs_review"}',
         'b-' || (hash(e.id) % 500)::BIGINT,
         e.created_at + INTERVAL 1 DAY
       FROM sft_examples e WHERE e.status IN ('ok', 'rejected')""",
]

_DOCS = [
    """INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names,
         brainstorm_id, draft_id, critique_id, text, origin, scores, status, created_at)
       SELECT 'doc-' || i, $v, $chunks[1 + i % $k], ['email', 'blog post', 'forum thread', 'news article'][1 + i % 4],
         600, i, 0, '["Ana"]', 'dg-brainstorm-' || i, 'dg-draft-' || i, 'dg-critique-' || i,
         repeat('A paragraph of the document. ', 60), 'generated',
         json_object('realism', 1 + i % 5, 'quality', 4, 'embodiment', 4, 'leakage', 1, 'reasons', 'ok'),
         CASE WHEN i % 3 = 0 THEN 'needs_review' ELSE 'ok' END, TIMESTAMP '2026-10-01' + to_seconds(i * 200)
       FROM range($n // 10) t(i)""",
    """INSERT INTO doc_generations (id, step, subject_id, variant, role, model, cache_key, text, parsed, status)
       SELECT 'dg-' || step || '-' || i, step, 'doc-' || i, '', 'generator', 'gemini:gemini-3-pro', 'k' || i || step,
         CASE WHEN step = 'draft' THEN repeat('A draft paragraph. ', 60) END,
         CASE WHEN step <> 'draft' THEN '{"what": "x", "reasons": "y"}' END, 'ok'
       FROM range($n // 10) t(i), unnest(['brainstorm', 'draft', 'critique']) s(step)""",
]

# About six model calls per example over a month: the Costs and Overview pages aggregate these.
_LEDGER = [
    """INSERT INTO llm_calls (id, created_at, run_id, stage, role, model, cache_key, attempt, purpose, status,
         tokens_in, tokens_out, cost_usd, latency_ms)
       SELECT 'call-' || i, TIMESTAMP '2026-10-01' + to_seconds(i * 4), 'bench',
         ['sft.scenario', 'sft.baseline', 'sft.critique', 'sft.conditioned', 'sft.refined', 'sft.rating'][1 + i % 6],
         'generator', ['gemini:gemini-3-flash', 'gemini:gemini-3-pro', 'openai:qwen2.5-7b'][1 + i % 3],
         'k' || i, 1, 'call', CASE WHEN i % 50 = 0 THEN 'retried' ELSE 'ok' END, 800 + i % 400, 300 + i % 200,
         CASE WHEN i % 3 = 2 THEN NULL ELSE 0.0004 END, 900 + i % 700
       FROM range($n * 6) t(i)""",
]


def _audit(project: Project, examples: int) -> None:
    """An audit over every example: rows in audit_rows, ten patterns, the sample rated for each."""
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audit_datasets (id, name, source, origin, format, row_count)"
            " VALUES ('ds-bench', 'bench examples', 'sft', 'store', 'messages', ?)",
            [examples],
        )
        con.execute(
            "INSERT INTO audit_rows (dataset_id, row_id, position, grp, text, text_hash, record)"
            " SELECT 'ds-bench', id, row_number() OVER (ORDER BY id) - 1, chunk_id, user_prompt || response,"
            " sha256(user_prompt || response), '{}' FROM sft_examples"
        )
    audit = start_audit(project, "ds-bench")
    patterns = [add_pattern(project, audit.id, f"Pattern {p}", f"Description {p}.", broad=f"Broad {p}.",
                            strict=f"Strict {p}.") for p in range(PATTERNS)]  # fmt: skip
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
            " SELECT p.id, p.h, r.text_hash,"
            " ['absent', 'absent', 'broad', 'strict'][(1 + hash(p.id || r.row_id) % 4)::BIGINT],"
            " 'bench' FROM (SELECT unnest(?) AS id, unnest(?) AS h) p,"
            " (SELECT row_id, text_hash FROM audit_rows WHERE dataset_id = 'ds-bench' ORDER BY row_id LIMIT ?) r",
            [[p.id for p in patterns], [p.criteria_hash for p in patterns], RATED],
        )


_TRAINING = [
    """INSERT INTO train_datasets (id, name, kind, recipe, manifest, train_rows, validation_rows)
       VALUES ('td-bench', 'bench mix', 'sft', '{}', '{"counts": {}}', 50000, 1000)""",
    """INSERT INTO train_rows (dataset_id, split, position, origin, source_id, record)
       SELECT 'td-bench', 'train', i, CASE WHEN i % 4 = 0 THEN 'baseline' ELSE 'synthetic' END,
         CASE WHEN i % 4 = 0 THEN 'baseline:' || i ELSE 'ex-' || i END, '{"messages": []}'
       FROM range(50000) t(i)""",
    """INSERT INTO train_runs (id, method, dataset_id, base_model, backend, config, output_dir, status)
       SELECT 'run-' || r, 'sft', 'td-bench', 'Qwen/Qwen2.5-0.5B', 'trl', '{"learning_rate": 0.0002}', '/tmp/x',
         CASE WHEN r = 2 THEN 'running' ELSE 'done' END FROM range(3) t(r)""",
    f"""INSERT INTO train_metrics (run_id, step, split, name, value)
       SELECT 'run-' || r, s, 'train', m, 1.0 / (1 + s) FROM range(3) a(r), range(2000) b(s),
         unnest({METRICS}) c(m)""",
]

_EVALS = [
    """INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status)
       SELECT 'er-' || s || '-' || m, s, m, 'target', 'h', '{}', 'done'
       FROM unnest(['knowledge', 'audit', 'delusion', 'odcv', 'misalignment', 'patterns', 'capability']) a(s),
         unnest(['hf:base', 'checkpoint:sft-1', 'checkpoint:sft-2']) b(m)""",
    """INSERT INTO eval_samples (id, run_id, case_id, status, score, scores, transcript, rationale, details)
       SELECT r.id || '-' || c, r.id, 'case-' || c, CASE WHEN c % 20 = 0 THEN 'invalid' ELSE 'ok' END,
         CASE WHEN c % 20 = 0 THEN NULL ELSE ((hash(r.id || c) % 100)::BIGINT) / 100.0 END, '{}',
         '[{"role": "user", "content": "Hello there, a long question."},'
         || ' {"role": "assistant", "content": "A long and careful answer."}]',
         'The target said "a long and careful answer".', '{}'
       FROM eval_runs r, range(200) t(c)""",
]
