//! The PostgreSQL store: a pool of sessions, transactions, and the schema
//! (created from `pg_schema_v6.sql`, versioned in `hearth_schema`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{SCHEMA_VERSION, StoreConfig, lock};
use crate::db::{self, Conn};
use crate::error::{Error, Result, Unavailable};

/// The schema version `pg_schema_v6.sql` creates.
const PG_BASELINE: i64 = 6;

/// Migrations after the baseline; index `i` brings the schema from
/// `PG_BASELINE + i` to `PG_BASELINE + i + 1`, as SQLite's do. A SQLite
/// migration added without its PostgreSQL counterpart stops the build.
pub(super) const PG_MIGRATIONS: &[&str] = &[
    include_str!("pg_schema_v7.sql"),
    include_str!("pg_schema_v8.sql"),
    include_str!("pg_schema_v9.sql"),
    include_str!("pg_schema_v10.sql"),
    include_str!("pg_schema_v11.sql"),
    include_str!("pg_schema_v12.sql"),
    include_str!("pg_schema_v13.sql"),
    include_str!("pg_schema_v14.sql"),
    include_str!("pg_schema_v15.sql"),
    include_str!("pg_schema_v16.sql"),
    include_str!("pg_schema_v17.sql"),
    include_str!("pg_schema_v18.sql"),
    include_str!("pg_schema_v19.sql"),
    include_str!("pg_schema_v20.sql"),
    include_str!("pg_schema_v21.sql"),
    include_str!("pg_schema_v22.sql"),
    include_str!("pg_schema_v23.sql"),
    include_str!("pg_schema_v24.sql"),
    include_str!("pg_schema_v25.sql"),
    include_str!("pg_schema_v26.sql"),
    include_str!("pg_schema_v27.sql"),
];
const _: () = assert!(PG_BASELINE + PG_MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// Serialises schema changes between processes opening the same database.
const MIGRATION_LOCK: i64 = 0x6865_6172_7468; // "hearth"

pub(super) struct PgStore {
    url: String,
    /// Commits other sessions (and processes) announced, see [`Notices`].
    notices: Arc<Notices>,
    /// Whether the listener thread runs.
    listening: Mutex<bool>,
    size: usize,
    /// `lock_timeout`: how long a statement waits for a row another
    /// writer holds before failing with [`Unavailable::Busy`].
    busy_timeout: Duration,
    idle: Mutex<Vec<Conn>>,
    open: Mutex<usize>,
    freed: Condvar,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not printed.
        f.debug_struct("Store")
            .field("backend", &"postgres")
            .field("connections", &self.size)
            .finish()
    }
}

impl PgStore {
    pub(super) fn open(url: &str, config: StoreConfig) -> Result<PgStore> {
        let store = PgStore {
            url: url.to_string(),
            notices: Arc::default(),
            listening: Mutex::new(false),
            size: config.readers.max(1) + 1,
            busy_timeout: config.busy_timeout,
            idle: Mutex::new(Vec::new()),
            open: Mutex::new(0),
            freed: Condvar::new(),
        };
        store.write(migrate)?;
        Ok(store)
    }

