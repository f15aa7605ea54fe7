-- Schema v19: an index for the like-toggle limit.
--
-- `rules::check_like_toggles` counts a member's likes and unlikes of one
-- post in the last hour. With only the time indexes to go by, it read
-- every event of the community in that hour: each like cost as much as
-- the hour had events, and seeding 111,000 posts spent 80 % of its time
-- there. This partial index holds only likes and unlikes, by member and
-- post.
CREATE INDEX events_like_toggles ON events (actor_id, post_id, created_at)
    WHERE kind IN ('post.liked', 'post.unliked');
