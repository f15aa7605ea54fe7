//! The SQLite store: one writer connection, a small reader pool, migrations.
//!
//! This module is the storage boundary. Nothing outside `store` names a
//! rusqlite type in a public signature; the rest of the engine reaches the
//! database only through [`Store::read`] and [`Store::write`] and the query
//! functions in the submodules, so a second backend replaces this module and
//! nothing else.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::db::{self, Conn};

mod group;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod scope;
mod wal_writes;

/// Runs `f` where the PostgreSQL client may block: here, or — from the
/// thread that drives an async runtime — on a thread of its own. For
/// work that spans several transactions (a copy between two databases).
pub(crate) fn off_async<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    #[cfg(feature = "postgres")]
    return postgres::off_async(f);
    #[cfg(not(feature = "postgres"))]
    f()
}

use crate::error::{Error, Result};

/// The embedded migrations; index `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
    include_str!("schema_v8.sql"),
    include_str!("schema_v9.sql"),
    include_str!("schema_v10.sql"),
    include_str!("schema_v11.sql"),
    include_str!("schema_v12.sql"),
    include_str!("schema_v13.sql"),
    include_str!("schema_v14.sql"),
    include_str!("schema_v15.sql"),
    include_str!("schema_v16.sql"),
    include_str!("schema_v17.sql"),
    include_str!("schema_v18.sql"),
    include_str!("schema_v19.sql"),
    include_str!("schema_v20.sql"),
    include_str!("schema_v21.sql"),
    include_str!("schema_v22.sql"),
    include_str!("schema_v23.sql"),
    include_str!("schema_v24.sql"),
    include_str!("schema_v25.sql"),
    include_str!("schema_v26.sql"),
    include_str!("schema_v27.sql"),
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How hard SQLite works to keep acknowledged writes.
///
/// Both settings use write-ahead logging and never lose a write whose call
/// returned when the *process* dies (a crash, `kill -9`, an OOM kill).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a killed process; after a power loss or
    /// OS crash the last few transactions may roll back (the file stays
    /// consistent). The default, and several times faster per write.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced; survives power loss.
    Full,
}

/// Storage settings for [`Forum::open_with`](crate::Forum::open_with).
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// See [`Durability`].
    pub durability: Durability,
    /// Reader connections kept open (at least 1). Reads beyond this many at
    /// once wait for a free connection.
    pub readers: usize,
    /// How long a connection waits for a lock held by another process
    /// (on PostgreSQL: its `lock_timeout`, for rows another writer holds).
    pub busy_timeout: Duration,
    /// Bytes of a SQLite file each reader connection maps into memory
    /// (SQLite's `mmap_size`). Default 0: pages are read into the
    /// connection's own cache ([`cache_bytes`](Self::cache_bytes)). Mapped
    /// pages are read without a copy, but the process's resident memory
    /// then counts every page a reader touched, once per reader (with 4
    /// readers a 226 MB file showed as 333 MB), and it was no faster
    /// (measured in `docs/performance.md`). Ignored on PostgreSQL.
    pub map_bytes: u64,
    /// Bytes of database pages the SQLite writer keeps in its own cache
    /// (SQLite's `cache_size`; default 16 MiB). Pages beyond it are read
    /// again from the kernel's file cache. Ignored on PostgreSQL.
    pub cache_bytes: u64,
    /// The same for each reader connection (default 4 MiB). Each reader
    /// caches its own copy of the pages it read, so this counts
    /// [`readers`](Self::readers) times in the process's memory; readers
    /// at 4 MiB answered as fast as at 16 (topic, latest and search at
    /// 100,000 and 1,000,000 posts, the demo's member pages) and the
    /// demo's peak under load fell from 152 to 134 MB. The writer keeps
    /// more: replies were 5–8 % slower with 4 MiB there
    /// (`docs/performance.md`).
    pub reader_cache_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            durability: Durability::Normal,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            map_bytes: 0,
            cache_bytes: 16 << 20,
            reader_cache_bytes: 4 << 20,
        }
    }
}

