-- The audit chain stored per batch (issue #19): a checkpoint now says which rows its batch
-- chained — every event with `seq` up to `events_to` and every audit entry with `pos` up to
-- `audit_to` not chained before, events first, each source in its own order — and keeps the
-- first 4 bytes of each entry's chain hash (`tags`), enough to name an edited entry. SQLite
-- commits one writer at a time, so the rows a reader sees are final up to the newest: the
-- order needs no list of its own, no `audit_pending` row per written row and no
-- `audit_chain` row per chained one. Keep it equivalent to migrations/postgres.
--
-- Rows written before this migration keep their `audit_chain` rows and are verified as
-- before; rows still in `audit_pending` are chained the old way first. Checkpoints of those
-- batches have the three columns NULL.
ALTER TABLE audit_checkpoints ADD COLUMN events_to INTEGER;
ALTER TABLE audit_checkpoints ADD COLUMN audit_to INTEGER;
ALTER TABLE audit_checkpoints ADD COLUMN tags BLOB;
DROP TRIGGER events_to_sequence;
DROP TRIGGER audit_entries_to_sequence;
