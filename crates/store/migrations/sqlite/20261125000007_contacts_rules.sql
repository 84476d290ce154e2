-- A citizen's own contact details for notices (the register's phone stays the channel for
-- one-time codes), and the administrator's rule-set activations.

CREATE TABLE contact_details (
    iin        TEXT PRIMARY KEY NOT NULL,
    phone      TEXT,
    language   TEXT,
    updated_at INTEGER NOT NULL
);

-- Append-only: the history of which rules were brought in, by whom, from when.
CREATE TABLE rule_activations (
    id           TEXT PRIMARY KEY NOT NULL,
    version      TEXT NOT NULL,
    active_from  TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at INTEGER NOT NULL
);
CREATE TRIGGER rule_activations_no_update BEFORE UPDATE ON rule_activations
BEGIN
    SELECT RAISE(ABORT, 'rule_activations are append-only');
END;
CREATE TRIGGER rule_activations_no_delete BEFORE DELETE ON rule_activations
BEGIN
    SELECT RAISE(ABORT, 'rule_activations are append-only');
END;
