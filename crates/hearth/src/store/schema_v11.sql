-- Schema v11: accounts of other systems (single sign-on).
--
-- An embedding product that signs its users in (DiscourseConnect) names
-- them by its own id; this maps (provider, external id) to a Hearth user,
-- each way at most once per provider.
CREATE TABLE external_accounts (
    provider     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (provider, external_id)
);
CREATE UNIQUE INDEX external_accounts_user ON external_accounts (user_id, provider);

-- Invites that also put the new member in groups and lead to a topic
-- (Discourse's `group_ids` and `topic_id`).
ALTER TABLE invites ADD COLUMN topic_id INTEGER REFERENCES topics(id);
CREATE TABLE invite_groups (
    invite_id  INTEGER NOT NULL REFERENCES invites(id),
    group_id   INTEGER NOT NULL REFERENCES groups(id),
    PRIMARY KEY (invite_id, group_id)
);