/// Whether the database file (or, before it exists, its directory) can't
/// be written: a read-only file system or missing permission.
fn is_read_only(path: &Path) -> bool {
    use std::io::ErrorKind;
    let probe = if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
    } else {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        tempfile_in(dir)
    };
    matches!(
        probe.map_err(|e| e.kind()),
        Err(ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied)
    )
}

/// Creates and removes a probe file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".hearth-probe-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// The database behind a `Forum`: a SQLite file, or (feature `postgres`)
/// a PostgreSQL server.
pub(crate) struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(Box<SqliteStore>),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Sqlite(s) => s.fmt(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.fmt(f),
        }
    }
}

impl Store {
    /// Opens (creating and migrating) the SQLite file at `path`.
    pub(crate) fn open(path: &Path, config: StoreConfig) -> Result<Store> {
        Ok(Store {
            backend: Backend::Sqlite(Box::new(SqliteStore::open(path, config)?)),
        })
    }

    /// Connects to PostgreSQL and creates or migrates the schema.
    #[cfg(feature = "postgres")]
    pub(crate) fn open_postgres(url: &str, config: StoreConfig) -> Result<Store> {
        Ok(Store {
            backend: Backend::Postgres(postgres::PgStore::open(url, config)?),
        })
    }

    /// Runs `f` in a write transaction and commits if it returns `Ok`; on
    /// `Err` (or a panic) nothing is applied. On PostgreSQL a transaction
    /// that deadlocked or failed to serialise is run again (hence `Fn`).
    pub(crate) fn write<T: Send>(&self, f: impl Fn(&Conn) -> Result<T> + Send + Sync) -> Result<T> {
        self.before_write();
        match &self.backend {
            Backend::Sqlite(s) => s.write(false, f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.write(f),
        }
    }

    /// [`Store::write_once`] from inside another transaction's closure
    /// (which already runs where blocking is allowed), so `f` need not be
    /// `Send`: copying one database into another.
    pub(crate) fn write_inside<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        self.before_write();
        match &self.backend {
            Backend::Sqlite(s) => s.write(true, f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.write_here(f),
        }
    }

    /// Whether this is a SQLite file (rather than PostgreSQL).
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// Whether [`Store::wait_for_notice`] returns early when another
    /// session commits a change (PostgreSQL), or only sleeps (SQLite).
    pub(crate) fn notifies(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => true,
        }
    }

    /// Waits up to `timeout` for a sign that another session may have
    /// changed something: on PostgreSQL a notification from a committed
    /// write (returns early), on SQLite simply the timeout (callers poll).
    pub(crate) fn wait_for_notice(&self, timeout: Duration) {
        match &self.backend {
            Backend::Sqlite(_) => std::thread::sleep(timeout),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.wait_for_notice(timeout),
        }
    }

