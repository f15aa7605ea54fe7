-- Schema v10 (see schema_v10.sql): when a member joined a group; a community's newest posts.
ALTER TABLE group_members ADD COLUMN added_at BIGINT;
-- A community's newest posts (see schema_v10.sql).
CREATE INDEX posts_community ON posts (community_id, id);
