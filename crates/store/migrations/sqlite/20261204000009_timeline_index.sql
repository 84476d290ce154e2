-- A status read shows an application's timeline: kind, states, role and time of each of its
-- events. Events are appended in time order, so one application's rows lie on as many table
-- pages as it has events; with these columns in the index the timeline is read from one or
-- two index pages instead. It replaces the (application_id, seq) index, of which it is an
-- extension (every query that used that one can use this one).
CREATE INDEX events_timeline_idx
    ON events (application_id, seq, kind, from_state, to_state, actor_role, at);
DROP INDEX events_application_idx;
