-- Schema v10 (see schema_v10.sql): when a member joined a group.
ALTER TABLE group_members ADD COLUMN added_at BIGINT;
