-- Schema v11 (see schema_v11.sql): accounts of other systems (single sign-on).
CREATE TABLE external_accounts (
    provider     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (provider, external_id)
);
CREATE UNIQUE INDEX external_accounts_user ON external_accounts (user_id, provider);
