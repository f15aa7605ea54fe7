//! The read cache: guests' `GET`s of public pages and JSON, and a signed-in
//! member's repeated `GET`s of lists, categories and topics, served from
//! memory while nothing has changed.
//!
//! Every guest sees the same page, so the first guest's answer is kept,
//! keyed by path, query and whether JSON was asked for. A member's answer
//! is kept for their session alone (keyed by the session as well) and
//! served to nobody else: it carries their permissions, their read state,
//! their bell and their form token.
//!
//! An entry is good while the community's *generation* is the one it was
//! made in — the generation moves on every committed change in the
//! community (the web layer registers an engine hook), on every non-`GET`
//! request through this router (admin actions, plugin settings, a
//! member's own forms) and on other processes' commits (the change
//! watcher) — and for at most
//! [`WebConfig::anonymous_cache`](crate::WebConfig::anonymous_cache) or
//! [`MemberCache::fresh_for`](crate::MemberCache::fresh_for), which bound
//! what can change without an event (plugin output that depends on the
//! time, relative times). A member's entry also needs this process's *view
//! epoch* (see [`crate::bell`]): members' views are written without an
//! event and change their read state and notifications. API-key calls
//! never use the cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hearth::{Actor, CommunityId, Event, HookError, Hooks, TopicId};
use tokio::sync::Notify;

use crate::state::State;
use crate::visitor::{Via, Visitor, wants_json};

/// At most this many guest entries; when full, they start over.
const MAX_ENTRIES: usize = 20_000;
/// Larger answers are not kept.
const MAX_BODY: usize = 512 * 1024;

/// A response extension: the page showed this topic (a view to count
/// again when the cached copy is served).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViewedTopic(pub TopicId);

/// The state an answer was made in: the community's generation and, for
/// members, the view epoch (always 0 for guests, whose pages show no read
/// state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Made {
    generation: u64,
    epoch: u64,
}

#[derive(Debug)]
struct Entry {
    made: Made,
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
    viewed: Option<TopicId>,
}

/// Members' entries: only those of one state are kept (older ones can
/// never be served again), within a byte budget.
#[derive(Debug, Default)]
struct Members {
    made: Option<Made>,
    bytes: usize,
    map: HashMap<String, Arc<Entry>>,
}

/// The cache of one router.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    generation: Arc<AtomicU64>,
    /// The last event of the community this process's hook has seen
    /// (see [`ReadCache::remote_change`]).
    seen_event: Arc<AtomicI64>,
    guests: RwLock<HashMap<String, Arc<Entry>>>,
    members: RwLock<Members>,
    /// Keys being rendered right now, and how to wait for them: one
    /// request renders, the others wait (or, if they hold a copy that is
    /// only too old, are served it) — no stampede when an entry expires.
    rendering: Mutex<HashMap<String, Arc<Notify>>>,
}

/// Removes the rendering mark and wakes the waiters, however the render
/// ended.
struct Rendering<'a> {
    cache: &'a ReadCache,
    key: String,
}

impl Drop for Rendering<'_> {
    fn drop(&mut self) {
        let notify = self
            .cache
            .rendering
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        if let Some(n) = notify {
            n.notify_waiters();
        }
    }
}

enum Claim {
    /// This request renders.
    Mine,
    /// Another request renders; wait for it.
    Wait(Arc<Notify>),
}

/// Who a request's answer may be kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    Guest,
    /// A signed-in member through a session cookie (the key names it).
    Member {
        max_bytes: usize,
    },
}

impl ReadCache {
    fn claim(&self, key: &str) -> Claim {
        let mut rendering = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
        match rendering.get(key) {
            Some(n) => Claim::Wait(n.clone()),
            None => {
                rendering.insert(key.to_string(), Arc::new(Notify::new()));
                Claim::Mine
            }
        }
    }

