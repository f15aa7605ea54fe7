-- Schema v27: SQLite's `search_index` keys a post by its id negated (FTS5
-- reads newest first fastest that way; see the SQLite migration of the same
-- version). PostgreSQL's B-tree reads either way: its rows keep the post id.
COMMENT ON COLUMN search_index.rowid IS 'the post id (SQLite''s FTS5 table keeps it negated)';
