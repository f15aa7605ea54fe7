-- Schema v15: notifications sent by extensions (plugins, or the embedding
-- application's own code) through the engine's rules.
--
-- `source` names who sent one (a plugin's name); NULL for the engine's own.
-- `dedupe_key` makes a notice at most once per member: a source sending
-- the same key to the same member again sends nothing. Such notices are
-- not limited to one per (member, post, kind) as the engine's own are —
-- two members' reactions to one post are two notices.
ALTER TABLE notifications ADD COLUMN source TEXT;
ALTER TABLE notifications ADD COLUMN dedupe_key TEXT;
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, post_id, kind)
    WHERE post_id IS NOT NULL AND dedupe_key IS NULL;
CREATE UNIQUE INDEX notifications_dedupe ON notifications (community_id, user_id, source, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
-- The hourly cap per source counts its recent notices.
CREATE INDEX notifications_by_source ON notifications (community_id, source, created_at)
    WHERE source IS NOT NULL;
