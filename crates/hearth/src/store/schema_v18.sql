-- Schema v18: extension data in a rowid table.
--
-- As a WITHOUT ROWID table, each row lived inside the primary key's
-- b-tree, and interior pages of such a b-tree hold whole rows: a lookup
-- read the overflow pages of every large value it passed on the way down
-- (plugin binaries of hundreds of KiB), about a tenth of the CPU of a
-- member's `/latest.json` (plugins' API fields are read from here), and
-- of each session lookup. Now the key is in an index and the values in
-- the table, read only for the rows found.
CREATE TABLE extension_data_v18 (
    namespace     TEXT NOT NULL,
    community_id  INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         BLOB NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (namespace, community_id, key)
);
INSERT INTO extension_data_v18 (namespace, community_id, key, value, updated_at)
    SELECT namespace, community_id, key, value, updated_at FROM extension_data;
DROP TABLE extension_data;
ALTER TABLE extension_data_v18 RENAME TO extension_data;
