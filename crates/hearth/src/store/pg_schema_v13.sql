-- Schema v13 (see schema_v13.sql): private messages; website and location on profiles.
--
-- A message is a topic in its community's inbox category (kind
-- 'messages', made on the first message), which no permission check ever
-- counts as readable: lists, search, feeds and events leave messages out
-- by construction. Who may read one is listed here: members by name,
-- groups by membership.
CREATE TABLE message_users (
    topic_id  BIGINT NOT NULL REFERENCES topics(id),
    user_id   BIGINT NOT NULL REFERENCES users(id),
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (topic_id, user_id)
);
CREATE INDEX message_users_user ON message_users (user_id, topic_id);

CREATE TABLE message_groups (
    topic_id  BIGINT NOT NULL REFERENCES topics(id),
    group_id  BIGINT NOT NULL REFERENCES groups(id),
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (topic_id, group_id)
);
CREATE INDEX message_groups_group ON message_groups (group_id, topic_id);

-- A member who does not take messages from another (everywhere).
CREATE TABLE message_blocks (
    user_id     BIGINT NOT NULL REFERENCES users(id),
    blocked_id  BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);

-- Profiles: where a member is on the web and in the world (free text).
ALTER TABLE users ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN location TEXT NOT NULL DEFAULT '';
