-- Schema v27: `search_index`'s rowid is the post id negated.
--
-- A search reads the newest matches first (`ORDER BY rowid DESC`), and
-- FTS5 reads a posting list backward far slower than forward: to step back
-- through a page it decodes the page from its start and keeps every
-- position. With the ids negated, newest first is the forward order (a
-- two-word search's scan at 100,000 posts: 228 → 135 µs). The index is
-- written again, once, as one segment (≈ 3 s for the 107,000 posts of the
-- 100,000-post benchmark fixture). `search_index_scope`, `search_pending`
-- and `answer_index` keep plain post ids.
CREATE VIRTUAL TABLE search_index_v27 USING fts5(
    title, body, category UNINDEXED, flags UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO search_index_v27 (rowid, title, body, category, flags)
    SELECT -rowid, title, body, category, flags FROM search_index ORDER BY rowid DESC;
INSERT INTO search_index_v27 (search_index_v27) VALUES ('optimize');
DROP TABLE search_index;
ALTER TABLE search_index_v27 RENAME TO search_index;
