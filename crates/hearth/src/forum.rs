//! [`Forum`], the handle an embedder holds, and its configuration.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::db::Conn;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock, to_millis};
use crate::error::Result;
use crate::events::{Event, NewEvent, append};
use crate::hooks::{Hooks, notify};
use crate::ids::{CommunityId, UserId};
use crate::permissions::{Actor, ConfigCache, Snapshot, Viewer};
use crate::rank::DfCache;
use crate::store::{Store, StoreConfig};

/// Settings for [`Forum::open_with`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Durability and connection pool.
    pub store: StoreConfig,
    /// Where timestamps come from.
    pub clock: Arc<dyn Clock>,
    /// How long a run of [`Forum::run_email_jobs`] holds its lease between
    /// renewals (default [`EMAIL_JOB_LEASE`](crate::EMAIL_JOB_LEASE)): when
    /// the process running it dies, another takes over at most this long
    /// after. Shorter means a faster take-over, but a run that stalls longer
    /// than this (a mail server that hangs) loses the lease and stops.
    pub email_job_lease: std::time::Duration,
    /// Where uploads' bytes are kept: in the database (the default) or,
    /// with the crate feature `object-store`, in an object store.
    pub uploads: crate::upload_store::UploadStorage,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreConfig::default(),
            clock: Arc::new(SystemClock),
            email_job_lease: crate::jobs::EMAIL_JOB_LEASE,
            uploads: Default::default(),
        }
    }
}

/// A forum: every community in one database file.
///
/// `Forum` is `Send + Sync`; share one per process (for example in an
/// `Arc`). All calls are synchronous and short: writes are serialised on one
/// writer connection, reads run in parallel on a small pool of readers.
/// Opening costs a few milliseconds (plus migrations on an old file);
/// dropping it closes the connections.
pub struct Forum {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    hooks: RwLock<Vec<Arc<dyn Hooks>>>,
    pub(crate) configs: ConfigCache,
    pub(crate) dfs: DfCache,
    /// The full-text index's structure when tidying last found nothing to
    /// merge (see `search::tidy_search_index`): unchanged since, nothing to do.
    pub(crate) tidied: std::sync::Mutex<Option<Vec<u8>>>,
    /// The earliest pin expiry not yet lifted (see `expire_pins`).
    pub(crate) pins: crate::due::Due,
    /// The earliest topic timer not yet run (see `run_due_timers`).
    pub(crate) timers: crate::due::Due,
    /// Visible topics per category, per community, as of an event id (see
    /// `category::topic_counts`).
    pub(crate) topic_counts: crate::category::TopicCounts,
    /// Who this handle is when it takes a lease (see `lease.rs`).
    pub(crate) lease_holder: String,
    /// See [`Config::email_job_lease`].
    pub(crate) email_job_lease: std::time::Duration,
    /// See [`Config::uploads`].
    pub(crate) uploads: crate::upload_store::UploadStorage,
}

impl std::fmt::Debug for Forum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forum")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// What a write closure gets: the transaction, the time of the write, and
/// the events it appends.
pub(crate) struct Write<'a> {
    pub tx: &'a Conn,
    pub now: OffsetDateTime,
    pub events: Vec<Event>,
    /// The communities this transaction has locked (see [`Write::hold`]).
    held: std::cell::RefCell<Vec<CommunityId>>,
    /// The (community, member) pairs whose day this transaction has
    /// already marked as one they acted on (`member_days.acted`), so
    /// `trust::mark_acted` need not write it again.
    pub(crate) acted: Vec<(CommunityId, UserId)>,
}

impl Write<'_> {
    pub(crate) fn now_ms(&self) -> i64 {
        to_millis(self.now)
    }

    /// Makes this transaction the only writer of `community` until it
    /// ends; see [`crate::store::hold_community`]. Taken by
    /// [`Forum::viewer_in`] (so every check a write makes on what it read
    /// after loading its viewer still holds when it commits) and before
    /// an event is appended (so a community's events commit in id order).
    pub(crate) fn hold(&self, community: CommunityId) -> Result<()> {
        let mut held = self.held.borrow_mut();
        if !held.contains(&community) {
            crate::store::hold_community(self.tx, community)?;
            held.push(community);
        }
        Ok(())
    }

    /// Appends an event in this transaction.
    pub(crate) fn emit(&mut self, community: CommunityId, e: NewEvent) -> Result<()> {
        self.hold(community)?;
        let event = append(self.tx, community, self.now, e)?;
        self.events.push(event);
        Ok(())
    }
}

