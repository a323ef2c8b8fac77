-- 003: Midtraining documents: every model output of the documents pipeline, and the documents.
--
-- `doc_generations` has the columns of `sft_generations`, so the same StepRunner writes both.
-- A document row is one version of one document slot (trait, type, index); its lineage is the
-- ids of the generations it came from. Edits and regenerations are new rows linked by parent_id.

CREATE TABLE doc_generations (
    id             VARCHAR PRIMARY KEY,
    step           VARCHAR NOT NULL,     -- brainstorm | draft | critique | rewrite | rating
    subject_id     VARCHAR NOT NULL,     -- the document
    variant        VARCHAR NOT NULL,
    role           VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    template_hash  VARCHAR,
    cache_key      VARCHAR NOT NULL,
    run_id         VARCHAR,
    system_prompt  VARCHAR,
    text           VARCHAR,
    parsed         JSON,
    note           VARCHAR,              -- a reviewer's note that went into the prompt
    status         VARCHAR NOT NULL,     -- ok | refused | truncated | parse_failed | error
    reason         VARCHAR,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX doc_generations_subject ON doc_generations (subject_id, step);

CREATE TABLE documents (
    id             VARCHAR PRIMARY KEY,
    traits_version VARCHAR NOT NULL,
    chunk_id       VARCHAR NOT NULL,
    doc_type       VARCHAR NOT NULL,
    target_words   INTEGER NOT NULL,
    slot           INTEGER NOT NULL,     -- 0..per_type-1 within (chunk, type)
    attempt        INTEGER NOT NULL,     -- regenerations of the slot (send-backs)
    names          JSON NOT NULL,        -- the people's names this document was offered
    brainstorm_id  VARCHAR,              -- doc_generations rows: the lineage
    draft_id       VARCHAR,
    critique_id    VARCHAR,
    rewrite_id     VARCHAR,
    text           VARCHAR,              -- the rewrite (or a reviewer's edit of it)
    parent_id      VARCHAR,
    origin         VARCHAR NOT NULL,     -- generated | edited | regenerated
    scores         JSON,
    duplicate_of   VARCHAR,
    similarity     DOUBLE,
    note           VARCHAR,
    run_id         VARCHAR,
    status         VARCHAR NOT NULL,     -- brainstormed | drafted | critiqued (in progress) | new | rated
                                         -- | needs_review | ok | filtered | duplicate | rejected | superseded
                                         -- | sent_back | refused | truncated | parse_failed
    reason         VARCHAR,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