    /// [`Store::write`], never run again: a conflict is the caller's.
    pub(crate) fn write_once<T: Send>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T> + Send,
    ) -> Result<T> {
        self.before_write();
        match &self.backend {
            Backend::Sqlite(s) => s.write(true, f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.write_once(f),
        }
    }

    /// Runs `f` in one read snapshot of the last committed state.
    pub(crate) fn read<T: Send>(&self, f: impl FnOnce(&Conn) -> Result<T> + Send) -> Result<T> {
        if scope::active(self.id()) {
            return self.read_held(f);
        }
        match &self.backend {
            Backend::Sqlite(s) => s.read(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.read(f),
        }
    }

    /// Runs `f`'s statements on the last committed state, each statement
    /// on its own on PostgreSQL (no transaction: two round trips fewer).
    /// For one statement, or for checks a write repeats in its own
    /// transaction; SQLite reads one snapshot either way, as it costs
    /// nothing there — on the writer connection when it is free (its
    /// cache is warm), so only short reads: a write waits for it.
    pub(crate) fn peek<T: Send>(&self, f: impl FnOnce(&Conn) -> Result<T> + Send) -> Result<T> {
        if scope::active(self.id()) {
            return self.read_held(f);
        }
        match &self.backend {
            Backend::Sqlite(s) => s.peek(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.peek(f),
        }
    }
}

impl Store {
    /// This store's key in the thread's snapshot scopes.
    pub(crate) fn id(&self) -> usize {
        self as *const Store as usize
    }

    /// Runs `f` with the reads it makes on this thread through this store
    /// in one snapshot (see [`scope`]); nested calls join the outer one.
    pub(crate) fn in_snapshot<T>(&self, f: impl FnOnce() -> T) -> T {
        /// Ends the snapshot however `f` ends, a panic included.
        struct Leave<'a>(&'a Store);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                if let Some(conn) = scope::leave(self.0.id()) {
                    self.0.end_held(conn);
                }
            }
        }
        if !scope::enter(self.id()) {
            return f();
        }
        let _leave = Leave(self);
        f()
    }

    /// A read on the scope's snapshot, opened by the first read.
    fn read_held<T: Send>(&self, f: impl FnOnce(&Conn) -> Result<T> + Send) -> Result<T> {
        let id = self.id();
        let conn = match scope::take(id) {
            Some(conn) => conn,
            None => {
                // Asked before the snapshot begins, so the snapshot holds
                // at least every write this number counts.
                let version = self.data_version();
                let conn = self.hold()?;
                scope::opened(id, version);
                conn
            }
        };
        let run = move || {
            let conn = conn;
            scope::lend(id, &conn as *const Conn as usize);
            let out = f(&conn);
            (conn, out)
        };
        let (conn, out) = match &self.backend {
            Backend::Sqlite(_) => run(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => postgres::off_async(run),
        };
        let ended = match &out {
            // The transaction may be unusable (on PostgreSQL any failed
            // statement aborts it): the next read opens another.
            Err(Error::Storage(_) | Error::Unavailable { .. }) => true,
            #[cfg(feature = "postgres")]
            Err(_) => matches!(self.backend, Backend::Postgres(_)),
            _ => false,
        };
        if ended {
            // Forget the snapshot's viewers and time with it.
            scope::before_write(id);
            self.end_held(conn);
        } else if let Some(conn) = scope::put(id, conn) {
            self.end_held(conn);
        }
        out
    }

    /// A number that changes whenever a write commits to the database, from
    /// this process or another; `None` where the backend cannot tell
    /// cheaply (PostgreSQL) or the question failed.
    pub(crate) fn data_version(&self) -> Option<u64> {
        match &self.backend {
            Backend::Sqlite(s) => s.data_version().ok(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => None,
        }
    }

    /// Ends the scope's snapshot before a write through this store.
    fn before_write(&self) {
        if let Some(conn) = scope::before_write(self.id()) {
            self.end_held(conn);
        }
    }

    /// A connection in a read transaction, for a scope.
    fn hold(&self) -> Result<Conn> {
        match &self.backend {
            Backend::Sqlite(s) => s.hold(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.hold(),
        }
    }

    /// Ends a scope's read transaction and gives its connection back.
    fn end_held(&self, conn: Conn) {
        match &self.backend {
            Backend::Sqlite(s) => s.end_held(conn),
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.end_held(conn),
        }
    }
}

/// The SQLite file: one writer connection (with group commit), a pool of
/// readers.
struct SqliteStore {
    path: PathBuf,
    config: StoreConfig,
    writer: group::Writer,
    readers: Mutex<Vec<Conn>>,
    open_readers: Mutex<usize>,
    /// A connection that only asks `PRAGMA data_version` (opened on first
    /// use): its answer changes whenever any other connection — this
    /// process's writer or another process — commits.
    watch: Mutex<Option<Connection>>,
    reader_freed: Condvar,
    checkpointer: Checkpointer,
}

/// Moves WAL checkpoints off the write path: a background thread copies
/// committed pages into the database file, so a write rarely stalls on
/// one. The thread wakes every 200 ms after commits, and at
/// once when the writer's commits have added `kick_pages` to the WAL
/// since it was last woken (the writer's WAL hook, [`Checkpointer::watch`]).
///
/// Under a steady stream of writes a checkpoint in another connection
/// never catches the end of the WAL, so the WAL would never start over:
/// once it holds `restart_pages`, the writer checkpoints by itself after a
/// commit. The thread has already copied all but the last few pages, so
/// that checkpoint is short, and the next write starts the WAL from its
/// beginning again.
struct Checkpointer {
    commits: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    limits: CheckpointLimits,
}

/// How often the checkpoint thread looks for commits, when the writer
/// wakes it early and when it checkpoints by itself (WAL pages).
#[derive(Clone, Copy, Debug)]
struct CheckpointLimits {
    every: Duration,
    kick_pages: i32,
    restart_pages: i32,
}

impl CheckpointLimits {
    /// Measured with `report --only reply` (see `docs/performance.md`):
    /// waking the thread every 1,024 pages keeps most checkpoint work off
    /// the writer. The writer's own checkpoint costs two fsyncs (≈ 12 ms
    /// or more), so the WAL starts over every 32,768 pages (128 MiB; its
    /// file keeps that size): replies ran 4–6 % faster than at 16,384,
    /// 65,536 added ≈ 2 % more for twice the file; 4,096 was slower.
    const DEFAULT: CheckpointLimits = CheckpointLimits {
        every: Duration::from_millis(200),
        kick_pages: 1024,
        restart_pages: 32_768,
    };
}

impl Checkpointer {
    fn start(path: &Path, config: &StoreConfig, limits: CheckpointLimits) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        configure(&conn, config, false)?;
        let commits = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (commits.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("hearth-checkpoint".into())
            .spawn(move || {
                let mut seen = 0;
                while !s.load(Ordering::Relaxed) {
                    std::thread::park_timeout(limits.every);
                    let now = c.load(Ordering::Relaxed);
                    if now != seen {
                        seen = now;
                        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                            tracing::warn!(error = %e, "background WAL checkpoint failed");
                        }
                    }
                }
            })
            .map_err(|e| Error::Storage(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            commits,
            stop,
            thread: Some(thread),
            limits,
        })
    }

    /// Installs the writer's WAL hook (in place of SQLite's automatic
    /// checkpoints): after each commit, wake the thread when the WAL has
    /// grown by `kick_pages`, checkpoint on the writer when it holds
    /// `restart_pages`.
    fn watch(&self, writer: &mut Connection) -> Result<()> {
        let thread = self.thread.as_ref().map(|t| t.thread().clone());
        let CheckpointLimits {
            kick_pages,
            restart_pages,
            ..
        } = self.limits;
        let mut woken_at = 0;
        writer.wal_hook(Some(
            move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                if pages < woken_at {
                    // The WAL started over.
                    woken_at = 0;
                }
                // Past `restart_pages` the thread is left asleep: the
                // writer's own checkpoint must not find it holding the
                // checkpoint lock.
                if pages - woken_at >= kick_pages && pages < restart_pages {
                    woken_at = pages;
                    if let Some(t) = &thread {
                        t.unpark();
                    }
                }
                if pages >= restart_pages
                    && let Err(e) = wal.checkpoint()
                {
                    // Busy (the thread is checkpointing, or a reader holds
                    // an old snapshot): the next commit tries again.
                    tracing::debug!(error = %e, pages, "writer's WAL checkpoint did not finish");
                }
                Ok(())
            },
        ))?;
        Ok(())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a connection leaves no open transaction behind
    // (rusqlite rolls back on drop), so the connection is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteStore {
    fn open(path: &Path, config: StoreConfig) -> Result<SqliteStore> {
        SqliteStore::open_with(path, config, CheckpointLimits::DEFAULT)
    }

    fn open_with(
        path: &Path,
        config: StoreConfig,
        limits: CheckpointLimits,
    ) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Storage(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let opened = (|| {
            // The writer alone writes the log: through the VFS that
            // writes a commit's frames at once (`wal_writes`).
            let opened = match wal_writes::name() {
                Some(vfs) => Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs),
                None => Connection::open(path),
            };
            let mut writer = opened
                .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
            configure(&writer, &config, false)?;
            migrate(&mut writer)?;
            Ok::<_, Error>(writer)
        })();
        let writer = match opened {
            Ok(w) => w,
            // SQLite says "unable to open" for a file it can't write (its
            // WAL index can't be made): say what it is.
            Err(e @ Error::Storage(_)) if is_read_only(path) => {
                tracing::warn!(path = %path.display(), error = %e, "database is read-only");
                return Err(Error::Unavailable {
                    cause: crate::Unavailable::ReadOnly,
                    retry_after: std::time::Duration::from_secs(30),
                });
            }
            Err(e) => return Err(e),
        };
        let mut writer = writer;
        let checkpointer = Checkpointer::start(path, &config, limits)?;
        checkpointer.watch(&mut writer)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            config,
            writer: group::Writer::new(Conn::from_sqlite(writer)),
            readers: Mutex::new(Vec::new()),
            open_readers: Mutex::new(0),
            watch: Mutex::new(None),
            reader_freed: Condvar::new(),
            checkpointer,
        })
    }

    /// Runs `f` inside a `BEGIN IMMEDIATE` transaction on the writer,
    /// committed — with the writes queued behind it, see [`group`] — before
    /// this returns `Ok`. On `Err` (or a panic) nothing `f` did is applied.
    /// `solo`: `f` has its transaction to itself.
    fn write<T>(&self, solo: bool, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        let commits = &self.checkpointer.commits;
        self.writer.write(
            solo,
            || {
                commits.fetch_add(1, Ordering::Relaxed);
            },
            f,
        )
    }

    /// Runs `f` on a reader connection. Readers see the last committed state.
    fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        // Run the reads of one call in one snapshot.
        let conn = self.hold()?;
        let out = f(&conn);
        self.end_held(conn);
        out
    }

    /// Runs `f` on the writer when it is free this moment (its cache is
    /// warm with what the last writes touched), else as [`Self::read`].
    fn peek<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        match self.writer.try_read(f) {
            Ok(out) => out,
            Err(f) => self.read(f),
        }
    }

    /// A reader connection in a read transaction.
    fn hold(&self) -> Result<Conn> {
        let conn = self.take_reader()?;
        if let Err(e) = conn
            .prepare_cached("BEGIN")
            .and_then(|mut s| s.execute(db::params![]))
        {
            self.end_held(conn);
            return Err(e.into());
        }
        Ok(conn)
    }

    /// Ends a reader's transaction and gives it back to the pool.
    fn end_held(&self, conn: Conn) {
        if !conn.as_sqlite().is_autocommit()
            && conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute(db::params![]))
                .is_err()
        {
            let _ = conn.execute_batch("ROLLBACK");
        }
        lock(&self.readers).push(conn);
        self.reader_freed.notify_one();
    }

    fn take_reader(&self) -> Result<Conn> {
        loop {
            if let Some(c) = lock(&self.readers).pop() {
                return Ok(c);
            }
            {
                let mut open = lock(&self.open_readers);
                if *open < self.config.readers.max(1) {
                    *open += 1;
                    drop(open);
                    return self.open_reader().inspect_err(|_| {
                        *lock(&self.open_readers) -= 1;
                    });
                }
            }
            let pool = lock(&self.readers);
            if pool.is_empty() {
                let _unused = self
                    .reader_freed
                    .wait_timeout(pool, Duration::from_millis(50))
                    .map_err(|_| Error::Storage("reader pool poisoned".into()))?;
            }
        }
    }

    /// `PRAGMA data_version` on the watching connection.
    fn data_version(&self) -> Result<u64> {
        let mut watch = lock(&self.watch);
        if watch.is_none() {
            let conn = self.connect()?;
            conn.busy_timeout(self.config.busy_timeout)?;
            *watch = Some(conn);
        }
        let conn = watch
            .as_ref()
            .ok_or_else(|| Error::Storage("no watching connection".into()))?;
        // Prepared once: every snapshot asks, under the lock (parsing the
        // pragma each time was 40 % of this on a member's topic page).
        let v: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(v as u64)
    }

    /// A connection of this process's own beside the writer (no pragmas).
    fn connect(&self) -> Result<Connection> {
        Ok(Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?)
    }

    fn open_reader(&self) -> Result<Conn> {
        let conn = self.connect()?;
        configure(&conn, &self.config, true)?;
        Ok(Conn::from_sqlite(conn))
    }
}

