-- Schema v21: search's scope and each post's length beside the full-text
-- index, one small row per post (id = posts.id = search_index.rowid).
--
-- A search filters the newest matches by category and flags and ranks
-- them with BM25. Read from `search_index` itself, `category` and `flags`
-- sit in FTS5's content row next to the post's whole text, so every
-- candidate's text was read (most of it from disk) only to be filtered,
-- then tokenized again to be ranked. Here they are ≈ 20 bytes a post;
-- term counts come from the index (the `hearth_tf` auxiliary function)
-- and the text is read only for the hits shown. `search_index` keeps its
-- own `category` and `flags` in step (copies to PostgreSQL read them).
-- `len` counts the post's tokens, title and body (`hearth_len`).
CREATE TABLE search_index_scope (
    id       INTEGER PRIMARY KEY,
    category INTEGER NOT NULL,
    flags    INTEGER NOT NULL,
    len      INTEGER NOT NULL
);
INSERT INTO search_index_scope (id, category, flags, len)
    SELECT rowid, category, flags, hearth_len(search_index) FROM search_index;
