-- Schema v24: replies waiting for the full-text index.
--
-- FTS5 writes a new index segment at the end of every transaction that
-- added text, and merges segments as they pile up: indexing each reply in
-- its own transaction was the largest single cost of a reply. A reply's
-- plain text now waits here, and one transaction indexes a batch of them
-- (when enough are queued, and before anything reads the index). A post's
-- row here means it has no `search_index` row yet.
CREATE TABLE search_pending (
    post_id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