    fn lookup(&self, audience: Audience, key: &str) -> Option<Arc<Entry>> {
        match audience {
            Audience::Guest => self
                .guests
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(key)
                .cloned(),
            Audience::Member { .. } => self
                .members
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .map
                .get(key)
                .cloned(),
        }
    }

    /// Keeps `entry` unless the state moved on while it was rendered.
    fn keep(&self, audience: Audience, key: String, entry: Entry, now: Made) {
        if entry.made != now {
            return;
        }
        match audience {
            Audience::Guest => {
                let mut guests = self.guests.write().unwrap_or_else(|p| p.into_inner());
                if guests.len() >= MAX_ENTRIES {
                    guests.clear();
                }
                guests.insert(key, Arc::new(entry));
            }
            Audience::Member { max_bytes } => {
                let size = key.len() + entry.body.len();
                if size > max_bytes {
                    return;
                }
                let mut members = self.members.write().unwrap_or_else(|p| p.into_inner());
                if members.made != Some(entry.made) || members.bytes + size > max_bytes {
                    members.map.clear();
                    members.bytes = 0;
                    members.made = Some(entry.made);
                }
                if let Some(old) = members.map.insert(key.clone(), Arc::new(entry)) {
                    members.bytes = members.bytes.saturating_sub(key.len() + old.body.len());
                }
                members.bytes += size;
            }
        }
    }

    /// The state now, as an entry for `audience` is made in it.
    fn made(&self, state: &State, audience: Audience) -> Made {
        Made {
            generation: self.generation.load(Ordering::Acquire),
            epoch: match audience {
                Audience::Guest => 0,
                Audience::Member { .. } => state.bells.epoch(),
            },
        }
    }
}

fn respond(state: &State, actor: Actor, entry: &Entry) -> Response {
    if let Some(topic) = entry.viewed {
        state.count_view(actor, topic);
    }
    let mut res = Response::new(Body::from(entry.body.clone()));
    *res.headers_mut() = entry.headers.clone();
    res.headers_mut()
        .insert("x-hearth-cache", HeaderValue::from_static("hit"));
    res
}

impl ReadCache {
    /// The current generation: it changes whenever anything in the
    /// community commits (settings included).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Everything cached so far is stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The engine hook that bumps the generation on commits in `community`.
    pub fn hook(&self, community: CommunityId) -> Arc<dyn Hooks> {
        Arc::new(Invalidate {
            community,
            generation: Arc::downgrade(&self.generation),
            seen_event: Arc::downgrade(&self.seen_event),
        })
    }

    /// The community's committed state moved to `stamp` (read by the
    /// change watcher, see `Web::new`): another process (or `Forum`
    /// handle) wrote, unless this process's hook has already seen that
    /// event — a community's events commit in id order, so then the
    /// generation moved after the change and nothing cached predates it.
    pub fn remote_change(&self, stamp: hearth::ChangeStamp, config_changed: bool) {
        if config_changed || stamp.last_event().0 > self.seen_event.load(Ordering::Acquire) {
            self.bump();
        }
    }
}

#[derive(Debug)]
struct Invalidate {
    community: CommunityId,
    generation: Weak<AtomicU64>,
    seen_event: Weak<AtomicI64>,
}

impl Hooks for Invalidate {
    fn name(&self) -> &str {
        "hearth-web read cache"
    }

    fn on_events(&self, events: &[Event]) -> Result<(), HookError> {
        let last = events
            .iter()
            .filter(|e| e.community == self.community)
            .map(|e| e.id.0)
            .max();
        if let Some(last) = last
            && let Some(g) = self.generation.upgrade()
        {
            g.fetch_add(1, Ordering::Release);
            if let Some(seen) = self.seen_event.upgrade() {
                seen.fetch_max(last, Ordering::AcqRel);
            }
        }
        Ok(())
    }
}

