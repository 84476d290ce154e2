-- A finished application's history as one row (issue #19; crates/store/src/history_archive.rs).
-- A worker moves the event rows of applications that are finished and quiet — every event
-- already in the audit chain — into one compressed row here, and their approvals and
-- annulments into `archived_decisions` for the reports. Reads of a history, a timeline and a
-- status take the archived part first, then any event rows written after it; audit
-- verification reads archived events in the chain's order beside the rows (by `first_seq`).
CREATE TABLE archived_histories (
    application_id UUID PRIMARY KEY REFERENCES applications (id),
    -- The first `seq` archived (verification reads histories in that order) and the last
    -- event's instant (retention reads it).
    first_seq BIGINT NOT NULL,
    last_at   BIGINT NOT NULL,
    -- Small and already compressed: kept in the row, never compressed again.
    events    BYTEA NOT NULL
);
ALTER TABLE archived_histories ALTER COLUMN events SET STORAGE MAIN;
CREATE UNIQUE INDEX archived_histories_first_seq_idx ON archived_histories (first_seq);

-- The archived approvals and annulments, as the reports read them from `events` (an
-- approval's event leads to the state `approved`, an annulment's to `annulled`: the kind says
-- the outcome; the reason is an annulment's).
CREATE TABLE archived_decisions (
    application_id UUID NOT NULL REFERENCES applications (id),
    kind     TEXT NOT NULL,
    at       BIGINT NOT NULL,
    reason   TEXT
);
CREATE INDEX archived_decisions_at_idx ON archived_decisions (at);

-- Events stay append-only for everyone but the archiving worker, which says so for its own
-- transaction (`SET LOCAL kuelik.archiving = 'on'`). The check runs once per statement, not
-- once per row: archiving deletes millions of rows. (Whoever can set that setting can drop the
-- trigger too: what proves the history untouched is the audit chain, which verification reads
-- from the archive as from the rows.)
DROP TRIGGER events_append_only ON events;
CREATE FUNCTION kuelik_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('kuelik.archiving', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'raise_exception';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION kuelik_events_append_only();
