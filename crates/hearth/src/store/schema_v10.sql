-- Schema v10: when a member joined a group.
--
-- Group member lists (Discourse's `/groups/{name}/members.json`) show when
-- each member was added. Rows from before v10 have no time (NULL); they
-- are answered with the earliest moment the member could have been added.
ALTER TABLE group_members ADD COLUMN added_at INTEGER;
