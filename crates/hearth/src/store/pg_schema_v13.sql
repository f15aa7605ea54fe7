-- Schema v13 (see schema_v13.sql): private messages; website and location on profiles; following.
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

-- Members following members: the followed one's new topics (and, when
-- `replies`, replies) notify the follower wherever both are members and
-- the follower may read the post.
CREATE TABLE follows (
    followed_id  BIGINT NOT NULL REFERENCES users(id),
    follower_id  BIGINT NOT NULL REFERENCES users(id),
    replies      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (followed_id, follower_id)
);
CREATE INDEX follows_follower ON follows (follower_id, followed_id);
-- 1: who follows the member, and whom they follow, is theirs (and staff's) to see.
ALTER TABLE users ADD COLUMN follows_hidden BIGINT NOT NULL DEFAULT 0;