impl Forum {
    /// Opens (creating or migrating as needed) the database at `path` with
    /// default settings: see [`Config`].
    ///
    /// `path` is a SQLite file, or — with the crate feature `postgres` — a
    /// `postgres://…` URL: the same API and behaviour (the test suites run
    /// on both), with writers of one community taking turns and different
    /// communities written in parallel. Several processes on one
    /// PostgreSQL database do not yet share their caches and background
    /// jobs: see `docs/postgres.md`. [`Forum::copy_to`] moves a SQLite
    /// site there.
    ///
    /// Fails with [`Error::SchemaTooNew`](crate::Error::SchemaTooNew) if the
    /// database was written by a newer Hearth.
    pub fn open(path: impl AsRef<Path>) -> Result<Forum> {
        Forum::open_with(path, Config::default())
    }

    /// Opens the database at `path` with explicit settings.
    pub fn open_with(path: impl AsRef<Path>, config: Config) -> Result<Forum> {
        let path = path.as_ref();
        let url = path
            .to_str()
            .filter(|p| p.starts_with("postgres://") || p.starts_with("postgresql://"));
        let store = match url {
            #[cfg(feature = "postgres")]
            Some(url) => Store::open_postgres(url, config.store.clone())?,
            #[cfg(not(feature = "postgres"))]
            Some(_) => {
                return Err(crate::Error::Storage(
                    "this build of hearth has no PostgreSQL support; enable its `postgres` \
                     feature"
                        .into(),
                ));
            }
            None => Store::open(path, config.store.clone())?,
        };
        Ok(Forum {
            store,
            clock: config.clock,
            hooks: RwLock::new(Vec::new()),
            configs: ConfigCache::default(),
            dfs: DfCache::default(),
            tidied: Default::default(),
            pins: crate::due::Due::new(),
            timers: crate::due::Due::new(),
            topic_counts: Default::default(),
            lease_holder: crate::lease::unique_token(),
            email_job_lease: config.email_job_lease,
            uploads: config.uploads,
        })
    }

    /// Registers hooks; they run in registration order on every write from
    /// now on. See [`Hooks`].
    pub fn register_hooks(&self, hooks: Arc<dyn Hooks>) {
        self.hooks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(hooks);
    }

    pub(crate) fn hooks(&self) -> Vec<Arc<dyn Hooks>> {
        self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current time by the forum's [`Clock`] (the one every timestamp
    /// it writes comes from).
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Runs `f` with every read it makes through this forum, on this
    /// thread, in one snapshot of the committed state: the reads see the
    /// same data and the same time, and each reader's permissions are
    /// loaded once rather than once a call. For a run of reads that
    /// belong together — one page, one plugin render — and cheaper than
    /// the same reads one by one.
    ///
    /// A write made inside `f` ends the snapshot, so the reads after it
    /// see it (and permissions are loaded again). A nested call joins the
    /// snapshot already open. The snapshot holds a read connection until
    /// `f` returns, so keep `f` to the reads (no waiting on other threads
    /// or on the network).
    ///
    /// ```
    /// # fn main() -> hearth::Result<()> {
    /// use hearth::{Actor, Forum, NewCommunity, NewUser};
    /// # let dir = std::env::temp_dir().join(format!("hearth-snap-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let forum = Forum::open(dir.join("community.db"))?;
    /// let ada = forum.create_user(NewUser::new("ada"))?;
    /// let community = forum.create_community(&Actor::System, NewCommunity {
    ///     slug: "acme".into(),
    ///     name: "Acme".into(),
    ///     owner: Some(ada.id),
    ///     ..Default::default()
    /// })?;
    /// // One page's reads: one snapshot, Ada's permissions loaded once.
    /// let ada = Actor::User(ada.id);
    /// let (name, categories) = forum.in_snapshot(|| {
    ///     Ok::<_, hearth::Error>((
    ///         forum.community(&ada, community.id)?.name,
    ///         forum.categories(&ada, community.id)?,
    ///     ))
    /// })?;
    /// assert_eq!(name, "Acme");
    /// assert!(categories.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn in_snapshot<T>(&self, f: impl FnOnce() -> T) -> T {
        self.store.in_snapshot(f)
    }

