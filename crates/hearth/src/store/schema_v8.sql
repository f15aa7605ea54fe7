-- Schema v8: throttles.
--
-- How often something may happen per key (sign-in attempts per address
-- and per account), shared by every process on the database. One row per
-- key holds the key's "theoretical arrival time" (GCRA): the moment its
-- allowance is fully back. A row whose time has passed carries no state
-- and is swept.
CREATE TABLE throttles (
    key     TEXT PRIMARY KEY,
    tat     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX throttles_tat ON throttles (tat);
