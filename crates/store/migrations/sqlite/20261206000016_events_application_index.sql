-- PostgreSQL's migration 20261206000016 takes the timeline's columns out of the events'
-- index by application (at national scale they were a quarter of the database). SQLite keeps
-- its covering index: one region's database is small, and its status reads are the ones the
-- working day measures (issue #20). The file keeps the two backends' versions in step.
SELECT 1;
