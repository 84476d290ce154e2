-- The timeline's columns leave the events' index by application (issue #19): included, they
-- made it 1.9 KB per application — a quarter of the database — to spare a status read its
-- dozen heap pages. Measured at 1 M applications on the same database (docs/PERFORMANCE.md):
-- status read p99 1.32 ms with them, 1.60 ms without (the target is 5 ms); the index is
-- 0.5 KB per application without them. The index by (application, seq) serves the history,
-- the timeline and the status read as it did before migration 9.
--
-- Building it reads the whole events table once and blocks writes to it meanwhile: on a
-- large database apply this migration in a quiet hour (docs/OPERATIONS.md).
CREATE INDEX events_application_idx ON events (application_id, seq);
DROP INDEX events_timeline_idx;
