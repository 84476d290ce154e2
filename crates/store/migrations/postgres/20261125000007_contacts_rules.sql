-- A citizen's own contact details for notices (the register's phone stays the channel for
-- one-time codes), and the administrator's rule-set activations. Keep it equivalent to
-- migrations/sqlite.

CREATE TABLE contact_details (
    iin        TEXT PRIMARY KEY NOT NULL,
    phone      TEXT,
    language   TEXT,
    updated_at BIGINT NOT NULL
);

-- Append-only: the history of which rules were brought in, by whom, from when.
CREATE TABLE rule_activations (
    id           UUID PRIMARY KEY NOT NULL,
    version      TEXT NOT NULL,
    active_from  TEXT NOT NULL,
    activated_by UUID NOT NULL,
    activated_at BIGINT NOT NULL
);
CREATE TRIGGER rule_activations_append_only BEFORE UPDATE OR DELETE ON rule_activations
    FOR EACH ROW EXECUTE FUNCTION kuelik_append_only();
CREATE TRIGGER rule_activations_no_truncate BEFORE TRUNCATE ON rule_activations
    FOR EACH STATEMENT EXECUTE FUNCTION kuelik_append_only();
