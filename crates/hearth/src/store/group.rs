//! Group commit on the SQLite writer.
//!
//! SQLite has one writer; each write transaction ends with a commit that
//! appends every page it dirtied to the WAL. Consecutive writes dirty many
//! of the same pages (the tail of the posts and events tables and their
//! indexes, the search index's structure, a community's counters), so when
//! writers queue up for the connection, the one holding it leaves its
//! transaction open for the next instead of committing: each queued write
//! runs inside its own `SAVEPOINT` of the shared transaction (a failing one
//! is rolled back to its savepoint alone), and the last of the group — the
//! one that finds nobody queued behind it, or a full group — commits for
//! all. A write returns only once its group has committed, with the
//! commit's error if that failed, so nobody is told "saved" early and
//! reads after a write see it, as before.
//!
//! A writer alone never waits: it finds nobody queued and commits at once,
//! exactly as without grouping. Writes that must be alone in their
//! transaction ([`Writer::write`] with `solo`: imports, copies) commit the
//! open group first and never leave theirs open.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::db::Conn;
use crate::error::{Error, Result};

/// At most this many writes share one commit.
const MAX_GROUP: usize = 16;
/// A group stops taking writes this long after it began (bounds how long
/// its first write waits for the commit).
const MAX_GROUP_AGE: Duration = Duration::from_millis(5);

/// The writer connection with group commit (see the module's documentation).
pub(crate) struct Writer {
    held: Mutex<Held>,
    /// How long a group stays open for writes queued behind it
    /// ([`MAX_GROUP_AGE`]; longer in tests that must not depend on timing).
    max_age: Duration,
    /// Writes waiting for the connection: they would join an open group.
    queued: AtomicUsize,
    done: Mutex<Done>,
    committed: Condvar,
}

/// What the connection's holder owns.
struct Held {
    conn: Conn,
    /// The transaction left open for the writes queued behind.
    open: Option<Group>,
    groups: u64,
}

#[derive(Debug)]
struct Group {
    id: u64,
    /// Writes in it that succeeded (and wait for its commit).
    members: usize,
    began: Instant,
}

/// Groups ended so far: all up to `through`, and how the failed ones failed.
#[derive(Default)]
struct Done {
    through: u64,
    failed: Vec<(u64, Failure)>,
}

/// How a group's commit failed, for each of its writes.
#[derive(Debug, Clone)]
enum Failure {
    Unavailable(crate::Unavailable, Duration),
    Storage(String),
}

impl Failure {
    fn of(e: &Error) -> Failure {
        match e {
            Error::Unavailable { cause, retry_after } => Failure::Unavailable(*cause, *retry_after),
            other => Failure::Storage(format!("the write was not saved: {other}")),
        }
    }

    fn error(&self) -> Error {
        match self {
            Failure::Unavailable(cause, retry_after) => Error::Unavailable {
                cause: *cause,
                retry_after: *retry_after,
            },
            Failure::Storage(m) => Error::Storage(m.clone()),
        }
    }
}

/// How often a write waiting for its group's commit checks that the group
/// is still being worked on (see [`Writer::wait`]).
const WAIT_CHECK: Duration = Duration::from_millis(100);

