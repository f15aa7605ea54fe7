-- Hearth schema, version 2: trust levels, moderation rules, review queue,
-- flags, moderator actions and the audit log.

-- Trust levels. Members who joined before trust levels existed start at
-- level 1: the level-0 limits are for newcomers.
ALTER TABLE memberships ADD COLUMN trust_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN trust_locked INTEGER NOT NULL DEFAULT 0;  -- set by staff: never changed automatically
ALTER TABLE memberships ADD COLUMN trust_since INTEGER;
ALTER TABLE memberships ADD COLUMN silence_reason TEXT;
ALTER TABLE memberships ADD COLUMN suspend_reason TEXT;
UPDATE memberships SET trust_level = 1, trust_since = joined_at;

-- Lifetime activity per member and community, kept in the transaction of
-- each activity; promotion reads this one row.
CREATE TABLE member_activity (
    community_id       INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    days_visited       INTEGER NOT NULL DEFAULT 0,
    last_visit_day     INTEGER NOT NULL DEFAULT -1,
    topics_entered     INTEGER NOT NULL DEFAULT 0,
    posts_read         INTEGER NOT NULL DEFAULT 0,
    read_ms            INTEGER NOT NULL DEFAULT 0,
    likes_given        INTEGER NOT NULL DEFAULT 0,
    likes_received     INTEGER NOT NULL DEFAULT 0,
    posts_created      INTEGER NOT NULL DEFAULT 0,
    topics_created     INTEGER NOT NULL DEFAULT 0,
    topics_replied_to  INTEGER NOT NULL DEFAULT 0,
    flags_agreed       INTEGER NOT NULL DEFAULT 0,   -- flags against their posts that moderators agreed with
    flags_given        INTEGER NOT NULL DEFAULT 0,
    flags_given_agreed INTEGER NOT NULL DEFAULT 0,   -- the flagger's accuracy: agreed / resolved
    flags_given_disagreed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, user_id)
) WITHOUT ROWID;
INSERT INTO member_activity (community_id, user_id, posts_created, topics_created, likes_given, likes_received)
SELECT m.community_id, m.user_id,
       (SELECT count(*) FROM posts p WHERE p.community_id = m.community_id AND p.user_id = m.user_id),
       (SELECT count(*) FROM topics t WHERE t.community_id = m.community_id AND t.user_id = m.user_id),
       (SELECT count(*) FROM likes k JOIN posts p ON p.id = k.post_id
         WHERE p.community_id = m.community_id AND k.user_id = m.user_id),
       (SELECT count(*) FROM likes k JOIN posts p ON p.id = k.post_id
         WHERE p.community_id = m.community_id AND p.user_id = m.user_id)
FROM memberships m;

-- The same activity per UTC day, for windowed requirements (level 3 looks
-- at the last 100 days).
CREATE TABLE member_days (
    community_id       INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    day                INTEGER NOT NULL,
    topics_entered     INTEGER NOT NULL DEFAULT 0,
    posts_read         INTEGER NOT NULL DEFAULT 0,
    likes_given        INTEGER NOT NULL DEFAULT 0,
    likes_received     INTEGER NOT NULL DEFAULT 0,
    topics_replied_to  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, user_id, day)
) WITHOUT ROWID;

