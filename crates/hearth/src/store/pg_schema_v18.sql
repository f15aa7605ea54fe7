-- Schema v18: nothing changes on PostgreSQL.
--
-- SQLite moves extension data out of a WITHOUT ROWID table (whose
-- interior pages held large values); PostgreSQL's tables are heaps with
-- the key in a separate index and large values stored aside (TOAST)
-- already. The version moves in step with SQLite's.
SELECT 1;