fn configure(conn: &Connection, config: &StoreConfig, reader: bool) -> Result<()> {
    conn.busy_timeout(config.busy_timeout)?;
    // Query-planner stability: the bundled SQLite has STAT4, which otherwise
    // re-prepares a statement whenever a bound value might change its plan,
    // defeating the statement cache (measured: ~15% of a topic read).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    // Search ranks with these (`db::fts5`); the migrations use them too.
    db::fts5::register(conn)?;
    let sync = match config.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{};",
        (if reader {
            config.reader_cache_bytes
        } else {
            config.cache_bytes
        } / 1024)
            .max(1)
    ))?;
    if reader {
        // Readers may map the file (`map_bytes`, off by default). The
        // writer never does: a growing file would make it remap the region
        // again and again.
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA mmap_size = {};",
            config.map_bytes
        ))?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // Schema v21 fills a table with `hearth_len`.
    db::fts5::register(conn)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Re-read inside the lock: another process may have migrated meanwhile
    // (perhaps a newer build: its stamp must not be written back down).
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Greater => {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        std::cmp::Ordering::Equal => return Ok(()),
        std::cmp::Ordering::Less => {}
    }
    // Some migrations copy a large table (v26: the event log, ≈ 5 s a
    // million events): an operator waiting on a start-up should know why.
    let started = std::time::Instant::now();
    if found > 0 {
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            "migrating the database; large communities may take a few seconds"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(sql).map_err(|e| {
            Error::Storage(format!("migration to schema version {} failed: {e}", i + 1))
        })?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    if found > 0 {
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            seconds = started.elapsed().as_secs_f64(),
            "database migrated"
        );
    }
    Ok(())
}

