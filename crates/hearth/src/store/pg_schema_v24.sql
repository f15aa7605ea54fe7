-- Schema v24: replies waiting for the full-text index (see the SQLite
-- migration of the same version). PostgreSQL indexes each reply at once
-- (its GIN index keeps a pending list of its own), so this table stays
-- empty; it exists so that both schemas have the same tables (a copy
-- between them checks that).
CREATE TABLE search_pending (
    post_id BIGINT PRIMARY KEY,
    body TEXT NOT NULL
);
