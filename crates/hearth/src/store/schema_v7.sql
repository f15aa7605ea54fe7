-- Schema v7: leases.
--
-- Work that must run in one place at a time when several processes share
-- a database (e-mail jobs, later plugin schedules and pin expiry) takes a
-- lease: a row naming the holder, a fence that grows with every new
-- holder, and when it lapses. A holder that dies leaves a row that lapses;
-- another process then takes over.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    fence       INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
