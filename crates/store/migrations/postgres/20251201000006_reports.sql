-- The administrator's reports: submissions by time, decisions and annulments by time.
CREATE INDEX applications_submitted_at_idx ON applications (submitted_at)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX events_kind_at_idx ON events (kind, at);
