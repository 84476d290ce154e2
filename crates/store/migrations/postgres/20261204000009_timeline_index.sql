-- A status read shows an application's timeline: kind, states, role and time of each of its
-- events. Events are appended in time order, so one application's rows lie on as many heap
-- pages as it has events; with these columns included in the index the timeline is an
-- index-only scan. It replaces the (application_id, seq) index, which it extends (every query
-- that used that one can use this one).
CREATE INDEX events_timeline_idx
    ON events (application_id, seq) INCLUDE (kind, from_state, to_state, actor_role, at);
DROP INDEX events_application_idx;