/// Whether a path may be cached for guests (public reads only; nothing
/// with a form token or per-visitor content).
fn cacheable(path: &str) -> bool {
    member_cacheable(path)
        || path == "/sitemap.xml"
        || path == "/robots.txt"
        || path.starts_with("/u/")
        || path.starts_with("/user_badges/")
        || (path.starts_with("/plugins/") && !is_action_path(path))
}

/// `/plugins/{name}/a/{action}`: an action's confirmation page carries the
/// visitor's form token, so it is never shared.
fn is_action_path(path: &str) -> bool {
    let mut parts = path.trim_start_matches('/').split('/');
    parts.nth(2) == Some("a")
}

/// Whether a member's read of `path` may be kept for their session (and a
/// guest's for all guests): the lists, categories and topics members read
/// again and again, none of which writes on a `GET` (a topic's view is
/// counted again on a hit, see [`ViewedTopic`]). Plugin pages and
/// profiles are left out for members: a plugin may answer a member
/// differently each time, and a profile holds their own forms.
fn member_cacheable(path: &str) -> bool {
    path == "/"
        || path == "/latest"
        || path == "/latest.json"
        || path == "/categories"
        || path == "/categories.json"
        || path.starts_with("/t/")
        || path.starts_with("/c/")
        || (path.starts_with("/posts/") && path.ends_with(".json"))
}

