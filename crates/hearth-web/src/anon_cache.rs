//! The anonymous cache: guests' `GET`s of public pages and JSON are served
//! from memory while nothing has changed.
//!
//! Every guest sees the same page, so the first guest's answer is kept,
//! keyed by path, query and whether JSON was asked for. An entry is good
//! while the community's *generation* is the one it was made in — the
//! generation moves on every committed change in the community (the web
//! layer registers an engine hook) and on every non-`GET` request through
//! this router (admin actions, plugin settings) — and for at most
//! [`WebConfig::anonymous_cache`](crate::WebConfig::anonymous_cache), which
//! bounds what can change without an event (plugin output that depends on
//! the time). Signed-in visitors and API-key calls never use it.

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

/// At most this many entries; when full, the cache starts over.
const MAX_ENTRIES: usize = 20_000;
/// Larger answers are not kept.
const MAX_BODY: usize = 512 * 1024;

/// A response extension: the page showed this topic (a view to count
/// again when the cached copy is served).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViewedTopic(pub TopicId);

#[derive(Debug)]
struct Entry {
    generation: u64,
    made: Instant,
    headers: HeaderMap,
    body: Bytes,
    viewed: Option<TopicId>,
}

/// The cache of one router.
#[derive(Debug, Default)]
pub(crate) struct AnonCache {
    generation: Arc<AtomicU64>,
    /// The last event of the community this process's hook has seen
    /// (see [`AnonCache::remote_change`]).
    seen_event: Arc<AtomicI64>,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    /// Keys being rendered right now, and how to wait for them: one
    /// request renders, the others wait (or, if they hold a copy that is
    /// only too old, are served it) — no stampede when an entry expires.
    rendering: Mutex<HashMap<String, Arc<Notify>>>,
}

/// Removes the rendering mark and wakes the waiters, however the render
/// ended.
struct Rendering<'a> {
    cache: &'a AnonCache,
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

impl AnonCache {
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

    fn lookup(&self, key: &str) -> Option<Arc<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }
}

fn respond(state: &State, entry: &Entry) -> Response {
    if let Some(topic) = entry.viewed {
        state.count_view(Actor::Guest, topic);
    }
    let mut res = Response::new(Body::from(entry.body.clone()));
    *res.headers_mut() = entry.headers.clone();
    res.headers_mut()
        .insert("x-hearth-cache", HeaderValue::from_static("hit"));
    res
}

impl AnonCache {
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
        "hearth-web anonymous cache"
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
    path == "/"
        || path == "/latest"
        || path == "/latest.json"
        || path == "/categories"
        || path == "/categories.json"
        || path == "/sitemap.xml"
        || path == "/robots.txt"
        || path.starts_with("/t/")
        || path.starts_with("/c/")
        || (path.starts_with("/posts/") && path.ends_with(".json"))
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

/// The middleware (inside the visitor middleware).
pub(crate) async fn serve(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        let res = next.run(req).await;
        // Whatever a write did, guests see it from now on (and so do the
        // other caches on the generation: the community, members' bells),
        // also when the write appended no event.
        state.anon_cache.bump();
        return res;
    }
    let Some(ttl) = state.config.anonymous_cache else {
        return next.run(req).await;
    };
    let guest = req
        .extensions()
        .get::<Visitor>()
        .is_some_and(|v| v.via == Via::Guest);
    if !guest || !cacheable(req.uri().path()) {
        return next.run(req).await;
    }
    let json = wants_json(req.method(), req.uri(), req.headers());
    let key = format!("{}|{}", if json { 'j' } else { 'h' }, req.uri());
    let cache = &state.anon_cache;
    let mut waited = false;
    let (generation, _rendering) = loop {
        let generation = cache.generation.load(Ordering::Acquire);
        let current = cache.lookup(&key).filter(|e| e.generation == generation);
        if let Some(entry) = &current
            && entry.made.elapsed() < ttl
        {
            return respond(&state, entry);
        }
        match cache.claim(&key) {
            Claim::Mine => {
                let guard = Rendering {
                    cache,
                    key: key.clone(),
                };
                break (generation, guard);
            }
            // Only too old, and someone is refreshing it: serve the copy.
            Claim::Wait(_) if current.is_some() => {
                if let Some(entry) = &current {
                    return respond(&state, entry);
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
    let entry = Arc::new(Entry {
        generation,
        made: Instant::now(),
        headers,
        body: bytes.clone(),
        viewed,
    });
    {
        let mut entries = cache.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, entry);
    }
    Response::from_parts(parts, Body::from(bytes))
}
