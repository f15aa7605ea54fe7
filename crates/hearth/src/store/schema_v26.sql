-- Schema v26: two b-trees fewer written by every event (a post, a like, a
-- visit…): one WAL page each per reply, of the ≈ 28 a reply writes.
--
-- 1. `events_by_time` (community, time, actor) served the analytics'
--    active members until those came from `member_days.acted`; every query
--    on `events` now names its kind (`events_by_kind_time`,
--    `events_like_toggles`) or reads by id (`events_community`).
-- 2. `AUTOINCREMENT` kept the log's high-water mark in `sqlite_sequence`,
--    rewritten by every event. Events are never deleted, so a plain
--    rowid key (the largest id + 1) hands out the same increasing ids
--    without that write. SQLite cannot drop `AUTOINCREMENT` in place: the
--    table is copied (ids kept) and its indexes built again, once: 1.0 s
--    for the 220,000 events of the 100,000-post benchmark fixture, so
--    roughly 5 s a million (the opening that migrates says so in the log).
DROP INDEX events_by_time;
CREATE TABLE events_v26 (
    id            INTEGER PRIMARY KEY,
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
INSERT INTO events_v26 (id, community_id, kind, audience, category_id, topic_id, post_id,
                        actor_id, subject_id, data, created_at)
    SELECT id, community_id, kind, audience, category_id, topic_id, post_id,
           actor_id, subject_id, data, created_at
    FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_v26 RENAME TO events;
CREATE INDEX events_community ON events(community_id, id);
CREATE INDEX events_by_kind_time ON events (community_id, kind, created_at, actor_id, subject_id, topic_id);
CREATE INDEX events_like_toggles ON events (actor_id, post_id, created_at)
    WHERE kind IN ('post.liked', 'post.unliked');
