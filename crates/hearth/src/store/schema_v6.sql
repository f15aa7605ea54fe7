-- Schema v6: request keys.
--
-- A create with a request key (`Forum::create_topic_once`, `reply_once`)
-- writes its key here in the same transaction as the post, so a retry
-- after a lost answer finds the post instead of making a second one.
CREATE TABLE request_keys (
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    key           TEXT NOT NULL,
    -- SHA-256 of the request (kind, place, title, body): the same key on a
    -- different request is refused.
    fingerprint   TEXT NOT NULL,
    post_id       INTEGER REFERENCES posts(id),
    review_id     INTEGER,
    reason        TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (community_id, user_id, key)
) WITHOUT ROWID;