    /// A read-write transaction (`READ COMMITTED`; the engine serialises
    /// what must be serial with row locks, see `Write::hold`). A deadlock
    /// or serialization failure rolls the whole transaction back, so it is
    /// run again, up to [`CONFLICT_RETRIES`] times, after a short random
    /// pause; `f` touches nothing but the transaction, so running it again
    /// is safe.
    pub(super) fn write<T: Send>(&self, f: impl Fn(&Conn) -> Result<T> + Send + Sync) -> Result<T> {
        let mut attempt = 0;
        loop {
            match self.transaction("BEGIN", &f) {
                Err(Error::Unavailable {
                    cause: Unavailable::Conflict,
                    ..
                }) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, "write conflicted; running it again");
                    std::thread::sleep(backoff(attempt));
                }
                other => return other,
            }
        }
    }

    /// A read-write transaction, not run again on a conflict.
    pub(super) fn write_once<T: Send>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T> + Send,
    ) -> Result<T> {
        self.transaction("BEGIN", f)
    }

    /// A read-write transaction on this thread, whatever it is.
    pub(super) fn write_here<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        self.transaction_here("BEGIN", f)
    }

    /// A read-only transaction on one snapshot.
    pub(super) fn read<T: Send>(&self, f: impl FnOnce(&Conn) -> Result<T> + Send) -> Result<T> {
        self.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", f)
    }

    /// A connection in a read-only transaction on one snapshot, for a
    /// scope (see `store::scope`).
    pub(super) fn hold(&self) -> Result<Conn> {
        off_async(|| {
            let conn = self.take()?;
            match conn.execute_batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                Ok(()) => Ok(conn),
                Err(e) => {
                    self.end_held(conn);
                    Err(e.into())
                }
            }
        })
    }

    /// Ends a scope's transaction and gives its connection back (or drops
    /// it, if it cannot end).
    pub(super) fn end_held(&self, conn: Conn) {
        off_async(move || {
            if conn.execute_batch("COMMIT").is_ok() {
                self.give_back(conn);
            } else {
                drop(conn);
                self.discard();
            }
        })
    }

    /// Statements outside a transaction, each on the latest committed
    /// state: no `BEGIN` and `COMMIT`, two round trips fewer than
    /// [`PgStore::read`].
    pub(super) fn peek<T: Send>(&self, f: impl FnOnce(&Conn) -> Result<T> + Send) -> Result<T> {
        off_async(|| {
            let mut tx = Tx {
                store: self,
                conn: Some(self.take()?),
                done: false,
            };
            let out = f(tx.conn.as_ref().ok_or_else(gone)?)?;
            tx.done = true;
            Ok(out)
        })
    }

    /// Runs a transaction; from inside an async runtime (see
    /// [`in_async_context`]) on a short-lived thread of its own.
    fn transaction<T: Send>(
        &self,
        begin: &str,
        f: impl FnOnce(&Conn) -> Result<T> + Send,
    ) -> Result<T> {
        off_async(|| self.transaction_here(begin, f))
    }

    fn transaction_here<T>(&self, begin: &str, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        let conn = self.take()?;
        let mut tx = Tx {
            store: self,
            conn: Some(conn),
            done: false,
        };
        let c = tx.conn.as_ref().ok_or_else(gone)?;
        c.execute_batch(begin)?;
        let out = f(c)?;
        c.execute_batch("COMMIT")?;
        tx.done = true;
        Ok(out)
    }

    fn take(&self) -> Result<Conn> {
        loop {
            if let Some(c) = lock(&self.idle).pop() {
                return Ok(c);
            }
            {
                let mut open = lock(&self.open);
                if *open < self.size {
                    *open += 1;
                    drop(open);
                    return self
                        .connect()
                        .map_err(|e| {
                            tracing::warn!(error = %e, "cannot connect to PostgreSQL");
                            match Error::from(e) {
                                Error::Storage(m) => {
                                    Error::Storage(format!("cannot connect to PostgreSQL: {m}"))
                                }
                                other => other,
                            }
                        })
                        .inspect_err(|_| *lock(&self.open) -= 1);
                }
            }
            let idle = lock(&self.idle);
            if idle.is_empty() {
                let _unused = self
                    .freed
                    .wait_timeout(idle, Duration::from_millis(50))
                    .map_err(|_| Error::Storage("connection pool poisoned".into()))?;
            }
        }
    }

    fn connect(&self) -> db::Result<Conn> {
        let conn = Conn::connect_postgres(&self.url)?;
        // Whole milliseconds, at least 1 (0 would mean "wait forever").
        let ms = self.busy_timeout.as_millis().clamp(1, i32::MAX as u128);
        conn.execute_batch(&format!("SET lock_timeout = {ms}"))?;
        Ok(conn)
    }

    /// Waits up to `timeout` for a community change announced by any
    /// session (`NOTIFY hearth_changes`, sent by `hold_community` and
    /// delivered when the writing transaction commits). Returns early on
    /// one; a timeout is not an error (the caller checks the database).
    pub(super) fn wait_for_notice(&self, timeout: Duration) {
        let seen = *lock(&self.notices.count);
        self.start_listener();
        let count = lock(&self.notices.count);
        let _unused = self
            .notices
            .arrived
            .wait_timeout_while(count, timeout, |c| *c == seen);
    }

    /// One session per store listens, on a thread of its own, for as long
    /// as the store lives; it reconnects after losing the server.
    fn start_listener(&self) {
        let mut listening = lock(&self.listening);
        if *listening {
            return;
        }
        let (url, notices) = (self.url.clone(), self.notices.clone());
        match std::thread::Builder::new()
            .name("hearth-pg-listen".into())
            .spawn(move || listen(&url, &notices))
        {
            Ok(_) => *listening = true,
            Err(e) => tracing::warn!(error = %e, "no listener thread; changes are polled"),
        }
    }

    fn give_back(&self, conn: Conn) {
        lock(&self.idle).push(conn);
        self.freed.notify_one();
    }

    fn discard(&self) {
        *lock(&self.open) -= 1;
        self.freed.notify_one();
    }
}

