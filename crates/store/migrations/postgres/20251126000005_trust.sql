-- The trust chain (R11, R14): officers' certificates and sealed keys, signed approvals,
-- production's signature checks, and the tamper-evident audit chain. Keep it equivalent to
-- migrations/sqlite.

-- An officer's X.509 certificate, bound to their staff account; for remote signing also
-- their private key, sealed under a key derived (argon2id) from their PIN.
-- Every binding is kept (a renewed certificate is a new row), so a document approved under
-- an earlier certificate still verifies; remote signing uses the newest.
CREATE TABLE officer_credentials (
    fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 64),
    staff_id    UUID NOT NULL REFERENCES staff (id),
    certificate BYTEA NOT NULL,
    sealed_key  TEXT,
    bound_at    BIGINT NOT NULL
);
CREATE INDEX officer_credentials_staff_idx ON officer_credentials (staff_id, bound_at);

-- What the officer signed when approving, byte for byte: the canonical approval document and
-- the detached CMS signature over it. One per application, never changed.
CREATE TABLE approvals (
    application_id UUID PRIMARY KEY NOT NULL REFERENCES applications (id),
    officer        UUID NOT NULL,
    method         TEXT NOT NULL CHECK (method IN ('client', 'remote')),
    document       BYTEA NOT NULL,
    signature      BYTEA NOT NULL,
    signed_at      BIGINT NOT NULL
);
CREATE TRIGGER approvals_append_only BEFORE UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();

-- Every verification the production centre ran before making a document, with its outcome
-- and, for a refusal, the reason code.
CREATE TABLE signature_checks (
    id             UUID PRIMARY KEY NOT NULL,
    application_id UUID NOT NULL REFERENCES applications (id),
    at             BIGINT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('verified', 'refused')),
    code           TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX signature_checks_application_idx ON signature_checks (application_id, at);

-- Rows waiting for the audit sequencer. Filled by triggers, so no writer can forget it; the
-- sequencer moves them into audit_chain in batches.
CREATE TABLE audit_pending (
    pos        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source     TEXT NOT NULL CHECK (source IN ('event', 'audit')),
    source_pos BIGINT NOT NULL
);
CREATE UNIQUE INDEX audit_pending_source_key ON audit_pending (source, source_pos);
INSERT INTO audit_pending (source, source_pos)
    SELECT source, source_pos FROM (
        SELECT 'event' AS source, seq AS source_pos, at FROM events
        UNION ALL
        SELECT 'audit', pos, at FROM audit_entries) AS existing
    ORDER BY at, source, source_pos;

CREATE FUNCTION kuelik_to_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'events' THEN
        INSERT INTO audit_pending (source, source_pos) VALUES ('event', NEW.seq);
    ELSE
        INSERT INTO audit_pending (source, source_pos) VALUES ('audit', NEW.pos);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_to_sequence AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION kuelik_to_sequence();
CREATE TRIGGER audit_entries_to_sequence AFTER INSERT ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION kuelik_to_sequence();

-- The hash chain: entry `seq` is the row `source`/`source_pos`; entry_hash = SHA-256 of its
-- canonical bytes, chain_hash = SHA-256(previous chain_hash || entry_hash).
CREATE TABLE audit_chain (
    seq        BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    source     TEXT NOT NULL CHECK (source IN ('event', 'audit')),
    source_pos BIGINT NOT NULL,
    entry_hash BYTEA NOT NULL CHECK (length(entry_hash) = 32),
    chain_hash BYTEA NOT NULL CHECK (length(chain_hash) = 32)
);
CREATE UNIQUE INDEX audit_chain_source_key ON audit_chain (source, source_pos);
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();

-- One signed checkpoint per sequenced batch (JSON, see kuelik-trust's audit module).
CREATE TABLE audit_checkpoints (
    seq  BIGINT PRIMARY KEY NOT NULL,
    at   BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();
