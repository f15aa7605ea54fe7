-- Schema v9: a member's recent posts by time.
--
-- Screening a new post reads the author's posts of the last hour (rate
-- limits, duplicates). By `posts_user (user_id, id)` that read walked the
-- author's whole history wherever the database could not stop early
-- (PostgreSQL sends every row of a query, then sorts): thousands of rows
-- for an active member, on every post. This index bounds it by time.
CREATE INDEX posts_user_recent ON posts (user_id, community_id, created_at);
