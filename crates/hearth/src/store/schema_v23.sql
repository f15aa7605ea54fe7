-- Schema v23: a member's unread notifications found by topic.
--
-- Reading a topic marks the reader's notifications about it read
-- (`UPDATE notifications … WHERE user_id, community_id, topic_id AND
-- read_at IS NULL`). The unread index ended at the community, so each
-- topic view walked every unread notification the member had: with
-- 7,700 unread (a busy staff member), a view cost a scan of them all.
-- The topic as a third column keeps serving the unread counts.
DROP INDEX notifications_unread;
CREATE INDEX notifications_unread ON notifications (user_id, community_id, topic_id)
    WHERE read_at IS NULL;
