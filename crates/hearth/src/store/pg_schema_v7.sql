-- Schema v7 (see schema_v7.sql): leases.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    fence       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
