-- kuelik on PostgreSQL: the initial schema. Keep it equivalent to migrations/sqlite.
--
-- Conventions (both backends): instants are BIGINT microseconds since the Unix epoch; civil
-- dates are TEXT 'YYYY-MM-DD'; ids are UUID; JSON is JSONB. Whole aggregates live in a JSON
-- `data` column; the other columns exist to be queried and indexed. The store maps unique
-- violations to domain errors by the constraint and index names below: rename with care.

-- The population register (the local copy the service checks eligibility against).
CREATE TABLE people (
    iin    TEXT PRIMARY KEY NOT NULL,
    region TEXT NOT NULL,
    data   JSONB NOT NULL
);

CREATE TABLE staff (
    id         UUID PRIMARY KEY NOT NULL,
    username   TEXT COLLATE "C" NOT NULL,
    role       TEXT NOT NULL,
    region     TEXT,
    point      TEXT,
    active     BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    data       JSONB NOT NULL
);
CREATE UNIQUE INDEX staff_username_key ON staff (username);

CREATE TABLE otp_challenges (
    id          UUID PRIMARY KEY NOT NULL,
    iin         TEXT NOT NULL,
    purpose     JSONB NOT NULL,
    code_hash   BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL CHECK (attempts >= 0),
    consumed_at BIGINT
);
CREATE INDEX otp_challenges_iin_idx ON otp_challenges (iin, created_at);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    subject    JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE applications (
    id                 UUID PRIMARY KEY NOT NULL,
    applicant          TEXT NOT NULL,
    region             TEXT NOT NULL,
    registration_point TEXT,
    state              TEXT NOT NULL CHECK (state IN (
        'draft', 'submitted', 'queued', 'under_review', 'approved', 'in_production',
        'dispatched', 'ready_for_pickup', 'issued', 'annulled', 'withdrawn')),
    live               BOOLEAN GENERATED ALWAYS AS (
        state NOT IN ('issued', 'annulled', 'withdrawn')) STORED,
    ticket             TEXT,
    -- 'YYYY-MM-DD': byte order is date order (and the queue indexes can serve ORDER BY).
    due_date           TEXT COLLATE "C",
    submitted_at       BIGINT,
    taken_at           BIGINT,
    reviewer           UUID,
    created_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL CHECK (version >= 1),
    data               JSONB NOT NULL
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

-- Refuses any change to an append-only table.
CREATE FUNCTION kuelik_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'raise_exception';
END;
$$;

-- The life-cycle events: append-only (the triggers below refuse UPDATE, DELETE, TRUNCATE).
CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id UUID NOT NULL REFERENCES applications (id),
    kind           TEXT NOT NULL,
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    actor_staff    UUID,
    at             BIGINT NOT NULL,
    data           JSONB NOT NULL
);
CREATE INDEX events_application_idx ON events (application_id, seq);
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION kuelik_append_only();

-- Photos and signature images, content-addressed by the SHA-256 of their bytes (hex).
CREATE TABLE blobs (
    digest       TEXT PRIMARY KEY NOT NULL CHECK (length(digest) = 64),
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    bytes        BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE payments (
    id                UUID PRIMARY KEY NOT NULL,
    application_id    UUID NOT NULL REFERENCES applications (id),
    payer             TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount >= 0),
    status            TEXT NOT NULL CHECK (status IN (
        'pending', 'confirmed', 'failed', 'refund_pending', 'refunded')),
    gateway_reference TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX payments_gateway_reference_key ON payments (gateway_reference);
CREATE INDEX payments_application_idx ON payments (application_id, created_at);
CREATE INDEX payments_status_idx ON payments (status, created_at);

-- Messages to deliver after the commit; claimed with a lease (next_attempt_at) and
-- FOR UPDATE SKIP LOCKED, so that two instances never claim the same message.
CREATE TABLE outbox (
    id              UUID PRIMARY KEY NOT NULL,
    topic           TEXT NOT NULL,
    payload         JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL CHECK (attempts >= 0),
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, created_at, id)
    WHERE delivered_at IS NULL;

-- A citizen's in-app notices. The id is the outbox message's: a retry cannot show one twice.
CREATE TABLE notices (
    id             UUID PRIMARY KEY NOT NULL,
    iin            TEXT NOT NULL,
    application_id UUID,
    kind           TEXT NOT NULL,
    message        JSONB NOT NULL,
    created_at     BIGINT NOT NULL,
    read_at        BIGINT
);
CREATE INDEX notices_iin_idx ON notices (iin, created_at, id);

-- Who did what to what. Append-only like events; sequencing and hashing will go in a table of
-- their own, so that these rows are never rewritten.
CREATE TABLE audit_entries (
    pos        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         UUID NOT NULL UNIQUE,
    at         BIGINT NOT NULL,
    actor_role TEXT NOT NULL,
    actor      JSONB NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    details    JSONB NOT NULL
);
CREATE INDEX audit_entries_at_idx ON audit_entries (at, pos);
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION kuelik_append_only();

-- The first answer to a request made with an Idempotency-Key.
CREATE TABLE idempotency (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    status          BIGINT NOT NULL,
    body            JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    CONSTRAINT idempotency_pkey PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_created_at_idx ON idempotency (created_at);
