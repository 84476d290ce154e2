-- PostgreSQL's migration 20261206000013 stops compressing image bytes a second time. SQLite
-- never compresses a BLOB: nothing to change here; the file keeps the two backends' versions
-- in step.
SELECT 1;
