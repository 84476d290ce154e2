-- The administrator searches the audit log by what an entry is about (an application, by its
-- ticket) and by who acted (a staff account, a citizen's IIN), newest first, a page at a
-- time. Each search is an index range read in (at, pos) order, however long the log grows.
CREATE INDEX audit_entries_target_idx ON audit_entries (target, at, pos)
    WHERE target IS NOT NULL;
CREATE INDEX audit_entries_staff_idx ON audit_entries ((actor ->> 'staff'), at, pos)
    WHERE actor ? 'staff';
CREATE INDEX audit_entries_citizen_idx ON audit_entries ((actor ->> 'iin'), at, pos)
    WHERE actor ? 'iin';