/// Makes the calling write transaction the only writer of `community`
/// until it ends.
///
/// On SQLite there is one writer per database anyway: nothing to do. On
/// PostgreSQL write transactions run `READ COMMITTED` side by side, so the
/// engine's check-then-write rules (daily point caps, one accepted answer,
/// dense post numbers, counters computed from reads) and the order in which
/// a community's event ids become visible need the writers of one
/// community to take turns: the transaction locks the community's row
/// (`FOR NO KEY UPDATE`, which leaves foreign-key checks and readers
/// alone). Statements after the lock see every change committed before
/// it. Writers of different communities don't wait for each other; two
/// transactions locking two communities in opposite orders deadlock, and
/// the store runs the loser again.
pub(crate) fn hold_community(conn: &Conn, community: crate::ids::CommunityId) -> Result<()> {
    match conn.dialect() {
        db::Dialect::Sqlite => {
            let _ = community;
            Ok(())
        }
        #[cfg(feature = "postgres")]
        db::Dialect::Postgres => {
            // No row yet: the community is being created in this very
            // transaction, so no other writer can see it.
            // The same statement announces the change to the other
            // sessions' listeners (delivered at commit, dropped on
            // rollback): see `Store::wait_for_notice`.
            let _row = optional(
                conn.prepare_cached(
                    "SELECT id, pg_notify('hearth_changes', CAST(id AS TEXT)) FROM communities
                     WHERE id = ?1 FOR NO KEY UPDATE",
                )?
                .query_row(db::params![community], |r| r.get::<_, i64>(0)),
            )?;
            Ok(())
        }
    }
}

