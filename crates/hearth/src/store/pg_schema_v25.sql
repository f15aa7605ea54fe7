-- Schema v25: the rate limits' index covers what they check (see the
-- SQLite migration of the same version): an index-only scan for the
-- author's posts of the last hour.
DROP INDEX posts_user_recent;
CREATE INDEX posts_user_recent ON posts (user_id, community_id, created_at, topic_id, post_number);
