-- 004: Pattern audit: datasets to audit (snapshots of the store's data or imported files),
-- the audit's model outputs, candidate patterns from each scan, the patterns that survive
-- clustering (or that a person added), and ratings of rows against pattern criteria.
--
-- A dataset is frozen once written: its rows never change. A filtered dataset is a new one that
-- names its parent and the filter that made it.

CREATE TABLE audit_datasets (
    id             VARCHAR PRIMARY KEY,  -- hash of the source and the rows: the same rows, the same id
    name           VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,     -- sft | preference | documents | file | outputs | filtered
    origin         VARCHAR,              -- the file imported, or which rows of the store
    format         VARCHAR NOT NULL,     -- messages | prompt_completion | sharegpt | text | preference
    parent_id      VARCHAR,              -- a filtered dataset's parent
    filter         JSON,                 -- {audit_id, patterns, level}: how a filtered dataset was made
    row_count      INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE audit_rows (
    dataset_id     VARCHAR NOT NULL,
    row_id         VARCHAR NOT NULL,     -- the store row's id, or `line N` / `row N` of a file
    position       INTEGER NOT NULL,     -- order in the dataset, from 0
    grp            VARCHAR,              -- what prevalence is broken down by: the trait, or a file's group
    text           VARCHAR NOT NULL,     -- the row as the auditor reads it (a transcript or a document)
    text_hash      VARCHAR NOT NULL,     -- sha256 of text: ratings are keyed by it
    record         JSON NOT NULL,        -- the row in its own format, for export
    PRIMARY KEY (dataset_id, row_id)
);

CREATE TABLE audits (
    id             VARCHAR PRIMARY KEY,  -- hash of the dataset and the scan and cluster settings
    dataset_id     VARCHAR NOT NULL,
    settings       JSON NOT NULL,        -- the [audit] settings it was started with
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Every model output of an audit (scan, merge, rate), in the shape every generations table has.
CREATE TABLE audit_generations (
    id             VARCHAR PRIMARY KEY,
    step           VARCHAR NOT NULL,     -- scan | merge | rate
    subject_id     VARCHAR NOT NULL,     -- the scan, the group, or the rating batch
    variant        VARCHAR NOT NULL,
    role           VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    template_hash  VARCHAR,
    cache_key      VARCHAR NOT NULL,
    run_id         VARCHAR,
    system_prompt  VARCHAR,
    text           VARCHAR,
    parsed         JSON,
    note           VARCHAR,
    status         VARCHAR NOT NULL,     -- ok | refused | truncated | parse_failed | incomplete | error
    reason         VARCHAR,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX audit_generations_subject ON audit_generations (subject_id, step);

-- A pattern one scan reported, with its evidence resolved to row ids.
CREATE TABLE audit_candidates (
    id             VARCHAR PRIMARY KEY,
    audit_id       VARCHAR NOT NULL,
    scan           INTEGER NOT NULL,
    name           VARCHAR NOT NULL,
    description    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,     -- structural | rhetorical | behavioural
    evidence       JSON NOT NULL,        -- [{row_id, quote, verified}]: verified = quote found in the row
    generation_id  VARCHAR NOT NULL
);

CREATE TABLE audit_patterns (
    id             VARCHAR PRIMARY KEY,
    audit_id       VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    description    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    broad          VARCHAR NOT NULL,     -- the criterion for "loosely present"
    strict         VARCHAR NOT NULL,     -- the criterion for "unambiguously present"
    origin         VARCHAR NOT NULL,     -- found | manual
    scans          JSON NOT NULL,        -- the scans that found it (empty for a manual pattern)
    candidate_ids  JSON NOT NULL,        -- the candidates it merges
    status         VARCHAR NOT NULL,     -- active | removed
    generation_id  VARCHAR,              -- the merge that named it (NULL for a manual pattern)
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row's level for one pattern under one version of its criteria. Keyed by the text, so a
-- row rated once is rated for every dataset it is in (a filtered child, a re-import).
CREATE TABLE audit_ratings (
    pattern_id     VARCHAR NOT NULL,
    criteria_hash  VARCHAR NOT NULL,     -- hash of the pattern's name, description, broad and strict
    text_hash      VARCHAR NOT NULL,
    level          VARCHAR NOT NULL,     -- absent | broad | strict (strict implies broad)
    generation_id  VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (pattern_id, criteria_hash, text_hash)
);
