-- Schema v23: a member's unread notifications found by topic (see the
-- SQLite migration of the same version).
DROP INDEX notifications_unread;
CREATE INDEX notifications_unread ON notifications (user_id, community_id, topic_id)
    WHERE read_at IS NULL;
