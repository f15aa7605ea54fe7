-- Schema v21: nothing changes on PostgreSQL.
--
-- SQLite gains `search_index_scope` (search's category, flags and length
-- per post, out of FTS5's content row); PostgreSQL's `search_index` is an
-- ordinary table whose scope columns are read without its text already.
-- The version moves in step.
SELECT 1;
