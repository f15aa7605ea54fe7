//! Leases: work that must run in one place at a time when several
//! processes share a database (the e-mail jobs of a community).
//!
//! A lease is a row (`leases`: name, holder, fence, expiry) taken with one
//! portable upsert — no advisory locks, no `LISTEN`, so it works on SQLite,
//! PostgreSQL and Postgres-wire databases alike. Whoever holds an unexpired
//! lease keeps it; anyone may take a lapsed one, and each new holder gets a
//! larger *fence*. A holder renews as it goes and stops as soon as a
//! renewal fails (another process took over after its lease lapsed), so
//! two holders never work at once for longer than one step. Time is the
//! forum's `Clock`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::to_millis;
use crate::db::params;
use crate::error::Result;
use crate::forum::Forum;
use crate::store::optional;

/// A lease this process holds.
#[derive(Debug)]
pub(crate) struct Lease {
    name: String,
    holder: String,
    fence: i64,
}

/// Who this `Forum` handle is, for leases: unique per process and handle.
pub(crate) fn holder_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Forum {
    /// Takes the lease `name` for `ttl` unless someone else holds it.
    pub(crate) fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Lease>> {
        let now = to_millis(self.now());
        let until = now + ttl.as_millis() as i64;
        let holder = &self.lease_holder;
        let fence: Option<i64> = self.store.write(|tx| {
            optional(
                tx.prepare_cached(
                    "INSERT INTO leases (name, holder, fence, expires_at) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (name) DO UPDATE
                     SET holder = excluded.holder, fence = leases.fence + 1,
                         expires_at = excluded.expires_at
                     WHERE leases.expires_at <= ?4
                     RETURNING fence",
                )?
                .query_row(params![name, holder, until, now], |r| r.get(0)),
            )
        })?;
        Ok(fence.map(|fence| Lease {
            name: name.to_string(),
            holder: holder.clone(),
            fence,
        }))
    }

    /// Extends a held lease by `ttl` from now; `false` if it was lost
    /// (it lapsed and another holder took it): stop working.
    pub(crate) fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let until = to_millis(self.now()) + ttl.as_millis() as i64;
        let n = self.store.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE leases SET expires_at = ?4
                     WHERE name = ?1 AND holder = ?2 AND fence = ?3",
                )?
                .execute(params![lease.name, lease.holder, lease.fence, until])?)
        })?;
        Ok(n == 1)
    }

    /// Runs `f` unless work named `name` runs elsewhere right now: in
    /// another process on the same database, or another `Forum` handle.
    /// `Ok(None)` when it does (try again later). The lease lasts `ttl`:
    /// choose it longer than `f` takes, because after that another taker
    /// may start while `f` still runs; if this process dies, others wait
    /// at most `ttl`. For background work every process starts but only
    /// one should do at a time (the plugin worker, a scheduler).
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("x.db"))?;
    /// let ttl = std::time::Duration::from_secs(60);
    /// let outer = forum.exclusively("nightly report", ttl, || {
    ///     // Meanwhile, anyone else is turned away.
    ///     forum.exclusively("nightly report", ttl, || ()).map(|inner| inner.is_none())
    /// })?;
    /// assert_eq!(outer.transpose()?, Some(true));
    /// assert!(forum.exclusively("nightly report", ttl, || ())?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exclusively<T>(
        &self,
        name: &str,
        ttl: Duration,
        f: impl FnOnce() -> T,
    ) -> Result<Option<T>> {
        crate::text::check_name("name", name, 1, 200)?;
        let Some(lease) = self.try_lease(&format!("app:{name}"), ttl)? else {
            return Ok(None);
        };
        let out = f();
        if let Err(e) = self.release_lease(lease) {
            tracing::warn!(error = %e, name, "could not release a lease; it lapses by itself");
        }
        Ok(Some(out))
    }

    /// Gives a lease up at once (the next taker need not wait for it to
    /// lapse).
    pub(crate) fn release_lease(&self, lease: Lease) -> Result<()> {
        self.store.write(|tx| {
            tx.prepare_cached(
                "UPDATE leases SET expires_at = 0 WHERE name = ?1 AND holder = ?2 AND fence = ?3",
            )?
            .execute(params![lease.name, lease.holder, lease.fence])?;
            Ok(())
        })
    }
}
