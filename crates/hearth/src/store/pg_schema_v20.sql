-- Schema v20: extension data keys compare byte by byte (as on SQLite).
--
-- `Forum::ext_list` reads a prefix as the key range [prefix, successor)
-- and pages through it in key order. Under the database's own collation
-- (often a language's, where punctuation is ignored at first) that range
-- is not the keys starting with the prefix, and keys came back in another
-- order than on SQLite. With "C" both backends order keys the same, and
-- the primary key's index serves the range.
ALTER TABLE extension_data ALTER COLUMN key TYPE TEXT COLLATE "C";
