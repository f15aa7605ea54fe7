-- Schema v8 (see schema_v8.sql): throttles.
CREATE TABLE throttles (
    key     TEXT PRIMARY KEY,
    tat     BIGINT NOT NULL
);
CREATE INDEX throttles_tat ON throttles (tat);