/// The middleware (inside the visitor middleware).
pub(crate) async fn serve(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        // `HEAD` and `OPTIONS` write nothing (monitors send `HEAD`s).
        let writes = !matches!(*req.method(), Method::HEAD | Method::OPTIONS);
        let res = next.run(req).await;
        // Whatever a write did, readers see it from now on (and so do the
        // other caches on the generation: the community, members' bells),
        // also when the write appended no event.
        if writes {
            state.read_cache.bump();
        }
        return res;
    }
    let Some(visitor) = req.extensions().get::<Visitor>() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let json = wants_json(req.method(), req.uri(), req.headers());
    let kind = if json { 'j' } else { 'h' };
    let (audience, ttl, key) = match (&visitor.via, visitor.actor) {
        (Via::Guest, _) => match state.config.anonymous_cache {
            Some(ttl) if cacheable(path) => (Audience::Guest, ttl, format!("{kind}|{}", req.uri())),
            _ => return next.run(req).await,
        },
        (Via::Session { token }, Actor::User(user)) => match state.config.member_cache {
            Some(c) if member_cacheable(path) => (
                Audience::Member {
                    max_bytes: c.max_bytes,
                },
                c.fresh_for,
                format!(
                    "m|{}|{}|{kind}|{}",
                    user.0,
                    crate::auth::digest(token),
                    req.uri()
                ),
            ),
            _ => return next.run(req).await,
        },
        _ => return next.run(req).await,
    };
    let actor = visitor.actor;
    let cache = &state.read_cache;
    let mut waited = false;
    let (made, _rendering) = loop {
        let made = cache.made(&state, audience);
        let current = cache.lookup(audience, &key).filter(|e| e.made == made);
        if let Some(entry) = &current
            && entry.at.elapsed() < ttl
        {
            return respond(&state, actor, entry);
        }
        match cache.claim(&key) {
            Claim::Mine => {
                let guard = Rendering {
                    cache,
                    key: key.clone(),
                };
                break (made, guard);
            }
            // Only too old, and someone is refreshing it: serve the copy.
            Claim::Wait(_) if current.is_some() => {
                if let Some(entry) = &current {
                    return respond(&state, actor, entry);
                }
            }
            Claim::Wait(notify) if !waited => {
                let notified = notify.notified();
                // The renderer may have finished between the claim and now.
                if cache
                    .rendering
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains_key(&key)
                {
                    let _ = tokio::time::timeout(Duration::from_secs(5), notified).await;
                }
                waited = true;
            }
            // Waited once already and still nothing usable: render without
            // storing.
            Claim::Wait(_) => return next.run(req).await,
        }
    };
    let res = next.run(req).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    // A member's answer that sets a cookie changed their state: not kept.
    if matches!(audience, Audience::Member { .. }) && res.headers().contains_key(header::SET_COOKIE)
    {
        return res;
    }
    let viewed = res.extensions().get::<ViewedTopic>().map(|v| v.0);
    let small = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_BODY as u64);
    if !small {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::SET_COOKIE);
    let entry = Entry {
        made,
        at: Instant::now(),
        headers,
        body: bytes.clone(),
        viewed,
    };
    cache.keep(audience, key, entry, cache.made(&state, audience));
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(made: Made, body: &str) -> Entry {
        Entry {
            made,
            at: Instant::now(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
            viewed: None,
        }
    }

    fn kept(cache: &ReadCache, key: &str) -> bool {
        cache
            .members
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .contains_key(key)
    }

    #[test]
    fn members_answers_keep_to_the_byte_budget() {
        let cache = ReadCache::default();
        let now = Made {
            generation: 1,
            epoch: 1,
        };
        // Key and body together count; 20 bytes is the budget.
        let member = Audience::Member { max_bytes: 20 };
        cache.keep(member, "k1".into(), entry(now, &"a".repeat(18)), now);
        assert!(kept(&cache, "k1"), "exactly at the budget is kept");
        cache.keep(member, "k2".into(), entry(now, &"b".repeat(19)), now);
        assert!(!kept(&cache, "k2"), "one byte over is never kept");
        assert!(kept(&cache, "k1"), "and leaves the others alone");
        // The next answer that would pass the budget starts over.
        cache.keep(member, "k3".into(), entry(now, "ccc"), now);
        assert!(kept(&cache, "k3") && !kept(&cache, "k1"));
        // Replacing an answer counts only the new one.
        for _ in 0..10 {
            cache.keep(member, "k3".into(), entry(now, "ccc"), now);
        }
        cache.keep(member, "k4".into(), entry(now, "dddd"), now);
        assert!(kept(&cache, "k3") && kept(&cache, "k4"));
        assert_eq!(
            cache
                .members
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .bytes,
            5 + 6
        );
    }

    #[test]
    fn only_answers_of_the_current_state_are_kept() {
        let cache = ReadCache::default();
        let member = Audience::Member { max_bytes: 1 << 20 };
        let old = Made {
            generation: 1,
            epoch: 1,
        };
        let moved = Made {
            generation: 1,
            epoch: 2,
        };
        cache.keep(member, "a".into(), entry(old, "x"), old);
        assert!(kept(&cache, "a"));
        // Rendered before the views were written, kept after: stale.
        cache.keep(member, "b".into(), entry(old, "x"), moved);
        assert!(!kept(&cache, "b"));
        // The first answer of a new state drops the old ones.
        cache.keep(member, "c".into(), entry(moved, "x"), moved);
        assert!(kept(&cache, "c") && !kept(&cache, "a"));
        // Guests' answers too are kept only in the state they were made in.
        cache.keep(Audience::Guest, "g".into(), entry(old, "x"), moved);
        assert!(cache.lookup(Audience::Guest, "g").is_none());
        cache.keep(Audience::Guest, "g".into(), entry(moved, "x"), moved);
        assert!(cache.lookup(Audience::Guest, "g").is_some());
        // Guests' and members' entries are apart.
        assert!(cache.lookup(member, "g").is_none());
    }

    #[test]
    fn members_paths_are_reads_without_plugins_or_forms_of_their_own() {
        for p in [
            "/",
            "/latest.json",
            "/t/x/1",
            "/t/1.json",
            "/c/x/2",
            "/posts/3.json",
        ] {
            assert!(member_cacheable(p), "{p}");
        }
        for p in [
            "/search.json",
            "/plugins/polls/x",
            "/u/ada",
            "/notifications.json",
            "/session/current.json",
            "/posts/3",
        ] {
            assert!(!member_cacheable(p), "{p}");
        }
    }
}
