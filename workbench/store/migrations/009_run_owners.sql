-- 009: Run owners and pieces of work. A run records the process that owns it, so a later start
-- can tell a run whose process was killed (left `running`) and mark it `interrupted`. A generation
-- run also names its piece of work (`sft:<traits version>`, `docs:<traits version>`,
-- `audit:<audit id>` ...): the budget cap holds for all runs of one piece of work together.

-- `host:pid:start time` of the process running it (workbench/store/owner.py).
ALTER TABLE runs ADD COLUMN owner VARCHAR;
-- The piece of work the run advances; runs of the same work share one budget.
ALTER TABLE runs ADD COLUMN work VARCHAR;
-- Whether budget_usd was set explicitly (`--budget`): later runs of the same work inherit it.
-- Otherwise budget_usd is the config's cap (or an inherited one) at the time the run started.
ALTER TABLE runs ADD COLUMN budget_explicit BOOLEAN;
ALTER TABLE eval_runs ADD COLUMN owner VARCHAR;
-- The cap the eval run (its own piece of work: its id is stable across restarts) works under.
ALTER TABLE eval_runs ADD COLUMN budget_usd DOUBLE;
ALTER TABLE train_runs ADD COLUMN owner VARCHAR;

-- Runs from before this migration: the same pieces of work their stage and inputs name.
UPDATE runs SET work = CASE
    WHEN stage = 'audit' AND json_extract_string(config, '$.steps') IN ('["filter"]', '["outputs"]')
        THEN 'audit-' || json_extract_string(config, '$.steps[0]') || ':' || json_extract_string(config, '$.audit_id')
    WHEN stage = 'audit' AND json_extract_string(config, '$.audit_id') IS NOT NULL
        THEN 'audit:' || json_extract_string(config, '$.audit_id')
    WHEN traits_version IS NOT NULL THEN stage || ':' || traits_version
    ELSE stage || ':' || id
END;

-- Runs still `running` have no owner to ask. A process of an older version that really is still
-- running overwrites this when it finishes; every other one was killed (the issue this fixes).
UPDATE runs SET status = 'interrupted', finished_at = current_timestamp,
    note = 'its process ended without finishing (killed?); recorded before run owners were'
WHERE status = 'running';
UPDATE eval_runs SET status = 'interrupted', finished_at = current_timestamp WHERE status = 'running';
UPDATE train_runs SET status = 'interrupted', finished_at = current_timestamp,
    error = 'its process ended without finishing (killed?); recorded before run owners were'
WHERE status = 'running';
