-- 002: SFT and preference data: scenarios, every model output of the pipeline, finished
-- examples, and an embedding cache for deduplication.
--
-- Ids are deterministic hashes of what a row *is* (chunk, slot, attempt, round ...), so a
-- re-run after a crash inserts nothing twice. Rows a person has reviewed are never updated in
-- their content: edits and regenerations are new rows linked by parent_id.

-- One row per version of a scenario: the original, each critique revision, a human edit, a
-- regeneration with a note. The live version of a slot is the one no other row names as parent.
CREATE TABLE sft_scenarios (
    id             VARCHAR PRIMARY KEY,
    traits_version VARCHAR NOT NULL,
    chunk_id       VARCHAR NOT NULL,
    slot           INTEGER NOT NULL,     -- 0..N-1 within the chunk
    attempt        INTEGER NOT NULL,     -- regenerations of the slot (near-duplicate retries, send-backs)
    round          INTEGER NOT NULL,     -- critique revision round, 0 for a fresh scenario
    parent_id      VARCHAR,              -- the version this one revises, edits or regenerates
    origin         VARCHAR NOT NULL,     -- generated | revised | edited | regenerated
    axes           JSON NOT NULL,        -- the diversity axes this scenario was asked to cover
    framing        VARCHAR NOT NULL,
    scenario       VARCHAR,              -- the situation, in a few sentences
    user_prompt    VARCHAR,              -- what the user actually writes
    note           VARCHAR,              -- the reviewer's note that led to this version
    generation_id  VARCHAR,              -- sft_generations row that produced it (NULL for edits)
    run_id         VARCHAR,
    status         VARCHAR NOT NULL,     -- new | needs_review | ok | revised | filtered | duplicate | rejected
                                         -- | superseded | sent_back | refused | truncated | parse_failed | error
    reason         VARCHAR,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Every model output of the SFT pipeline, with its lineage. `step` is the pipeline step,
-- `subject_id` the row it is about (a scenario, a response, an example).
CREATE TABLE sft_generations (
    id             VARCHAR PRIMARY KEY,
    step           VARCHAR NOT NULL,     -- scenario | baseline | critique | conditioned | refined
                                         -- | rejected | rejected_check | rating
    subject_id     VARCHAR NOT NULL,
    variant        VARCHAR NOT NULL,     -- '' or what distinguishes calls about one subject (a sent-back example)
    role           VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    template_hash  VARCHAR,
    cache_key      VARCHAR NOT NULL,
    run_id         VARCHAR,
    system_prompt  VARCHAR,              -- stored beside the row; never exported into training text
    text           VARCHAR,
    parsed         JSON,
    note           VARCHAR,              -- a reviewer's note that went into the prompt
    status         VARCHAR NOT NULL,     -- ok | refused | truncated | parse_failed | error
    reason         VARCHAR,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX sft_generations_subject ON sft_generations (subject_id, step);

-- A finished chat example: an approved scenario's user prompt and the refined answer (and,
-- for preference data, a rejected answer). Edits and regenerations are new rows.
CREATE TABLE sft_examples (
    id                      VARCHAR PRIMARY KEY,
    scenario_id             VARCHAR NOT NULL,
    traits_version          VARCHAR NOT NULL,
    chunk_id                VARCHAR NOT NULL,
    parent_id               VARCHAR,
    origin                  VARCHAR NOT NULL,  -- generated | edited | regenerated
    user_prompt             VARCHAR NOT NULL,
    response                VARCHAR NOT NULL,
    response_generation_id  VARCHAR,           -- the refined (or conditioned) answer it came from
    rejected                VARCHAR,           -- the dispreferred answer, if one passed its check
    rejected_generation_id  VARCHAR,
    scores                  JSON,              -- the autorater's scores and reasons
    duplicate_of            VARCHAR,
    similarity              DOUBLE,
    note                    VARCHAR,
    run_id                  VARCHAR,
    status                  VARCHAR NOT NULL,  -- new | needs_review | ok | filtered | duplicate | rejected
                                               -- | superseded | sent_back
    reason                  VARCHAR,
    created_at              TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at              TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Embeddings of texts, per embedding model, so dedup never embeds the same text twice.
CREATE TABLE embeddings (
    model      VARCHAR NOT NULL,
    text_hash  VARCHAR NOT NULL,
    vector     FLOAT[] NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (model, text_hash)
);
