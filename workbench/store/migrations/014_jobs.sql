-- 014: Background jobs: a `workbench …` command the app (or a notebook) started as a process of its own.
--
-- The row is written before the process starts, so a job is never running unrecorded. The child
-- learns its id from WORKBENCH_JOB, marks itself running (with its owner, as runs do), writes its
-- progress here as it goes (stage, done, total, detail) and, when it ends, its exit code, final
-- status and the tail of its log. A job whose process is gone without an end is marked
-- `interrupted` (or `stopped`, when a stop was asked for) by the next reader.

CREATE TABLE jobs (
    id                VARCHAR PRIMARY KEY,
    kind              VARCHAR NOT NULL,   -- sft, docs, audit, dataset, train, eval ...
    args              JSON NOT NULL,      -- the `workbench` arguments, as a JSON list of strings
    pid               INTEGER,            -- the process (and its process group); NULL until started
    owner             VARCHAR,            -- host:pid:start of the process, once it runs
    log_path          VARCHAR NOT NULL,
    status            VARCHAR NOT NULL,   -- starting | running | done | failed | stopped | interrupted
    stage             VARCHAR,
    done              BIGINT NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    detail            VARCHAR,
    started_at        TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at       TIMESTAMP,
    stop_requested_at TIMESTAMP,
    exit_code         INTEGER,
    log_tail          VARCHAR
);
