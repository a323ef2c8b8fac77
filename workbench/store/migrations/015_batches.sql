-- 015: Batch jobs: requests the gateway queued for a provider's batch API instead of sending live.
--
-- A batch row and its requests are written before anything is sent to the provider, so a crash
-- between submitting and recording the remote id is found again by the batch's id (the remote
-- job's display name). Answers are stored here when a finished job is collected, together with
-- their ledger rows (priced at batch rates); the gateway hands them to the step that asked, as
-- if they had just come back live, and caches them then.

CREATE TABLE llm_batches (
    id           VARCHAR PRIMARY KEY,   -- the workbench's id; the remote job's display name
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    provider     VARCHAR NOT NULL,      -- gemini | openai | export (a file for another machine)
    model        VARCHAR NOT NULL,      -- the model spec its requests were built for
    stage        VARCHAR NOT NULL,      -- the ledger stage of its requests (sft.scenario, audit.rate, ...)
    run_id       VARCHAR,               -- the run that queued it; its ledger rows count in that work's budget
    role         VARCHAR,
    remote_id    VARCHAR,               -- the provider's job id, once it accepted the job
    state        VARCHAR NOT NULL,      -- submitting | pending | running | succeeded | failed | cancelled
                                        -- | expired | exported
    requests     INTEGER NOT NULL,
    answered     INTEGER,               -- counts once collected (or as the provider reports them)
    failed       INTEGER,
    max_cost_usd DOUBLE,                -- worst case at batch prices when submitted (NULL: no price)
    detail       VARCHAR,               -- the provider's own state name and message
    collected_at TIMESTAMP              -- when its results were stored (final states only)
);

CREATE TABLE llm_batch_requests (
    batch_id      VARCHAR NOT NULL,
    cache_key     VARCHAR NOT NULL,     -- the gateway cache key: the custom_id / key the provider echoes
    template_hash VARCHAR,
    body          JSON NOT NULL,        -- the provider request body, exactly as submitted
    state         VARCHAR NOT NULL,     -- queued | answered | failed | missing
    response      JSON,                 -- the answer's text, finish reason, tokens, tool calls
    error         VARCHAR,              -- why a failed request has no answer
    cost_usd      DOUBLE,               -- its cost at batch prices (also in its ledger row)
    PRIMARY KEY (batch_id, cache_key)
);