/// How often a conflicting write is run again before the caller gets
/// [`Unavailable::Conflict`].
const CONFLICT_RETRIES: u32 = 8;

/// A random pause of up to 2^attempt ms (at most 256 ms), so two
/// deadlocked writers don't meet again at once.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let ceiling = 1u64 << attempt.min(8);
    Duration::from_micros(h.finish() % (ceiling * 1000))
}

/// Whether this thread is driving async code: the body of a
/// `#[tokio::main]`/`#[tokio::test]` function or `Runtime::block_on`.
///
/// The `postgres` client blocks on a small runtime of its own, which tokio
/// refuses to start there ("Cannot start a runtime from within a
/// runtime"). SQLite has no such limit, and an embedder's startup code
/// (open the forum, build the web app in `async fn main`) calls the engine
/// from exactly there, so those calls move to a thread of their own. Calls
/// from `spawn_blocking` (how the web crate calls the engine) run a task
/// with an id and are allowed to block: no extra thread. A `Forum` called
/// straight from a spawned async task blocks that task's worker — wrong
/// on either backend — and on PostgreSQL tokio's panic says so.
fn in_async_context() -> bool {
    tokio::runtime::Handle::try_current().is_ok() && tokio::task::try_id().is_none()
}

/// Runs `f` here, or — inside an async runtime, see [`in_async_context`]
/// — on a short-lived thread of its own.
pub(crate) fn off_async<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if !in_async_context() {
        return f();
    }
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Announcements seen by the listener: a counter and a way to wait for it.
#[derive(Default)]
struct Notices {
    count: Mutex<u64>,
    arrived: Condvar,
    stop: AtomicBool,
}

impl Notices {
    fn arrive(&self) {
        *lock(&self.count) += 1;
        self.arrived.notify_all();
    }
}

/// The listener thread: `LISTEN`, then count notifications until the
/// store is dropped; after an error, wait a second and connect again
/// (waiters meanwhile time out and check the database themselves).
fn listen(url: &str, notices: &Notices) {
    use postgres::fallible_iterator::FallibleIterator;
    while !notices.stop.load(Ordering::Relaxed) {
        let session = postgres::Client::connect(url, postgres::NoTls).and_then(|mut c| {
            // The channel `hold_community` notifies on.
            c.batch_execute("LISTEN hearth_changes")?;
            Ok(c)
        });
        let mut client = match session {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; retrying in 1 s");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        // Anything may have changed while no one listened.
        notices.arrive();
        while !notices.stop.load(Ordering::Relaxed) {
            let mut n = client.notifications();
            let mut waiting = n.timeout_iter(Duration::from_millis(500));
            match waiting.next() {
                Ok(Some(_)) => notices.arrive(),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "lost the change listener; reconnecting");
                    break;
                }
            }
        }
    }
}

impl Drop for PgStore {
    /// Stops the listener. Closing a session blocks on the client's
    /// runtime too: from inside an async runtime, the idle sessions close
    /// on a thread of their own.
    fn drop(&mut self) {
        self.notices.stop.store(true, Ordering::Relaxed);
        let idle = std::mem::take(&mut *lock(&self.idle));
        if in_async_context() {
            std::thread::scope(|s| {
                s.spawn(move || drop(idle));
            });
        }
    }
}

fn gone() -> Error {
    Error::Storage("the pooled connection went missing".into())
}

/// A transaction in progress: rolled back if not committed (an error or
/// a panic in the closure); a session that can't roll back is dropped.
struct Tx<'s> {
    store: &'s PgStore,
    conn: Option<Conn>,
    done: bool,
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.done || conn.execute_batch("ROLLBACK").is_ok() {
            self.store.give_back(conn);
        } else {
            self.store.discard();
        }
    }
}

