//! Leases: work that must run in one place at a time when several
//! processes share a database (the e-mail jobs of a community, the plugin
//! worker, a request in flight under an `Idempotency-Key`).
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

/// A lease this handle holds ([`Forum::lease`]): renew it while the work
/// runs, release it when done; if the process dies, it lapses by itself.
///
/// A clone names the same lease (to renew it from another thread); once
/// it is released or lapsed, renewing any clone fails.
#[derive(Debug, Clone)]
#[must_use = "a lease is held until released or lapsed"]
pub struct Lease {
    name: String,
    holder: String,
    fence: i64,
}

/// A token no other call returns, in this process or another one sharing
/// the database: process id, the wall-clock time in nanoseconds and a
/// per-process counter. Leases use it to name their holder; use it where
/// several processes must tell their writes apart (a "something changed"
/// marker, say).
///
/// ```
/// assert_ne!(hearth::unique_token(), hearth::unique_token());
/// ```
pub fn unique_token() -> String {
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
    /// (released, or lapsed — another holder may have taken it): stop
    /// working.
    pub fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let now = to_millis(self.now());
        let until = now + ttl.as_millis() as i64;
        let n = self.store.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE leases SET expires_at = ?4
                     WHERE name = ?1 AND holder = ?2 AND fence = ?3 AND expires_at > ?5",
                )?
                .execute(params![lease.name, lease.holder, lease.fence, until, now])?)
        })?;
        Ok(n == 1)
    }

    /// Takes the lease `name` for `ttl`, or `Ok(None)` while another
    /// process or `Forum` handle holds it. For work that spans more than
    /// one call (across `.await`s, say); [`exclusively`](Self::exclusively)
    /// is the simpler form for one closure. Leases taken here never clash
    /// with the engine's own.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("x.db"))?;
    /// let ttl = std::time::Duration::from_secs(30);
    /// let lease = forum.lease("import", ttl)?.expect("free");
    /// assert!(forum.lease("import", ttl)?.is_none(), "held");
    /// assert!(forum.renew_lease(&lease, ttl)?);
    /// forum.release_lease(lease)?;
    /// assert!(forum.lease("import", ttl)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lease(&self, name: &str, ttl: Duration) -> Result<Option<Lease>> {
        crate::text::check_name("name", name, 1, 200)?;
        self.try_lease(&format!("app:{name}"), ttl)
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
        let Some(lease) = self.lease(name, ttl)? else {
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
    pub fn release_lease(&self, lease: Lease) -> Result<()> {
        self.store.write(|tx| {
            tx.prepare_cached(
                "UPDATE leases SET expires_at = 0 WHERE name = ?1 AND holder = ?2 AND fence = ?3",
            )?
            .execute(params![lease.name, lease.holder, lease.fence])?;
            Ok(())
        })
    }
}
