-- Hearth schema, version 1. Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL,          -- CommunitySettings as JSON
    config_version INTEGER NOT NULL DEFAULT 0, -- bumped when settings or categories change
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL,
    username_lower  TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    bio             TEXT NOT NULL DEFAULT '',
    avatar_url      TEXT,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER
);

CREATE TABLE memberships (
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    role            TEXT NOT NULL,
    joined_at       INTEGER NOT NULL,
    silenced_until  INTEGER,
    suspended_until INTEGER,
    PRIMARY KEY (community_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE groups (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    name_lower    TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    UNIQUE (community_id, name_lower)
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups(id),
    user_id   INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE categories (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    parent_id     INTEGER REFERENCES categories(id),
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    visibility    TEXT NOT NULL,        -- public | members | groups
    position      INTEGER NOT NULL,
    read_only     INTEGER NOT NULL DEFAULT 0,
    rewards       INTEGER NOT NULL DEFAULT 1,   -- 0: earns no points (e.g. a casual lounge)
    created_at    INTEGER NOT NULL,
    UNIQUE (community_id, slug)
);

CREATE TABLE category_groups (
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    group_id     INTEGER NOT NULL REFERENCES groups(id),
    PRIMARY KEY (category_id, group_id)
) WITHOUT ROWID;

CREATE TABLE topics (
    id               INTEGER PRIMARY KEY,
    community_id     INTEGER NOT NULL REFERENCES communities(id),
    category_id      INTEGER NOT NULL REFERENCES categories(id),
    user_id          INTEGER NOT NULL REFERENCES users(id),
    title            TEXT NOT NULL,
    slug             TEXT NOT NULL,
    tags             TEXT NOT NULL DEFAULT '',     -- comma-separated copy of topic_tags, for lists
    pinned           INTEGER NOT NULL DEFAULT 0,
    closed           INTEGER NOT NULL DEFAULT 0,
    archived         INTEGER NOT NULL DEFAULT 0,
    unlisted         INTEGER NOT NULL DEFAULT 0,
    solved_post_id   INTEGER,
    post_count       INTEGER NOT NULL DEFAULT 0,   -- visible (not deleted) posts
    like_count       INTEGER NOT NULL DEFAULT 0,
    view_count       INTEGER NOT NULL DEFAULT 0,
    next_post_number INTEGER NOT NULL DEFAULT 1,
    bumped_at        INTEGER NOT NULL,             -- last activity
    last_poster_id   INTEGER NOT NULL REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    deleted_by       INTEGER REFERENCES users(id)
);
-- Keyset pagination of "latest", per community and per category.
CREATE INDEX topics_latest ON topics(community_id, pinned, bumped_at, id);
CREATE INDEX topics_by_category ON topics(category_id, pinned, bumped_at, id);

CREATE TABLE topic_tags (
    topic_id  INTEGER NOT NULL REFERENCES topics(id),
    tag       TEXT NOT NULL,
    PRIMARY KEY (topic_id, tag)
) WITHOUT ROWID;
CREATE INDEX topic_tags_tag ON topic_tags(tag, topic_id);

CREATE TABLE posts (
    id                INTEGER PRIMARY KEY,
    community_id      INTEGER NOT NULL REFERENCES communities(id),
    topic_id          INTEGER NOT NULL REFERENCES topics(id),
    user_id           INTEGER NOT NULL REFERENCES users(id),
    post_number       INTEGER NOT NULL,
    reply_to_post_id  INTEGER REFERENCES posts(id),
    official          INTEGER NOT NULL DEFAULT 0,
    source            TEXT NOT NULL,
    html              TEXT NOT NULL,
    render_version    INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    like_count        INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER,
    deleted_by        INTEGER REFERENCES users(id),
    UNIQUE (topic_id, post_number)
);
CREATE INDEX posts_user ON posts(user_id, id);

CREATE TABLE post_revisions (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    version     INTEGER NOT NULL,       -- the version this revision produced
    user_id     INTEGER NOT NULL REFERENCES users(id),
    reason      TEXT,
    old_source  TEXT NOT NULL,
    new_source  TEXT NOT NULL,
    old_title   TEXT,
    new_title   TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (post_id, version)
);

CREATE TABLE likes (
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) WITHOUT ROWID;
CREATE INDEX likes_user ON likes(user_id);

CREATE TABLE bookmarks (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, post_id)
) WITHOUT ROWID;

CREATE TABLE mentions (
    post_id  INTEGER NOT NULL REFERENCES posts(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (post_id, user_id)
) WITHOUT ROWID;
CREATE INDEX mentions_user ON mentions(user_id);

CREATE TABLE post_links (
    post_id   INTEGER NOT NULL REFERENCES posts(id),
    url       TEXT NOT NULL,
    internal  INTEGER NOT NULL,
    PRIMARY KEY (post_id, url)
) WITHOUT ROWID;

CREATE TABLE topic_views (
    topic_id    INTEGER NOT NULL REFERENCES topics(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    viewed_day  INTEGER NOT NULL,       -- days since the epoch of the last counted view
    PRIMARY KEY (topic_id, user_id)
) WITHOUT ROWID;

-- Full-text index: one row per post, rowid = posts.id. `category` and
-- `flags` (1 first post, 2 solved topic, 4 unlisted, 8 deleted) let search
-- filter by permission without joining posts and topics. See search.rs.
CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, category UNINDEXED, flags UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Suggestion index for similar_topics: the first posts of solved topics and
-- of knowledge-base articles only (not deleted, not unlisted); rowid = posts.id.
CREATE VIRTUAL TABLE answer_index USING fts5(
    title, body, category UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The points ledger: append-only. A reversal is a new entry with negated
-- points that names the entry it cancels.
CREATE TABLE point_entries (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    points        INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    cause         TEXT NOT NULL,        -- what earned it, e.g. 'post:12', 'like:12:7'
    post_id       INTEGER REFERENCES posts(id),
    reverses      INTEGER REFERENCES point_entries(id),
    reversed      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX point_entries_member ON point_entries(community_id, user_id, created_at);
CREATE INDEX point_entries_cause ON point_entries(community_id, cause);
CREATE INDEX point_entries_post ON point_entries(post_id);

-- Per-member, per-day sums of the ledger (UTC days since the epoch), kept in
-- the same transaction as each entry: totals and leaderboards read these,
-- never the whole ledger.
CREATE TABLE point_days (
    community_id  INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    points        INTEGER NOT NULL,
    PRIMARY KEY (community_id, user_id, day)
) WITHOUT ROWID;
CREATE INDEX point_days_by_day ON point_days(community_id, day);

CREATE TABLE badges (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    slug          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    icon          TEXT NOT NULL DEFAULT '',
    tier          TEXT NOT NULL,        -- gold | silver | bronze
    multiple      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    UNIQUE (community_id, slug)
);

CREATE TABLE badge_grants (
    id          INTEGER PRIMARY KEY,
    badge_id    INTEGER NOT NULL REFERENCES badges(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    post_id     INTEGER REFERENCES posts(id),
    reason      TEXT NOT NULL DEFAULT '',
    granted_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX badge_grants_user ON badge_grants(user_id, badge_id);

-- Invite links ("start private, open later").
CREATE TABLE invites (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    code          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    max_uses      INTEGER,
    uses          INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER
);
CREATE INDEX invites_community ON invites(community_id, id);

-- Requests to join communities that approve new members.
CREATE TABLE join_requests (
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    message       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    INTEGER REFERENCES users(id),
    approved      INTEGER,
    reason        TEXT,
    PRIMARY KEY (community_id, user_id)
) WITHOUT ROWID;

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    kind          TEXT NOT NULL,
    audience      TEXT NOT NULL,        -- public | members | groups | staff (at write time)
    category_id   INTEGER,
    topic_id      INTEGER,
    post_id       INTEGER,
    actor_id      INTEGER,
    subject_id    INTEGER,
    data          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX events_community ON events(community_id, id);

CREATE TABLE event_cursors (
    consumer       TEXT PRIMARY KEY,
    last_event_id  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
