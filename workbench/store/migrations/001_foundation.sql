-- 001: traits documents, chunks, runs, the model-call cache and ledger, review events.

-- A traits document is a name; its content lives in immutable, content-hashed versions.
CREATE TABLE traits_documents (
    name        VARCHAR PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE traits_versions (
    id          VARCHAR PRIMARY KEY,   -- sha256 of the document text (prefix), immutable
    document    VARCHAR NOT NULL,      -- traits_documents.name
    number      INTEGER NOT NULL,      -- 1, 2, 3 ... within the document
    title       VARCHAR,               -- the document's H1, if any
    source_path VARCHAR,               -- where it was read from, for the record
    text        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (document, number)
);

-- Chunk content is shared between versions: same kind and text => same id.
CREATE TABLE chunks (
    id      VARCHAR PRIMARY KEY,
    kind    VARCHAR NOT NULL,          -- 'trait' | 'guidance'
    title   VARCHAR NOT NULL,
    text    VARCHAR NOT NULL
);

-- Where each chunk sits in a version. `key` is the chunk's structural identity (a trait's
-- title, a guidance section's heading path) and pairs chunks across versions in a diff.
CREATE TABLE version_chunks (
    version_id   VARCHAR NOT NULL,
    chunk_id     VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    position     INTEGER NOT NULL,
    line         INTEGER NOT NULL,
    heading_path VARCHAR[] NOT NULL,
    PRIMARY KEY (version_id, chunk_id)
);

-- One row per stage run: its budget, status and lineage.
CREATE TABLE runs (
    id             VARCHAR PRIMARY KEY,
    stage          VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,   -- running | done | failed | stopped_budget
    started_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at    TIMESTAMP,
    traits_version VARCHAR,
    budget_usd     DOUBLE,
    config         JSON,
    note           VARCHAR
);

-- The gateway's cache: the final outcome of a call, keyed by a hash of everything that
-- determines it. Only outcomes of the model itself are cached (ok, length, safety,
-- refusal, parse_failed), never transient transport errors.
CREATE TABLE llm_cache (
    key           VARCHAR PRIMARY KEY,
    model         VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,
    finish_reason VARCHAR,
    text          VARCHAR,
    parsed        JSON,
    error         VARCHAR,
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    request       JSON NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- The ledger: one row per request actually sent (retries and repairs included).
CREATE TABLE llm_calls (
    id            VARCHAR PRIMARY KEY,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    run_id        VARCHAR,
    stage         VARCHAR NOT NULL,
    role          VARCHAR,
    model         VARCHAR NOT NULL,
    cache_key     VARCHAR NOT NULL,
    template_hash VARCHAR,
    attempt       INTEGER NOT NULL,
    purpose       VARCHAR NOT NULL,    -- 'call' | 'repair'
    status        VARCHAR NOT NULL,    -- ok | length | safety | refusal | invalid_json | retried | error
    finish_reason VARCHAR,
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    cost_usd      DOUBLE,
    latency_ms    DOUBLE,
    error         VARCHAR
);

-- Human review is append-only: the current status of an item is derived from its events.
CREATE TABLE review_events (
    id          VARCHAR PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    item_table  VARCHAR NOT NULL,
    item_id     VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,      -- accept | reject | edit | note | regenerate
    reviewer    VARCHAR NOT NULL,
    note        VARCHAR,
    payload     JSON
);
