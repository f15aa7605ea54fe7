-- Schema v20: nothing changes on SQLite.
--
-- PostgreSQL makes extension data keys compare byte by byte, which is
-- SQLite's BINARY collation already. The version moves in step.
SELECT 1;
