-- 008: Lexical patterns of the pattern audit: patterns the lexical scanner counted (origin
-- `lexical`, beside `found` and `manual`), each with the deterministic rule that rates it in SQL,
-- with no model call. Their ratings go to audit_ratings like any other, under generation id
-- `lexical:<rule hash>` (there is no audit_generations row: nothing was generated).

-- The rule, e.g. {"type": "opener", "words": ["bottom", "line"]} or {"type": "feature",
-- "feature": "bullet_list"} (see workbench/audit/lexical_rules.py); NULL for an LLM pattern.
ALTER TABLE audit_patterns ADD COLUMN rule JSON;
-- How strongly discovery ranked it: its document frequency, or its log-odds z-score against the
-- reference corpus; NULL for an LLM pattern. Lexical patterns are listed by it.
ALTER TABLE audit_patterns ADD COLUMN score DOUBLE;
-- audit_patterns.status gains `not_found`: a lexical pattern the latest discovery no longer
-- finds (discovery's own retirement, undone when it is found again), unlike `removed`, which is
-- a person's decision and stays.
