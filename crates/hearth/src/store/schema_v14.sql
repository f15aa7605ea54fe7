-- Schema v14: thumbnails of uploaded images.
--
-- Uploaded images are decoded and written anew (their metadata dropped);
-- one larger than 690 × 500 pixels also keeps a smaller copy for pages,
-- in the same format. NULL: none (the image fits, or it is an animation).
ALTER TABLE uploads ADD COLUMN thumbnail BLOB;
ALTER TABLE uploads ADD COLUMN thumbnail_width INTEGER;
ALTER TABLE uploads ADD COLUMN thumbnail_height INTEGER;
