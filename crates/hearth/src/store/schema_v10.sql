-- Schema v10: when a member joined a group; a community's newest posts.
--
-- Group member lists (Discourse's `/groups/{name}/members.json`) show when
-- each member was added. Rows from before v10 have no time (NULL); they
-- are answered with the earliest moment the member could have been added.
ALTER TABLE group_members ADD COLUMN added_at INTEGER;

-- A community's newest posts (`Forum::latest_posts`, Discourse's
-- `/posts.json`), without walking other communities' posts.
CREATE INDEX posts_community ON posts (community_id, id);