/// Turns "no row" into [`Error::NotFound`].
pub(crate) trait OptionalExt<T> {
    fn found(self, what: &'static str) -> Result<T>;
}

impl<T> OptionalExt<T> for db::Result<T> {
    fn found(self, what: &'static str) -> Result<T> {
        match self {
            Ok(v) => Ok(v),
            Err(db::Error::NoRows) => Err(Error::not_found(what)),
            Err(e) => Err(e.into()),
        }
    }
}

/// `Ok(None)` for "no row".
pub(crate) fn optional<T>(r: db::Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(db::Error::NoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads a text column through one of the engine's parsers (roles, kinds,
/// visibilities…), so row mappers build typed values directly; an unknown
/// value becomes a conversion error (and then [`Error::Storage`]).
pub(crate) fn parsed<T>(
    row: &db::Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Result<T>,
) -> db::Result<T> {
    let text: String = row.get(idx)?;
    parse(&text).map_err(|e| db::Error::convert(idx, e))
}

#[cfg(all(test, feature = "postgres"))]
mod postgres_tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The PostgreSQL schema has every table and column SQLite's
    /// migrations make (a migration added to one and not the other fails
    /// here), and no `int4` column (the engine binds every integer as
    /// `int8`).
    #[test]
    fn postgres_schema_matches_sqlite() {
        let Some(pg) = db::test_postgres() else {
            return;
        };
        let schema = format!("schema_check_{}", std::process::id());
        pg.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             SET search_path TO {schema};"
        ))
        .expect("schema");
        pg.execute_batch(include_str!("pg_schema_v6.sql"))
            .expect("the PostgreSQL schema loads");
        for sql in postgres::PG_MIGRATIONS {
            pg.execute_batch(sql).expect("a PostgreSQL migration loads");
        }
        let pg_columns: BTreeSet<(String, String)> = pg
            .prepare(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                      WHERE table_schema = ?1 AND column_name NOT IN ('rowid', 'tsv')",
            )
            .expect("prepare")
            .query_map(db::params![schema], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("columns")
            .collect::<db::Result<_>>()
            .expect("columns");
        let narrow: Vec<String> = pg
            .prepare(
                "SELECT (table_name || '.' || column_name)::text FROM information_schema.columns
                      WHERE table_schema = ?1 AND data_type IN ('integer', 'smallint', 'real')",
            )
            .expect("prepare")
            .query_map(db::params![schema], |r| r.get(0))
            .expect("types")
            .collect::<db::Result<_>>()
            .expect("types");
        pg.execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))
            .expect("drop");

