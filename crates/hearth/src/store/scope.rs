//! One read snapshot for a run of reads on one thread
//! ([`Forum::in_snapshot`](crate::Forum::in_snapshot)).
//!
//! Outside a scope every read takes a connection, begins a transaction,
//! loads the reader's [`Viewer`] and gives the connection back. Inside one,
//! the first read opens a snapshot that the following reads on this thread
//! share, with one clock reading and each (actor, community)'s viewer
//! loaded once. A write through the same store ends the snapshot (and
//! forgets the viewers: the write may have changed a membership), so a
//! read after it sees it.
//!
//! The state is thread-local and keyed by the store's address, so it can
//! reach no other thread (a request handler moved between threads at an
//! `.await` cannot carry it: `in_snapshot` takes a plain closure) and no
//! other forum.

use std::cell::RefCell;

use crate::db::Conn;
use crate::ids::CommunityId;
use crate::permissions::{Actor, Viewer};

/// A scope open on this thread for one store.
struct Scope {
    store: usize,
    /// The snapshot's connection, in its transaction; `None` before the
    /// first read, after a write, and while a read has it.
    held: Option<Conn>,
    /// The address of the held connection while a read on this thread
    /// has it (0 otherwise): viewers are remembered only when loaded on it.
    lent: usize,
    /// The time every read of the snapshot is told (ms).
    now_ms: Option<i64>,
    /// The store's data version asked just before the snapshot began.
    version: Option<u64>,
    /// Viewers loaded on this snapshot, with the time they were loaded for.
    viewers: Vec<(Actor, CommunityId, i64, Viewer)>,
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

fn with<T>(store: usize, f: impl FnOnce(Option<&mut Scope>) -> T) -> T {
    SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        f(scopes.iter_mut().find(|s| s.store == store))
    })
}

/// Opens a scope for `store` on this thread; `false` if one is open
/// already (the caller then joins it and must not call [`leave`]).
pub(super) fn enter(store: usize) -> bool {
    SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        if scopes.iter().any(|s| s.store == store) {
            return false;
        }
        scopes.push(Scope {
            store,
            held: None,
            lent: 0,
            now_ms: None,
            version: None,
            viewers: Vec::new(),
        });
        true
    })
}

/// Closes `store`'s scope; its connection, if it holds one, to be ended.
pub(super) fn leave(store: usize) -> Option<Conn> {
    SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        let at = scopes.iter().position(|s| s.store == store)?;
        scopes.swap_remove(at).held
    })
}

/// Whether `store` has a scope open on this thread.
pub(super) fn active(store: usize) -> bool {
    with(store, |s| s.is_some())
}

/// Takes the scope's connection to read on (`None`: open one).
pub(super) fn take(store: usize) -> Option<Conn> {
    with(store, |s| s.and_then(|s| s.held.take()))
}

/// Gives the connection back to the scope; returned if the scope is gone.
pub(super) fn put(store: usize, conn: Conn) -> Option<Conn> {
    with(store, |s| match s {
        Some(s) => {
            s.lent = 0;
            s.held = Some(conn);
            None
        }
        None => Some(conn),
    })
}

/// Notes that a read on this thread has the scope's connection at `addr`.
pub(super) fn lend(store: usize, addr: usize) {
    with(store, |s| {
        if let Some(s) = s {
            s.lent = addr;
        }
    })
}

/// Ends the snapshot before a write: its connection (to be ended), and
/// the viewers and the time are forgotten.
pub(super) fn before_write(store: usize) -> Option<Conn> {
    with(store, |s| {
        let s = s?;
        s.viewers.clear();
        s.now_ms = None;
        s.version = None;
        s.held.take()
    })
}

/// Notes the data version asked just before the snapshot began.
pub(super) fn opened(store: usize, version: Option<u64>) {
    with(store, |s| {
        if let Some(s) = s {
            s.version = version;
        }
    })
}

/// The data version the open snapshot holds at least (`None`: no
/// snapshot open, or the backend cannot tell).
pub(crate) fn version(store: usize) -> Option<u64> {
    with(store, |s| s.and_then(|s| s.version))
}

/// The scope's time, fixed by the first read to ask (`now` then); outside
/// a scope `now`.
pub(crate) fn now_ms(store: usize, now: impl FnOnce() -> i64) -> i64 {
    with(store, |s| match s {
        Some(s) => *s.now_ms.get_or_insert_with(now),
        None => now(),
    })
}

/// `actor`'s viewer in `community`: the one loaded on this snapshot
/// already, or `load`'s (remembered when `conn` is the snapshot's).
pub(crate) fn viewer(
    store: usize,
    conn: &Conn,
    actor: &Actor,
    community: CommunityId,
    now_ms: i64,
    load: impl FnOnce() -> crate::Result<Viewer>,
) -> crate::Result<Viewer> {
    let addr = conn as *const Conn as usize;
    let found = with(store, |s| {
        let s = s.filter(|s| s.lent == addr)?;
        Some(
            s.viewers
                .iter()
                .find(|(a, c, t, _)| a == actor && *c == community && *t == now_ms)
                .map(|(_, _, _, v)| v.clone()),
        )
    });
    match found {
        // Not on the snapshot's connection: load, remember nothing.
        None => load(),
        Some(Some(v)) => Ok(v),
        Some(None) => {
            let v = load()?;
            with(store, |s| {
                if let Some(s) = s.filter(|s| s.lent == addr) {
                    s.viewers.push((*actor, community, now_ms, v.clone()));
                }
            });
            Ok(v)
        }
    }
}
