-- Schema v14: thumbnails of uploaded images; confirmed sign-in addresses.
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
