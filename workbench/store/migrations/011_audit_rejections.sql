-- 011: Why an audit's candidate patterns were dropped, counted where the check happens, so a
-- report can say why an audit found nothing ("0 patterns survived: 14 candidates, 14 with
-- evidence on rows not in the batch") instead of suggesting the run that was just made.
--
-- The scan step writes one row per scan and reason (the candidates it dropped); the cluster
-- step replaces its rows each time it groups the candidates.

CREATE TABLE audit_rejections (
    audit_id       VARCHAR NOT NULL,
    step           VARCHAR NOT NULL,     -- scan | cluster
    source_id      VARCHAR NOT NULL,     -- the scan's generation id, or 'groups' for the cluster step
    reason         VARCHAR NOT NULL,     -- unknown_rows | no_evidence | too_few_scans | not_merged
    candidates     INTEGER NOT NULL,     -- candidates dropped for that reason
    PRIMARY KEY (audit_id, step, source_id, reason)
);