    /// A number that changes whenever a write commits to the database —
    /// from this handle, another one, or another process — for caches of
    /// what reads answered: while it stays the same, every read answers
    /// as before (except where the answer depends on the time). `None`
    /// where the backend cannot tell cheaply (PostgreSQL, for now): then
    /// nothing can be assumed.
    pub fn data_version(&self) -> Option<u64> {
        self.store.data_version()
    }

    /// Inside [`Forum::in_snapshot`], once a read opened the snapshot: the
    /// [`data_version`](Forum::data_version) asked just before it began,
    /// so the snapshot holds at least the writes that number counts.
    /// `None` before the first read, after a write, outside a snapshot,
    /// or where the backend cannot tell.
    pub fn snapshot_data_version(&self) -> Option<u64> {
        crate::store::scope::version(self.store.id())
    }

    /// The time a read is told: the snapshot's in [`Forum::in_snapshot`].
    fn read_now(&self) -> i64 {
        crate::store::scope::now_ms(self.store.id(), || to_millis(self.now()))
    }

    /// A read in one snapshot; the closure gets the time in milliseconds.
    pub(crate) fn read<T: Send>(
        &self,
        f: impl FnOnce(&Conn, i64) -> Result<T> + Send,
    ) -> Result<T> {
        let now = self.read_now();
        self.store.read(|conn| f(conn, now))
    }

    /// [`Forum::read`] without a common snapshot (see `Store::peek`): for
    /// one statement, or for what a write checks again in its transaction.
    /// Short reads only: on SQLite a peek may run on the free writer
    /// connection, and a write arriving meanwhile waits for it.
    pub(crate) fn peek<T: Send>(
        &self,
        f: impl FnOnce(&Conn, i64) -> Result<T> + Send,
    ) -> Result<T> {
        let now = self.read_now();
        self.store.peek(|conn| f(conn, now))
    }

    /// A write transaction; its events reach the hooks after commit.
    ///
    /// `f` is `Fn`: on PostgreSQL a transaction that lost a deadlock is
    /// rolled back and run again, so `f` must not consume or change
    /// anything outside the transaction (a cache behind a `RefCell` is
    /// fine). A write that can't be run twice uses [`Forum::write_once`].
    pub(crate) fn write<T: Send>(
        &self,
        f: impl Fn(&mut Write<'_>) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        let now = self.now();
        let (out, events) = self.store.write(|tx| self.in_write(tx, now, &f))?;
        self.after_commit(&events);
        Ok(out)
    }

    /// A write transaction that is never run again: a conflict reaches
    /// the caller as [`Unavailable::Conflict`](crate::Unavailable::Conflict).
    /// For writes that stream their input (an import).
    pub(crate) fn write_once<T: Send>(
        &self,
        f: impl FnOnce(&mut Write<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        let now = self.now();
        let (out, events) = self.store.write_once(|tx| self.in_write(tx, now, f))?;
        self.after_commit(&events);
        Ok(out)
    }

    fn in_write<T>(
        &self,
        tx: &Conn,
        now: OffsetDateTime,
        f: impl FnOnce(&mut Write<'_>) -> Result<T>,
    ) -> Result<(T, Vec<Event>)> {
        let mut w = Write {
            tx,
            now,
            events: Vec::new(),
            held: Default::default(),
            acted: Vec::new(),
        };
        let out = f(&mut w)?;
        if !w.events.is_empty() {
            self.derive_notifications(&w)?;
            crate::trust::mark_acted(&w)?;
        }
        Ok((out, w.events))
    }

    fn after_commit(&self, events: &[Event]) {
        if !events.is_empty() {
            notify(&self.hooks(), events);
        }
    }

    /// The actor as seen from `community`, on committed state.
    pub(crate) fn viewer(
        &self,
        conn: &Conn,
        now_ms: i64,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Viewer> {
        crate::store::scope::viewer(self.store.id(), conn, actor, community, now_ms, || {
            Viewer::load(
                conn,
                &self.configs,
                Snapshot::Committed,
                actor,
                community,
                now_ms,
            )
        })
    }

    /// The actor as seen from `community`, inside a write transaction.
    pub(crate) fn viewer_in(
        &self,
        w: &Write<'_>,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Viewer> {
        w.hold(community)?;
        Viewer::load(
            w.tx,
            &self.configs,
            Snapshot::InWrite,
            actor,
            community,
            w.now_ms(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forum_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Forum>();
    }
}
