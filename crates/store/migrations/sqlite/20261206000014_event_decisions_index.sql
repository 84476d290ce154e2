-- PostgreSQL's migration 20261206000014 narrows the events' kind index to the decisions.
-- SQLite keeps events_kind_at_idx: its planner uses a partial index only when the query
-- repeats the index's condition word for word, and the annulment reasons ask for one kind.
-- The file keeps the two backends' versions in step.
SELECT 1;