        let mut sqlite = Connection::open_in_memory().expect("open");
        migrate(&mut sqlite).expect("migrate");
        let sqlite = Conn::from_sqlite(sqlite);
        let sqlite_columns: BTreeSet<(String, String)> = sqlite
            .prepare(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
                      WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                        AND m.name NOT LIKE '%_index_%'",
            )
            .expect("prepare")
            .query_map(db::params![], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("columns")
            .collect::<db::Result<_>>()
            .expect("columns");
        assert_eq!(
            pg_columns
                .symmetric_difference(&sqlite_columns)
                .collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "columns only in one schema"
        );
        assert!(narrow.is_empty(), "int4/int2/real columns: {narrow:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one integer `sql` answers, on a reader or on the writer.
    fn one(store: &Store, on_writer: bool, sql: &str) -> i64 {
        let query = |conn: &Conn| Ok(conn.as_sqlite().query_row(sql, [], |r| r.get(0))?);
        let answer = if on_writer {
            store.write(|conn| query(conn))
        } else {
            store.read(query)
        };
        answer.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn pragma(store: &Store, name: &str) -> i64 {
        one(store, false, &format!("PRAGMA {name}"))
    }

    /// The data version moves with every commit — this process's writer's
    /// and another connection's — and stays put without one (asked again
    /// and again through the one prepared statement).
    #[test]
    fn the_data_version_moves_with_each_commit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("v.db");
        let store = Store::open(&path, StoreConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let version = || {
            store
                .data_version()
                .unwrap_or_else(|| panic!("no data version"))
        };
        let mut seen = version();
        assert_eq!(version(), seen);
        for round in 0..3 {
            store
                .write(|c| {
                    Ok(c.execute_batch(
                        "CREATE TABLE IF NOT EXISTS v (x); INSERT INTO v VALUES (1)",
                    )?)
                })
                .unwrap_or_else(|e| panic!("{e}"));
            let now = version();
            assert_ne!(now, seen, "round {round}: the writer's commit");
            assert_eq!(version(), now);
            seen = now;
            let other = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
            other
                .execute_batch("INSERT INTO v VALUES (2)")
                .unwrap_or_else(|e| panic!("{e}"));
            let now = version();
            assert_ne!(now, seen, "round {round}: another connection's commit");
            seen = now;
        }
    }

    /// A steady stream of commits, with nobody reading, never lets the WAL
    /// grow much past `restart_pages`: the writer's hook checkpoints and
    /// the WAL starts over (its file keeps its high-water mark, so its
    /// size is the most it ever held).
    #[test]
    fn the_wal_starts_over_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("wal.db");
        // The thread never wakes (its timer is an hour, the writer never
        // kicks it): the writer's own checkpoint is what is tested.
        let limits = CheckpointLimits {
            every: Duration::from_secs(3600),
            kick_pages: i32::MAX,
            restart_pages: 64,
        };
        let store = Store {
            backend: Backend::Sqlite(Box::new(
                SqliteStore::open_with(&path, StoreConfig::default(), limits)
                    .unwrap_or_else(|e| panic!("{e}")),
            )),
        };
        store
            .write(|conn| Ok(conn.execute_batch("CREATE TABLE t (b BLOB)")?))
            .unwrap_or_else(|e| panic!("{e}"));
        let page = vec![7u8; 3000];
        let writes = 1500;
        for _ in 0..writes {
            store
                .write(|conn| {
                    conn.as_sqlite()
                        .execute("INSERT INTO t (b) VALUES (?1)", [&page])?;
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let wal = std::fs::metadata(dir.path().join("wal.db-wal"))
            .unwrap_or_else(|e| panic!("{e}"))
            .len();
        // A frame is a page and its 24-byte header, after a 32-byte header.
        let frames = (wal - 32) / (4096 + 24);
        // Each commit adds a new page and the pages it links from: over
        // 3,000 frames if the WAL never started over, over 1,000 with
        // SQLite's own automatic checkpoints. The migrations left ≈ 170,
        // the most the WAL held since.
        assert!(frames < 400, "the WAL grew to {frames} frames");
        assert_eq!(one(&store, false, "SELECT count(*) FROM t"), writes);
    }

    /// `map_bytes` and `reader_cache_bytes` reach every reader, at the
    /// defaults and at a setting of each's own (0: no mapping at all); the
    /// writer's cache is `cache_bytes`.
    #[test]
    fn readers_map_and_cache_what_the_config_says() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let defaults = StoreConfig::default();
        for (map_bytes, cache_bytes) in [
            (defaults.map_bytes, defaults.reader_cache_bytes),
            (0, 1 << 20),
            (64 << 20, 3 << 20),
        ] {
            let path = dir.path().join(format!("m{map_bytes}-c{cache_bytes}.db"));
            let config = StoreConfig {
                map_bytes,
                reader_cache_bytes: cache_bytes,
                cache_bytes: 5 << 20,
                ..StoreConfig::default()
            };
            let store = Store::open(&path, config).unwrap_or_else(|e| panic!("{e}"));
            for _ in 0..3 {
                assert_eq!(pragma(&store, "mmap_size"), map_bytes as i64);
                // Negative: KiB rather than pages.
                assert_eq!(pragma(&store, "cache_size"), -((cache_bytes / 1024) as i64));
            }
            let writer = one(&store, true, "PRAGMA cache_size");
            assert_eq!(writer, -(5 << 10), "the writer's own");
        }
    }
}
