-- 005: Training: frozen training datasets with their recipe and lineage, training runs, the
-- metrics they stream while they run, and the checkpoints they leave.
--
-- A training dataset never changes once written: its id is a hash of its rows and recipe, so
-- building the same recipe over the same rows again returns it and writes nothing.

CREATE TABLE train_datasets (
    id             VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,     -- sft | preference | midtrain
    recipe         JSON NOT NULL,        -- sources, filters, baseline, synthetic fraction, seed, split
    manifest       JSON NOT NULL,        -- traits versions, row ids per origin, counts, content hash
    train_rows     INTEGER NOT NULL,
    validation_rows INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE train_rows (
    dataset_id     VARCHAR NOT NULL,
    split          VARCHAR NOT NULL,     -- train | validation
    position       INTEGER NOT NULL,     -- order within the split, from 0 (already shuffled)
    origin         VARCHAR NOT NULL,     -- synthetic | baseline
    source_id      VARCHAR,              -- the store row (example, document) or where in the baseline file
    record         JSON NOT NULL,        -- TRL's format: {messages} | {prompt, chosen, rejected} | {text}
    PRIMARY KEY (dataset_id, split, position)
);

CREATE TABLE train_runs (
    id             VARCHAR PRIMARY KEY,
    method         VARCHAR NOT NULL,     -- sft | midtrain | dpo | bdpo
    dataset_id     VARCHAR NOT NULL,
    base_model     VARCHAR NOT NULL,     -- what was loaded: a hub name or a path
    parent_checkpoint VARCHAR,           -- the checkpoint this run continues from (chaining), if any
    backend        VARCHAR NOT NULL,     -- unsloth | trl
    config         JSON NOT NULL,        -- the method's config, every field
    output_dir     VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,     -- running | done | failed
    error          VARCHAR,
    started_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at    TIMESTAMP
);

CREATE TABLE train_metrics (
    run_id         VARCHAR NOT NULL,
    step           INTEGER NOT NULL,
    split          VARCHAR NOT NULL,     -- train | eval
    name           VARCHAR NOT NULL,     -- loss, learning_rate, grad_norm, tokens_per_s, peak_memory_mb ...
    value          DOUBLE NOT NULL,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (run_id, split, step, name)
);

CREATE TABLE checkpoints (
    id             VARCHAR PRIMARY KEY,
    run_id         VARCHAR NOT NULL,
    step           INTEGER NOT NULL,
    path           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,     -- adapter | full | merged
    base_model     VARCHAR NOT NULL,     -- what an adapter applies to
    manifest       JSON NOT NULL,        -- method, dataset, config hash, backend, library versions
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