/// Creates the schema in an empty database, refuses a newer one.
fn migrate(conn: &Conn) -> Result<()> {
    conn.prepare_cached("SELECT pg_advisory_xact_lock(?1)")?
        .query_row(db::params![MIGRATION_LOCK], |_| Ok(()))?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS hearth_schema (version BIGINT NOT NULL)")?;
    let found: i64 = conn
        .prepare_cached("SELECT coalesce(max(version), 0) FROM hearth_schema")?
        .query_row(db::params![], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0 {
        conn.execute_batch(include_str!("pg_schema_v6.sql"))
            .map_err(|e| Error::Storage(format!("creating the PostgreSQL schema failed: {e}")))?;
        conn.execute(
            "INSERT INTO hearth_schema (version) VALUES (?1)",
            db::params![PG_BASELINE],
        )?;
    }
    let found = found.max(PG_BASELINE);
    for (i, sql) in PG_MIGRATIONS
        .iter()
        .enumerate()
        .skip((found - PG_BASELINE) as usize)
    {
        let version = PG_BASELINE + i as i64 + 1;
        conn.execute_batch(sql).map_err(|e| {
            Error::Storage(format!("migration to schema version {version} failed: {e}"))
        })?;
        conn.execute(
            "UPDATE hearth_schema SET version = ?1",
            db::params![version],
        )?;
    }
    Ok(())
}

/// The integration tests' backend helpers, for the unit tests below.
#[cfg(test)]
#[path = "../../tests/common/backend.rs"]
mod test_backend;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A fresh database on the test server (the integration tests' helper).
    fn fresh_database(name: &str) -> Option<String> {
        super::test_backend::postgres_database(name)
    }

    #[test]
    fn an_older_schema_is_migrated_on_open() {
        let Some(url) = fresh_database("older") else {
            return;
        };
        // A database as the baseline made it, before any later migration.
        let old = Conn::connect_postgres(&url).expect("connect");
        old.execute_batch(include_str!("pg_schema_v6.sql"))
            .expect("baseline");
        old.execute_batch(
            "CREATE TABLE hearth_schema (version BIGINT NOT NULL);
             INSERT INTO hearth_schema VALUES (6);",
        )
        .expect("version");
        drop(old);
        let store = Store::open_postgres(&url, StoreConfig::default()).expect("migrate");
        let (version, leases): (i64, i64) = store
            .read(|c| {
                Ok(c.prepare_cached(
                    "SELECT (SELECT version FROM hearth_schema),
                            (SELECT count(*) FROM information_schema.tables
                              WHERE table_name = 'leases')",
                )?
                .query_row(db::params![], |r| Ok((r.get(0)?, r.get(1)?)))?)
            })
            .expect("read");
        assert_eq!((version, leases), (SCHEMA_VERSION, 1));
    }

    #[test]
    fn schema_is_created_once_and_a_newer_one_refused() {
        let Some(url) = fresh_database("schema") else {
            return;
        };
        let store = Store::open_postgres(&url, StoreConfig::default()).expect("create");
        let tables: i64 = store
            .read(|c| {
                Ok(c.prepare_cached(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                )?
                .query_row(db::params![], |r| r.get(0))?)
            })
            .expect("count");
        assert!(tables > 50, "{tables}");
        drop(store);
        // Opening again changes nothing.
        let store = Store::open_postgres(&url, StoreConfig::default()).expect("reopen");
        // A write that fails is rolled back; the session stays usable.
        let err = store.write(|c| {
            c.execute(
                "INSERT INTO users (username, username_lower, display_name, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                db::params!["ada", "ada", "Ada", 0i64],
            )?;
            Err::<(), _>(Error::invalid("test", "roll back"))
        });
        assert!(err.is_err());
        let users: i64 = store
            .read(|c| {
                Ok(c.prepare_cached("SELECT count(*) FROM users")?
                    .query_row(db::params![], |r| r.get(0))?)
            })
            .expect("count");
        assert_eq!(users, 0);
        store
            .write(|c| {
                Ok(c.execute(
                    "UPDATE hearth_schema SET version = ?1",
                    db::params![SCHEMA_VERSION + 1],
                )?)
            })
            .expect("bump");
        drop(store);
        assert!(matches!(
            Store::open_postgres(&url, StoreConfig::default()),
            Err(Error::SchemaTooNew { .. })
        ));
    }
}
