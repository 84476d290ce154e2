-- The trust chain (R11, R14): officers' certificates and sealed keys, signed approvals,
-- production's signature checks, and the tamper-evident audit chain. Keep it equivalent to
-- migrations/postgres.

-- An officer's X.509 certificate, bound to their staff account; for remote signing also
-- their private key, sealed under a key derived (argon2id) from their PIN.
-- Every binding is kept (a renewed certificate is a new row), so a document approved under
-- an earlier certificate still verifies; remote signing uses the newest.
CREATE TABLE officer_credentials (
    fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 64),
    staff_id    TEXT NOT NULL REFERENCES staff (id),
    certificate BLOB NOT NULL,
    sealed_key  TEXT,
    bound_at    INTEGER NOT NULL
);
CREATE INDEX officer_credentials_staff_idx ON officer_credentials (staff_id, bound_at);

-- What the officer signed when approving, byte for byte: the canonical approval document and
-- the detached CMS signature over it. One per application, never changed.
CREATE TABLE approvals (
    application_id TEXT PRIMARY KEY NOT NULL REFERENCES applications (id),
    officer        TEXT NOT NULL,
    method         TEXT NOT NULL CHECK (method IN ('client', 'remote')),
    document       BLOB NOT NULL,
    signature      BLOB NOT NULL,
    signed_at      INTEGER NOT NULL
);
CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are append-only: UPDATE refused');
END;
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are append-only: DELETE refused');
END;

-- Every verification the production centre ran before making a document, with its outcome
-- and, for a refusal, the reason code.
CREATE TABLE signature_checks (
    id             TEXT PRIMARY KEY NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id),
    at             INTEGER NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('verified', 'refused')),
    code           TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX signature_checks_application_idx ON signature_checks (application_id, at);

-- Rows waiting for the audit sequencer. Filled by triggers, so no writer can forget it; the
-- sequencer moves them into audit_chain in batches.
CREATE TABLE audit_pending (
    pos        INTEGER PRIMARY KEY AUTOINCREMENT,
    source     TEXT NOT NULL CHECK (source IN ('event', 'audit')),
    source_pos INTEGER NOT NULL
);
CREATE UNIQUE INDEX audit_pending_source_key ON audit_pending (source, source_pos);
INSERT INTO audit_pending (source, source_pos)
    SELECT source, source_pos FROM (
        SELECT 'event' AS source, seq AS source_pos, at FROM events
        UNION ALL
        SELECT 'audit', pos, at FROM audit_entries)
    ORDER BY at, source, source_pos;
CREATE TRIGGER events_to_sequence AFTER INSERT ON events
BEGIN
    INSERT INTO audit_pending (source, source_pos) VALUES ('event', NEW.seq);
END;
CREATE TRIGGER audit_entries_to_sequence AFTER INSERT ON audit_entries
BEGIN
    INSERT INTO audit_pending (source, source_pos) VALUES ('audit', NEW.pos);
END;

-- The hash chain: entry `seq` is the row `source`/`source_pos`; entry_hash = SHA-256 of its
-- canonical bytes, chain_hash = SHA-256(previous chain_hash || entry_hash).
CREATE TABLE audit_chain (
    seq        INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    source     TEXT NOT NULL CHECK (source IN ('event', 'audit')),
    source_pos INTEGER NOT NULL,
    entry_hash BLOB NOT NULL CHECK (length(entry_hash) = 32),
    chain_hash BLOB NOT NULL CHECK (length(chain_hash) = 32)
);
CREATE UNIQUE INDEX audit_chain_source_key ON audit_chain (source, source_pos);
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only: DELETE refused');
END;

-- One signed checkpoint per sequenced batch (JSON, see kuelik-trust's audit module).
CREATE TABLE audit_checkpoints (
    seq  INTEGER PRIMARY KEY NOT NULL,
    at   INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only: UPDATE refused');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only: DELETE refused');
END;
