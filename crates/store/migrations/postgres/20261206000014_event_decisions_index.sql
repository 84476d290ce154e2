-- The daily report reads a day's decisions (approvals and annulments: one event in twelve).
-- The index of every event by kind and instant cost ≈ 55 bytes per event — 700 per
-- application, most of them for kinds no query asks for by time (issue #19). This one holds
-- the decisions only, with the application each decides, so the report's decision times
-- find their applications without reading the events' pages. `kind = 'annulled'` (the
-- annulment reasons) is within its condition too.
--
-- Building it reads the whole events table once and blocks writes to it meanwhile: on a
-- large database apply this migration in a quiet hour (docs/OPERATIONS.md).
--
-- Keyed by the instant alone: the condition already says which kinds, so the planner asks it
-- for a range of instants, which a key led by the kind could only answer by reading all of it.
CREATE INDEX events_decisions_idx ON events (at) INCLUDE (kind, application_id)
    WHERE kind IN ('approved', 'annulled');
DROP INDEX events_kind_at_idx;
