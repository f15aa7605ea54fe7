-- Schema v14: thumbnails of uploaded images, what refers to uploads;
-- confirmed sign-in addresses; answers to profile fields.
--
-- Uploaded images are decoded and written anew (their metadata dropped);
-- one larger than 690 × 500 pixels also keeps a smaller copy for pages,
-- in the same format. NULL: none (the image fits, or it is an animation).
ALTER TABLE uploads ADD COLUMN thumbnail BLOB;
ALTER TABLE uploads ADD COLUMN thumbnail_width INTEGER;
ALTER TABLE uploads ADD COLUMN thumbnail_height INTEGER;

-- When the member showed they receive mail at their sign-in address
-- (a link mailed there was followed). NULL: not yet; such an account
-- cannot sign in where the community asks for confirmation. Accounts made
-- before are taken as confirmed.
ALTER TABLE logins ADD COLUMN confirmed_at INTEGER;
UPDATE logins SET confirmed_at = updated_at;

-- Which uploads each post's source names (`/uploads/…`, `upload://…`),
-- rewritten with the post: an upload no post, article or avatar names is
-- swept after `limits.unused_upload_hours`. Filled here from the posts
-- written before.
CREATE TABLE post_uploads (
    post_id  INTEGER NOT NULL REFERENCES posts(id),
    sha256   TEXT NOT NULL,
    PRIMARY KEY (post_id, sha256)
) WITHOUT ROWID;
CREATE INDEX post_uploads_sha ON post_uploads (sha256);
INSERT INTO post_uploads (post_id, sha256)
SELECT p.id, u.sha256 FROM uploads u
JOIN posts p ON p.community_id = u.community_id AND instr(p.source, u.sha256) > 0;

-- Members' answers to the community's profile fields (defined in its
-- settings): one row per text answer or chosen option, so the directory
-- finds who chose an option through the primary key.
CREATE TABLE member_field_values (
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    field         TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (community_id, field, value, user_id)
) WITHOUT ROWID;
CREATE INDEX member_field_values_user ON member_field_values (community_id, user_id);
