-- A finished application's history as one row (issue #19; crates/store/src/history_archive.rs).
-- A worker moves the event rows of applications that are finished and quiet — every event
-- already in the audit chain — into one compressed row here, and their approvals and
-- annulments into `archived_decisions` for the reports. Reads of a history, a timeline and a
-- status take the archived part first, then any event rows written after it; audit
-- verification reads archived events in the chain's order beside the rows (by `first_seq`).
CREATE TABLE archived_histories (
    application_id TEXT PRIMARY KEY NOT NULL REFERENCES applications (id),
    -- The first `seq` archived (verification reads histories in that order) and the last
    -- event's instant (retention reads it).
    first_seq INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    events    BLOB NOT NULL
);
CREATE UNIQUE INDEX archived_histories_first_seq_idx ON archived_histories (first_seq);

-- The archived approvals and annulments, as the reports read them from `events` (an
-- approval's event leads to the state `approved`, an annulment's to `annulled`: the kind says
-- the outcome; the reason is an annulment's).
CREATE TABLE archived_decisions (
    application_id TEXT NOT NULL REFERENCES applications (id),
    kind     TEXT NOT NULL,
    at       INTEGER NOT NULL,
    reason   TEXT
);
CREATE INDEX archived_decisions_at_idx ON archived_decisions (at);

-- Events stay append-only for everyone but the archiving worker, which marks its own
-- transaction with a row here (inserted and deleted inside it, so never seen committed).
CREATE TABLE events_archiving (one INTEGER PRIMARY KEY CHECK (one = 1));
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM events_archiving)
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;