/// Failed groups remembered for their waiting writes (failures are rare;
/// a waiter looks its group up right after the commit).
const MAX_FAILED: usize = 256;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writer {
    pub(crate) fn new(conn: Conn) -> Writer {
        Writer::with_max_age(conn, MAX_GROUP_AGE)
    }

    fn with_max_age(conn: Conn, max_age: Duration) -> Writer {
        Writer {
            max_age,
            held: Mutex::new(Held {
                conn,
                open: None,
                groups: 0,
            }),
            queued: AtomicUsize::new(0),
            done: Mutex::new(Done::default()),
            committed: Condvar::new(),
        }
    }

    /// Runs `f` in a write transaction, committed (possibly together with
    /// the writes queued behind it) before this returns `Ok`. On `Err` (or
    /// a panic) nothing `f` did is applied. `solo`: `f` has the
    /// transaction to itself. `on_commit` runs after each commit.
    pub(crate) fn write<T>(
        &self,
        solo: bool,
        on_commit: impl Fn(),
        f: impl FnOnce(&Conn) -> Result<T>,
    ) -> Result<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut held = lock(&self.held);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if solo && let Some(group) = held.open.take() {
            self.commit(&held.conn, group, &on_commit)?;
        }
        let joined = held.open.is_some();
        if joined {
            if let Err(e) = held.conn.execute_batch("SAVEPOINT hearth_write") {
                let e = Error::from(e);
                self.abandon(&mut held, &e);
                return Err(e);
            }
        } else {
            held.conn.execute_batch("BEGIN IMMEDIATE")?;
            held.groups += 1;
            held.open = Some(Group {
                id: held.groups,
                members: 0,
                began: Instant::now(),
            });
        }
        let out = match catch_unwind(AssertUnwindSafe(|| f(&held.conn))) {
            Ok(out) => out,
            Err(panic) => {
                // The group's other writes cannot be told apart from this
                // one's half: all of it goes, and they hear why.
                self.abandon(&mut held, &Error::Storage("a write panicked".into()));
                drop(held);
                resume_unwind(panic);
            }
        };
        let out = self.settle(&mut held, joined, out);
        let Some(group) = held.open.as_ref() else {
            // Rolled back entirely (a first write that failed, or SQLite
            // ended the transaction): nothing left to commit.
            return out;
        };
        let keep_open = !solo
            && group.members > 0
            && group.members < MAX_GROUP
            && group.began.elapsed() < self.max_age
            && self.queued.load(Ordering::SeqCst) > 0;
        if keep_open {
            let id = group.id;
            drop(held);
            return match out {
                Ok(v) => self.wait(id, &on_commit).map(|()| v),
                Err(e) => Err(e),
            };
        }
        let group = held
            .open
            .take()
            .ok_or_else(|| Error::Storage("no open group".into()))?;
        let committed = self.commit(&held.conn, group, &on_commit);
        drop(held);
        committed.and(out)
    }

    /// Runs `f` on the writer connection, in a read transaction of its
    /// own, if the connection is free this moment: no write holds it or
    /// waits for it, and no group is open (its writes are not committed).
    /// The writer's page cache holds what the last writes touched, where a
    /// reader's cache is emptied by every commit it did not make. Gives
    /// `f` back when the connection is busy: the caller reads elsewhere.
    /// The transaction is rolled back, so `f` cannot write through it.
    pub(crate) fn try_read<T, F: FnOnce(&Conn) -> Result<T>>(
        &self,
        f: F,
    ) -> std::result::Result<Result<T>, F> {
        if self.queued.load(Ordering::SeqCst) > 0 {
            return Err(f);
        }
        let Ok(held) = self.held.try_lock() else {
            return Err(f);
        };
        if held.open.is_some() || !held.conn.as_sqlite().is_autocommit() {
            return Err(f);
        }
        if let Err(e) = held
            .conn
            .prepare_cached("BEGIN")
            .and_then(|mut s| s.execute(crate::db::params![]))
        {
            return Ok(Err(e.into()));
        }
        let out = catch_unwind(AssertUnwindSafe(|| f(&held.conn)));
        if !held.conn.as_sqlite().is_autocommit() {
            let ended = held
                .conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute(crate::db::params![]));
            if ended.is_err() {
                let _ = held.conn.execute_batch("ROLLBACK");
            }
        }
        match out {
            Ok(out) => Ok(out),
            Err(panic) => {
                drop(held);
                resume_unwind(panic)
            }
        }
    }

    /// After `f`: keeps a success in the group (releasing its savepoint),
    /// undoes a failure (to its savepoint, or the whole transaction if it
    /// was the first), and returns what the caller gets.
    fn settle<T>(&self, held: &mut Held, joined: bool, out: Result<T>) -> Result<T> {
        let ended = held.conn.as_sqlite().is_autocommit();
        match out {
            Ok(v) if !ended => {
                let kept = if joined {
                    held.conn
                        .execute_batch("RELEASE hearth_write")
                        .map_err(Error::from)
                } else {
                    Ok(())
                };
                match kept {
                    Ok(()) => {
                        if let Some(g) = held.open.as_mut() {
                            g.members += 1;
                        }
                        Ok(v)
                    }
                    Err(e) => {
                        self.abandon(held, &e);
                        Err(e)
                    }
                }
            }
            Ok(_) => {
                let e = Error::Storage("the transaction ended before its commit".into());
                self.abandon(held, &e);
                Err(e)
            }
            Err(e) if ended => {
                // SQLite rolled the whole transaction back (a full disk, an
                // I/O error): the group's earlier writes went with it.
                self.abandon(held, &e);
                Err(e)
            }
            Err(e) if joined => {
                let undone = held
                    .conn
                    .execute_batch("ROLLBACK TO hearth_write; RELEASE hearth_write");
                if let Err(u) = undone {
                    self.abandon(held, &Error::from(u));
                }
                Err(e)
            }
            Err(e) => {
                self.abandon(held, &e);
                Err(e)
            }
        }
    }

    /// Rolls the open transaction back and tells its waiting writes.
    fn abandon(&self, held: &mut Held, why: &Error) {
        if !held.conn.as_sqlite().is_autocommit() {
            let _ = held.conn.execute_batch("ROLLBACK");
        }
        if let Some(group) = held.open.take() {
            self.end(group.id, Some(Failure::of(why)));
        }
    }

    fn commit(&self, conn: &Conn, group: Group, on_commit: &impl Fn()) -> Result<()> {
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                on_commit();
                self.end(group.id, None);
                Ok(())
            }
            Err(e) => {
                let e = Error::from(e);
                if !conn.as_sqlite().is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                self.end(group.id, Some(Failure::of(&e)));
                Err(e)
            }
        }
    }

    fn end(&self, id: u64, failure: Option<Failure>) {
        let mut done = lock(&self.done);
        done.through = done.through.max(id);
        if let Some(f) = failure {
            if done.failed.len() >= MAX_FAILED {
                done.failed.remove(0);
            }
            done.failed.push((id, f));
        }
        drop(done);
        self.committed.notify_all();
    }

    /// Waits until group `id` has ended; its commit's error, if any. Every
    /// write that takes the connection ends the open group or joins it and
    /// decides again, so a group always ends; should one still be open
    /// after [`WAIT_CHECK`] with nobody at the connection, the waiter
    /// commits it itself.
    fn wait(&self, id: u64, on_commit: &impl Fn()) -> Result<()> {
        let mut done = lock(&self.done);
        while done.through < id {
            let (d, timeout) = self
                .committed
                .wait_timeout(done, WAIT_CHECK)
                .unwrap_or_else(|e| e.into_inner());
            done = d;
            if timeout.timed_out() && done.through < id {
                drop(done);
                let mut held = lock(&self.held);
                if held.open.as_ref().is_some_and(|g| g.id == id)
                    && let Some(group) = held.open.take()
                {
                    // Its error reaches this writer below, from `done`.
                    let _ = self.commit(&held.conn, group, on_commit);
                }
                drop(held);
                done = lock(&self.done);
            }
        }
        match done.failed.iter().find(|(g, _)| *g == id) {
            Some((_, f)) => Err(f.error()),
            None => Ok(()),
        }
    }

    /// Groups begun so far (each ends in one commit or rollback).
    #[cfg(test)]
    pub(crate) fn groups(&self) -> u64 {
        lock(&self.held).groups
    }

    /// Writes waiting for the connection right now.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;
    use crate::db::params;

    fn writer() -> (tempfile::TempDir, Arc<Writer>, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("g.db");
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap_or_else(|e| panic!("{e}"));
        let reader = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        // Groups stay open as long as writes queue (the tests decide who
        // queues when; a loaded machine must not close a group early).
        let writer = Writer::with_max_age(Conn::from_sqlite(conn), Duration::from_secs(30));
        (dir, Arc::new(writer), reader)
    }

    fn insert(conn: &Conn, v: i64) -> Result<()> {
        conn.prepare_cached("INSERT INTO t (v) VALUES (?1)")?
            .execute(params![v])?;
        Ok(())
    }

    fn rows(reader: &rusqlite::Connection) -> Vec<i64> {
        let mut stmt = reader
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap_or_else(|e| panic!("{e}"));
        stmt.query_map([], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
            .collect::<rusqlite::Result<Vec<i64>>>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a write of `v` that holds the connection until another write
    /// is queued for it, so that one joins its group (no timing involved);
    /// returns once it holds the connection.
    fn first_of_group(w: &Arc<Writer>, v: i64) -> thread::JoinHandle<Result<()>> {
        let inside = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w1, inside1) = (w.clone(), inside.clone());
        let first = thread::spawn(move || {
            w1.write(
                false,
                || {},
                |c| {
                    insert(c, v)?;
                    inside1.store(true, Ordering::SeqCst);
                    while w1.queued() == 0 {
                        thread::yield_now();
                    }
                    Ok(())
                },
            )
        });
        while !inside.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        first
    }

    /// The first write and the ones queued behind it share a commit; each
    /// returns only once it is visible to readers; a failing write in the
    /// group is undone alone; the group's last write commits.
    #[test]
    fn queued_writes_share_a_commit_and_a_failure_stays_its_own() {
        let (_dir, w, reader) = writer();
        let (w1, w2) = (w.clone(), w.clone());
        let inside = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let inside1 = inside.clone();
        let first = thread::spawn(move || {
            w1.write(
                false,
                || {},
                |c| {
                    insert(c, 1)?;
                    inside1.store(true, Ordering::SeqCst);
                    // Hold the connection until both other writes queue.
                    while w1.queued() < 2 {
                        thread::yield_now();
                    }
                    Ok(())
                },
            )
        });
        while !inside.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        let failing = thread::spawn(move || {
            w2.write(
                false,
                || {},
                |c| {
                    insert(c, 2)?;
                    Err::<(), _>(Error::invalid("v", "no"))
                },
            )
        });
        // This write is the second one queued behind the first.
        let third = w.write(false, || {}, |c| insert(c, 3));
        assert!(third.is_ok(), "{third:?}");
        assert!(matches!(failing.join(), Ok(Err(Error::Invalid { .. }))));
        assert!(matches!(first.join(), Ok(Ok(()))));
        assert_eq!(rows(&reader), vec![1, 3]);
        // Three writes, one transaction (the failing one joined it and
        // left it).
        assert_eq!(w.groups(), 1);
        // Alone, a write commits at once.
        w.write(false, || {}, |c| insert(c, 4))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&reader), vec![1, 3, 4]);
        assert_eq!(w.groups(), 2);
    }

    fn values(c: &Conn) -> Result<Vec<i64>> {
        let mut stmt = c.prepare_cached("SELECT v FROM t ORDER BY v")?;
        let mut rows = stmt.query(params![])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(r.get(0)?);
        }
        Ok(out)
    }

    /// A read on the free writer sees what is committed and cannot write;
    /// while a write holds the connection the read is handed back.
    #[test]
    fn a_read_runs_on_the_writer_only_when_it_is_free() {
        let (_dir, w, reader) = writer();
        w.write(false, || {}, |c| insert(c, 1))
            .unwrap_or_else(|e| panic!("{e}"));
        let read = w.try_read(values);
        assert!(
            matches!(read, Ok(Ok(ref v)) if v == &[1]),
            "{:?}",
            read.ok()
        );
        // What a read does is rolled back.
        let wrote = w.try_read(|c| {
            insert(c, 9)?;
            values(c)
        });
        assert!(
            matches!(wrote, Ok(Ok(ref v)) if v == &[1, 9]),
            "{:?}",
            wrote.ok()
        );
        assert_eq!(rows(&reader), vec![1]);
        // A write holds the connection (its row not committed): busy.
        let first = first_of_group(&w, 2);
        assert!(w.try_read(values).is_err());
        // A write queued behind it lets it finish; the two commit together.
        w.write(false, || {}, |c| insert(c, 3))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(first.join(), Ok(Ok(()))));
        let read = w.try_read(values);
        assert!(
            matches!(read, Ok(Ok(ref v)) if v == &[1, 2, 3]),
            "{:?}",
            read.ok()
        );
        // A read that panics leaves the connection free and usable.
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _ = w.try_read(|_| -> Result<()> { panic!("a read panics") });
        }));
        assert!(panicked.is_err());
        w.write(false, || {}, |c| insert(c, 4))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&reader), vec![1, 2, 3, 4]);
        assert!(matches!(w.try_read(values), Ok(Ok(ref v)) if v.len() == 4));
    }

    /// A write that panics in a group takes the group's other writes with
    /// it (they cannot be told apart from its half), and they say so; the
    /// connection is usable afterwards.
    #[test]
    fn a_panic_in_a_group_fails_the_whole_group() {
        let (_dir, w, reader) = writer();
        let first = first_of_group(&w, 1);
        let w2 = w.clone();
        let panicking = thread::spawn(move || {
            w2.write(
                false,
                || {},
                |c| -> Result<()> {
                    insert(c, 2)?;
                    panic!("boom");
                },
            )
        });
        assert!(panicking.join().is_err());
        match first.join() {
            Ok(Err(Error::Storage(m))) => assert!(m.contains("panicked"), "{m}"),
            other => panic!("expected the group's failure, got {other:?}"),
        }
        assert!(rows(&reader).is_empty());
        w.write(false, || {}, |c| insert(c, 3))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&reader), vec![3]);
    }

    /// A solo write commits the open group before it starts and never
    /// leaves its own transaction open.
    #[test]
    fn a_solo_write_commits_the_open_group_first() {
        let (_dir, w, reader) = writer();
        let first = first_of_group(&w, 1);
        let commits = AtomicUsize::new(0);
        let solo = w.write(
            true,
            || {
                commits.fetch_add(1, Ordering::SeqCst);
            },
            |c| {
                // The group before it is committed already.
                assert_eq!(rows(&reader), vec![1]);
                insert(c, 2)?;
                Err::<(), _>(Error::invalid("v", "no"))
            },
        );
        assert!(solo.is_err());
        assert!(matches!(first.join(), Ok(Ok(()))));
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert_eq!(rows(&reader), vec![1]);
    }

    /// Many writers at once: every write that succeeded is there, no
    /// failed one is, and fewer commits than writes were made.
    #[test]
    fn concurrent_writers_lose_nothing_and_keep_no_failure() {
        let (_dir, w, reader) = writer();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let w = w.clone();
                thread::spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..100 {
                        let v = t * 1000 + i;
                        let r = w.write(
                            false,
                            || {},
                            |c| {
                                insert(c, v)?;
                                if v % 7 == 0 {
                                    return Err(Error::invalid("v", "multiple of 7"));
                                }
                                Ok(())
                            },
                        );
                        match r {
                            Ok(()) => kept.push(v),
                            Err(Error::Invalid { .. }) => assert_eq!(v % 7, 0),
                            Err(e) => panic!("{e}"),
                        }
                    }
                    kept
                })
            })
            .collect();
        let mut kept: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_else(|_| panic!("writer panicked")))
            .collect();
        kept.sort_unstable();
        assert_eq!(rows(&reader), kept);
    }
}
