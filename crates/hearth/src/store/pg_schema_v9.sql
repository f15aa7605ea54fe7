-- Schema v9 (see schema_v9.sql): a member's recent posts by time.
CREATE INDEX posts_user_recent ON posts (user_id, community_id, created_at);