-- New topics and posts per community and UTC day (level 3's "share of
-- topics viewed" and analytics).
CREATE TABLE community_days (
    community_id  INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    topics        INTEGER NOT NULL DEFAULT 0,
    posts         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

-- Who has posted in a topic (to count "topics replied to" once per topic).
CREATE TABLE topic_posters (
    topic_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    PRIMARY KEY (topic_id, user_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO topic_posters (topic_id, user_id) SELECT topic_id, user_id FROM posts;
UPDATE member_activity SET topics_replied_to = (
    SELECT count(DISTINCT p.topic_id) FROM posts p
    WHERE p.community_id = member_activity.community_id AND p.user_id = member_activity.user_id
      AND p.post_number > 1);

ALTER TABLE topic_views ADD COLUMN last_read_post INTEGER NOT NULL DEFAULT 0;

-- Per-category moderation (CategoryRules as JSON).
ALTER TABLE categories ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';

-- Watched words and patterns, in evaluation order.
CREATE TABLE watched_words (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    pattern       TEXT NOT NULL,
    regex         INTEGER NOT NULL,     -- 0: a word (with * wildcards), 1: a regular expression
    action        TEXT NOT NULL,        -- WordAction as JSON
    reason        TEXT NOT NULL DEFAULT '',
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX watched_words_community ON watched_words(community_id, id);

-- Hidden by flags (posts), or because the first post is hidden (topics).
ALTER TABLE posts ADD COLUMN hidden_at INTEGER;
ALTER TABLE topics ADD COLUMN hidden_at INTEGER;
-- Pins: `pinned` orders category lists, `pinned_global` the community-wide
-- list; both end at `pinned_until`.
ALTER TABLE topics ADD COLUMN pinned_global INTEGER NOT NULL DEFAULT 0;
ALTER TABLE topics ADD COLUMN pinned_until INTEGER;
-- A topic merged into another redirects there.
ALTER TABLE topics ADD COLUMN merged_into INTEGER REFERENCES topics(id);
UPDATE topics SET pinned_global = pinned;
DROP INDEX topics_latest;
CREATE INDEX topics_latest ON topics(community_id, pinned_global, bumped_at, id);
-- A member's newest topics (rate limits).
CREATE INDEX topics_user ON topics(community_id, user_id, id);
CREATE INDEX topics_pinned_until ON topics(pinned_until) WHERE pinned_until IS NOT NULL;

-- The review queue: posts held by rules (their content waits in `payload`
-- and becomes a post only when approved) and flagged posts.
CREATE TABLE reviewables (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    kind          TEXT NOT NULL,        -- queued_post | flagged_post
    status        TEXT NOT NULL,        -- pending | approved | rejected | ignored
    user_id       INTEGER NOT NULL REFERENCES users(id),  -- the author
    category_id   INTEGER NOT NULL REFERENCES categories(id),
    topic_id      INTEGER REFERENCES topics(id),
    post_id       INTEGER REFERENCES posts(id),
    payload       TEXT NOT NULL DEFAULT '{}',
    reason        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    INTEGER REFERENCES users(id),
    decision      TEXT,
    decision_reason TEXT
);
CREATE INDEX reviewables_queue ON reviewables(community_id, status, id);
CREATE INDEX reviewables_user ON reviewables(community_id, user_id, id);
CREATE UNIQUE INDEX reviewables_flagged ON reviewables(post_id)
    WHERE kind = 'flagged_post' AND status = 'pending';

-- Flags from members; one per member per post.
CREATE TABLE flags (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    post_id        INTEGER NOT NULL REFERENCES posts(id),
    user_id        INTEGER REFERENCES users(id),   -- NULL: raised by a rule
    kind           TEXT NOT NULL,
    message        TEXT NOT NULL DEFAULT '',
    counts         INTEGER NOT NULL,               -- 1 if the flagger's trust counts towards hiding
    reviewable_id  INTEGER NOT NULL REFERENCES reviewables(id),
    status         TEXT NOT NULL,                  -- pending | agreed | disagreed | ignored
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX flags_one_per_member ON flags(post_id, user_id);
CREATE INDEX flags_reviewable ON flags(reviewable_id);

-- What moderators and admins did.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    actor_id      INTEGER REFERENCES users(id),   -- NULL: the system
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL,                  -- topic | post | member | review | watched_word | community | category
    target_id     INTEGER,
    before        TEXT NOT NULL DEFAULT 'null',
    after         TEXT NOT NULL DEFAULT 'null',
    reason        TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_log_community ON audit_log(community_id, id);
CREATE INDEX audit_log_action ON audit_log(community_id, action, id);
