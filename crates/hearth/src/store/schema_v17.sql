-- Schema v17: uploads whose bytes are in an object store.
--
-- `object_key` names the object that holds an upload's bytes (its
-- thumbnail: the same name with `-thumb`); `data` is then empty and
-- `thumbnail` NULL. NULL: the bytes are in `data`, as before.
ALTER TABLE uploads ADD COLUMN object_key TEXT;
