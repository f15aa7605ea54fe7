-- Schema v25: the rate limits' index covers what they check.
--
-- Before each post, `rules::screen_state` reads the author's posts of the
-- last hour (how many in the last minute, how many replies in this topic).
-- With only (user, community, time) in the index every one of them was a
-- lookup in `posts` for its topic and number: a tenth of a reply's cost for
-- a member who posts often. With those two in the index, the table is read
-- only for the text the duplicate check compares.
DROP INDEX posts_user_recent;
CREATE INDEX posts_user_recent ON posts (user_id, community_id, created_at, topic_id, post_number);
