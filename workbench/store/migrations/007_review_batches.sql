-- 007: review batches, so a decision (one item or a bulk action over a whole filter) can be undone,
-- and an index for the review history of one item (the focus view reads it on every rerun).
--
-- Every review_many() call writes its events with one batch_id. Undoing a batch appends one 'undo'
-- event per item (batch_id = the undo's own batch, payload.undoes = the batch undone); nothing is
-- deleted, so the history stays append-only.

ALTER TABLE review_events ADD COLUMN batch_id VARCHAR;
UPDATE review_events SET batch_id = id WHERE batch_id IS NULL;
CREATE INDEX review_events_item ON review_events (item_table, item_id);
CREATE INDEX review_events_batch ON review_events (batch_id);
