-- Schema v11 (see schema_v11.sql): accounts of other systems (single sign-on).
CREATE TABLE external_accounts (
    provider     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (provider, external_id)
);
CREATE UNIQUE INDEX external_accounts_user ON external_accounts (user_id, provider);
ALTER TABLE invites ADD COLUMN topic_id BIGINT REFERENCES topics(id);
CREATE TABLE invite_groups (
    invite_id  BIGINT NOT NULL REFERENCES invites(id),
    group_id   BIGINT NOT NULL REFERENCES groups(id),
    PRIMARY KEY (invite_id, group_id)
);
