-- 006: Evaluations: one run per (suite, target model, arm, cases), one sample per case.
--
-- A sample holds everything needed to audit its score: the transcript, every score with the
-- judge's rationale, and why it is invalid when it is. Samples are written when their case is
-- finished, so a killed run resumes with the cases it had not finished.

CREATE TABLE eval_runs (
    id             VARCHAR PRIMARY KEY,  -- hash of suite, model, arm, cases file and traits version
    suite          VARCHAR NOT NULL,     -- knowledge | audit | delusion | odcv | misalignment | patterns | capability
    model          VARCHAR NOT NULL,     -- the target's model spec
    arm            VARCHAR NOT NULL,     -- target | floor | ceiling | baseline ...: how the target is set up
    traits_version VARCHAR,
    cases_hash     VARCHAR NOT NULL,     -- sha256 of the cases the run was asked to run
    config         JSON NOT NULL,        -- suite settings, roles, thresholds
    status         VARCHAR NOT NULL,     -- running | done | failed | stopped_budget
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at    TIMESTAMP
);

CREATE TABLE eval_samples (
    id             VARCHAR PRIMARY KEY,  -- hash of run and case
    run_id         VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,     -- ok | invalid | judge_failed
    reason         VARCHAR,              -- why it is invalid or the judge failed
    score          DOUBLE,               -- the suite's headline score (NULL unless ok)
    scores         JSON NOT NULL,        -- sub-scores: per point, per turn, per verdict ...
    transcript     JSON NOT NULL,        -- [{role, content, ...}] as the conversation went
    rationale      VARCHAR,              -- the judge's reasons, quoting the transcript
    details        JSON NOT NULL,        -- anything else the suite records (strategy assessments, retries)
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX eval_samples_run ON eval_samples (run_id, case_id);
