-- Schema v26: the event log loses an index nothing reads (see the SQLite
-- migration of the same version).
DROP INDEX events_by_time;
