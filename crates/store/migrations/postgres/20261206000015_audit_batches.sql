-- The audit chain stored per batch (issue #19): a checkpoint now says which rows its batch
-- chained — every event with `seq` up to `events_to` and every audit entry with `pos` up to
-- `audit_to` not chained before, events first, each source in its own order — and keeps the
-- first 4 bytes of each entry's chain hash (`tags`), enough to name an edited entry. The
-- sequencer reads how far no writer can still add rows (it briefly takes a SHARE lock on
-- each table), so the order needs no list of its own: no `audit_pending` row per written
-- row and no `audit_chain` row per chained one (≈ 180 bytes per entry; 2 KB per
-- application).
--
-- Rows written before this migration keep their `audit_chain` rows and are verified as
-- before; rows still in `audit_pending` are chained the old way first. Checkpoints of those
-- batches have the three columns NULL.
ALTER TABLE audit_checkpoints
    ADD COLUMN events_to BIGINT,
    ADD COLUMN audit_to BIGINT,
    ADD COLUMN tags BYTEA,
    ADD CONSTRAINT audit_checkpoints_batch_check CHECK (
        (events_to IS NULL) = (audit_to IS NULL) AND (events_to IS NULL) = (tags IS NULL));
DROP TRIGGER events_to_sequence ON events;
DROP TRIGGER audit_entries_to_sequence ON audit_entries;
DROP FUNCTION kuelik_to_sequence();
