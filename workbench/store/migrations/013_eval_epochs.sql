-- 013: Evals with power and re-judging.
--
-- A case can be played several times (epochs, at a temperature above zero): each play is its own
-- sample, numbered by `epoch` (0 for runs from before this migration, whose sample id stays the
-- hash of run and case). `source_run` marks a re-judged run: the transcripts of that run scored
-- again by other judges, without replaying the target; to judge a transcript again its case is
-- needed, so each sample keeps the case as it was played (`case_data`; NULL before this migration,
-- when re-judging reads the cases file instead).

ALTER TABLE eval_samples ADD COLUMN epoch INTEGER DEFAULT 0;
ALTER TABLE eval_runs ADD COLUMN source_run VARCHAR;
ALTER TABLE eval_samples ADD COLUMN case_data JSON;
