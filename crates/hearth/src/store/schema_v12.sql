-- Schema v12: topics named by another system, posts locked against their
-- authors' edits, tag groups, topic timers, deactivated memberships.

-- A topic's id in the system that made it (Discourse's `external_id`):
-- unique within a community.
ALTER TABLE topics ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX topics_external ON topics (community_id, external_id)
    WHERE external_id IS NOT NULL;

-- Set by a moderator: the author may no longer edit the post (who did
-- it is in the audit log).
ALTER TABLE posts ADD COLUMN locked_at INTEGER;

-- Named sets of tags with rules: at most one of them per topic, only with
-- the parent tag, only staff may put them on topics.
CREATE TABLE tag_groups (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    name           TEXT NOT NULL,
    parent_tag     TEXT,
    one_per_topic  INTEGER NOT NULL DEFAULT 0,
    staff_only     INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    UNIQUE (community_id, name)
);
CREATE TABLE tag_group_tags (
    id            INTEGER PRIMARY KEY,
    tag_group_id  INTEGER NOT NULL REFERENCES tag_groups(id),
    tag           TEXT NOT NULL,
    UNIQUE (tag_group_id, tag)
);
CREATE INDEX tag_group_tags_tag ON tag_group_tags (tag);

-- At most one timer per topic: close, open or delete it at a moment (or,
-- for `after_last_post` timers, that long after its last post).
CREATE TABLE topic_timers (
    topic_id         INTEGER PRIMARY KEY REFERENCES topics(id),
    action           TEXT NOT NULL,
    execute_at       INTEGER NOT NULL,
    after_last_post  INTEGER,
    created_by       INTEGER REFERENCES users(id),  -- NULL: the application
    created_at       INTEGER NOT NULL
);
CREATE INDEX topic_timers_due ON topic_timers (execute_at);

-- Set by an admin: the member is treated as signed out here until
-- activated again (Discourse's deactivate).
ALTER TABLE memberships ADD COLUMN deactivated_at INTEGER;

-- Files members upload (images), kept in the database so that every
-- process serving it has them; one row per content per community.
CREATE TABLE uploads (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    sha256        TEXT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    data          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (community_id, sha256)
);
