-- kuelik on SQLite: the initial schema. Keep it equivalent to migrations/postgres.
--
-- Conventions (both backends): instants are INTEGER microseconds since the Unix epoch; civil
-- dates are TEXT 'YYYY-MM-DD'; ids are TEXT UUIDs (hyphenated, lowercase); JSON is TEXT. Whole
-- aggregates live in a JSON `data` column; the other columns exist to be queried and indexed.

-- The population register (the local copy the service checks eligibility against).
CREATE TABLE people (
    iin    TEXT PRIMARY KEY NOT NULL,
    region TEXT NOT NULL,
    data   TEXT NOT NULL
);

CREATE TABLE staff (
    id         TEXT PRIMARY KEY NOT NULL,
    username   TEXT NOT NULL,
    role       TEXT NOT NULL,
    region     TEXT,
    point      TEXT,
    active     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
CREATE UNIQUE INDEX staff_username_key ON staff (username);

CREATE TABLE otp_challenges (
    id          TEXT PRIMARY KEY NOT NULL,
    iin         TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL CHECK (attempts >= 0),
    consumed_at INTEGER
);
CREATE INDEX otp_challenges_iin_idx ON otp_challenges (iin, created_at);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL,
    subject    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE applications (
    id                 TEXT PRIMARY KEY NOT NULL,
    applicant          TEXT NOT NULL,
    region             TEXT NOT NULL,
    registration_point TEXT,
    state              TEXT NOT NULL CHECK (state IN (
        'draft', 'submitted', 'queued', 'under_review', 'approved', 'in_production',
        'dispatched', 'ready_for_pickup', 'issued', 'annulled', 'withdrawn')),
    live               INTEGER GENERATED ALWAYS AS (
        state NOT IN ('issued', 'annulled', 'withdrawn')) VIRTUAL,
    ticket             TEXT,
    due_date           TEXT,
    submitted_at       INTEGER,
    taken_at           INTEGER,
    reviewer           TEXT,
    created_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL CHECK (version >= 1),
    data               TEXT NOT NULL
);
-- One live application per person (R13): StoreError::Duplicate("live_application").
CREATE UNIQUE INDEX applications_live_applicant_key ON applications (applicant)
    WHERE state NOT IN ('issued', 'annulled', 'withdrawn');
CREATE UNIQUE INDEX applications_ticket_key ON applications (ticket);
CREATE INDEX applications_applicant_idx ON applications (applicant, created_at);
-- Work queues: a region's officers, a registration point's operators, and national views.
CREATE INDEX applications_region_queue_idx
    ON applications (region, state, due_date, submitted_at, id);
CREATE INDEX applications_point_queue_idx
    ON applications (registration_point, state, due_date, submitted_at, id);
CREATE INDEX applications_state_queue_idx ON applications (state, due_date, submitted_at, id);
CREATE INDEX applications_taken_idx ON applications (state, taken_at)
    WHERE taken_at IS NOT NULL;

-- The life-cycle events: append-only (the triggers below refuse UPDATE and DELETE).
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL REFERENCES applications (id),
    kind           TEXT NOT NULL,
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    actor_staff    TEXT,
    at             INTEGER NOT NULL,
    data           TEXT NOT NULL
);
CREATE INDEX events_application_idx ON events (application_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;

-- Photos and signature images, content-addressed by the SHA-256 of their bytes (hex).
CREATE TABLE blobs (
    digest       TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE payments (
    id                TEXT PRIMARY KEY NOT NULL,
    application_id    TEXT NOT NULL REFERENCES applications (id),
    payer             TEXT NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    status            TEXT NOT NULL CHECK (status IN (
        'pending', 'confirmed', 'failed', 'refund_pending', 'refunded')),
    gateway_reference TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX payments_gateway_reference_key ON payments (gateway_reference);
CREATE INDEX payments_application_idx ON payments (application_id, created_at);
CREATE INDEX payments_status_idx ON payments (status, created_at);

-- Messages to deliver after the commit; claimed with a lease (next_attempt_at).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, created_at, id)
    WHERE delivered_at IS NULL;

-- A citizen's in-app notices. The id is the outbox message's: a retry cannot show one twice.
CREATE TABLE notices (
    id             TEXT PRIMARY KEY NOT NULL,
    iin            TEXT NOT NULL,
    application_id TEXT,
    kind           TEXT NOT NULL,
    message        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    read_at        INTEGER
);
CREATE INDEX notices_iin_idx ON notices (iin, created_at, id);

-- Who did what to what. Append-only like events; sequencing and hashing will go in a table of
-- their own, so that these rows are never rewritten.
CREATE TABLE audit_entries (
    pos        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    at         INTEGER NOT NULL,
    actor_role TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    details    TEXT NOT NULL
);
CREATE INDEX audit_entries_at_idx ON audit_entries (at, pos);
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused');
END;

-- The first answer to a request made with an Idempotency-Key.
CREATE TABLE idempotency (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    status          INTEGER NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_created_at_idx ON idempotency (created_at);
