//! What every handler shares, and the one way handlers call the engine:
//! [`AppState::run`], on the engine threads so no engine call ever runs on
//! an async worker thread.

use std::sync::{Arc, Mutex};

use hearth::{Actor, Community, Forum, TopicId};
use hearth_wasm::PluginHost;

use crate::config::WebConfig;
use crate::error::{Error, Result};
use crate::templates::Templates;
use crate::throttle::IpLimiter;

/// Shared by every request of one [`Web`](crate::Web).
#[derive(Debug)]
pub(crate) struct AppState {
    pub forum: Arc<Forum>,
    pub plugins: Option<PluginHost>,
    pub config: WebConfig,
    pub templates: Templates,
    pub ip_limiter: Option<IpLimiter>,
    /// Plugin actions taken, per plugin, action and member (see
    /// `plugin_actions`).
    pub action_limits: crate::throttle::Buckets<crate::plugin_actions::ActionKey>,
    /// Guests' and members' answers (see `read_cache`).
    pub read_cache: crate::read_cache::ReadCache,
    /// Members' unread counts for the header (see `bell`).
    pub bells: crate::bell::Bells,
    /// Page views not yet written (see [`AppState::count_view`]).
    pub views: Mutex<Vec<(Actor, TopicId)>>,
    /// Wakes the flusher when a batch is full.
    pub views_ready: std::sync::Condvar,
    /// Members seen today (user → day) and visits not yet written.
    pub visits: Mutex<(
        std::collections::HashMap<hearth::UserId, i64>,
        Vec<hearth::UserId>,
    )>,
    /// API keys' uses: when each key's use was last recorded (digest →
    /// Unix ms) and the uses not yet written (see [`AppState::count_key_use`]).
    pub key_uses: Mutex<KeyUses>,
    /// The community as last read, with the cache generation it was read
    /// in (a page needs its name, origin and access up to four times).
    pub community: Mutex<Option<(u64, Arc<Community>)>>,
    /// Whether this server delivers e-mail (`Web::spawn_email_jobs` was
    /// called): `/site.json`'s `email_configured`.
    pub sends_email: std::sync::atomic::AtomicBool,
    /// Wakes the e-mail thread when mail someone waits for was queued.
    pub mail_wake: Arc<Wake>,
    /// The threads engine calls run on ([`Limits::engine_calls`](crate::Limits::engine_calls)).
    pub engine: crate::engine_pool::EnginePool,
}

/// API keys' uses, buffered like page views.
#[derive(Debug, Default)]
pub(crate) struct KeyUses {
    /// When each key's use was last buffered (digest → Unix ms).
    recorded: std::collections::HashMap<String, i64>,
    /// Uses not yet written.
    pending: std::collections::HashMap<String, i64>,
}

/// A wake-up call for a background thread that otherwise runs in rounds.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    called: Mutex<bool>,
    cv: std::sync::Condvar,
}

impl Wake {
    /// Wakes the waiting thread (or the next wait returns at once).
    pub fn call(&self) {
        *self.called.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Waits for a call or `timeout`, whichever comes first.
    pub fn wait(&self, timeout: std::time::Duration) {
        let called = self.called.lock().unwrap_or_else(|p| p.into_inner());
        let (mut called, _) = self
            .cv
            .wait_timeout_while(called, timeout, |c| !*c)
            .unwrap_or_else(|p| p.into_inner());
        *called = false;
    }
}

/// Views kept at most while the writer is busy.
const MAX_BUFFERED_VIEWS: usize = 100_000;

/// A buffer this full wakes the flusher.
const FLUSH_VIEWS_AT: usize = 1000;

pub(crate) type State = Arc<AppState>;

impl AppState {
    /// Runs an engine call on one of the
    /// [`Limits::engine_calls`](crate::Limits::engine_calls) engine threads
    /// (see `engine_pool`): requests beyond them wait in arrival order
    /// without a thread of their own.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T> + Send + 'static,
    {
        let state = self.clone();
        self.engine.run(move || f(&state)).await?
    }

    /// [`AppState::run`] for a request that reads: `f`'s reads share one
    /// snapshot and load the visitor's permissions once
    /// ([`hearth::Forum::in_snapshot`]). For pages and JSON answers that
    /// wait on nothing but the database (a write inside still works, and
    /// the reads after it see it).
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T> + Send + 'static,
    {
        let state = self.clone();
        self.engine
            .run(move || state.forum.in_snapshot(|| f(&state)))
            .await?
    }

    /// Asks the e-mail thread to deliver now (after queueing account
    /// mail); nothing happens when this server sends no e-mail.
    pub fn deliver_soon(&self) {
        self.mail_wake.call();
    }

    /// Counts a topic view. Views are buffered and written in one
    /// transaction by the flusher thread, once a second or as soon as
    /// 1,000 gather, so neither a page nor an async worker ever waits for
    /// the single writer. If the writer falls far behind, views beyond
    /// `MAX_BUFFERED_VIEWS` are dropped (they are counts, not content).
    pub fn count_view(&self, actor: Actor, topic: TopicId) {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        if views.len() < MAX_BUFFERED_VIEWS {
            views.push((actor, topic));
        }
        if views.len() >= FLUSH_VIEWS_AT {
            self.views_ready.notify_one();
        }
    }

    /// Counts a signed-in member's visit: once a day, buffered with the
    /// views (visits feed trust levels, the directory and "we miss you").
    pub fn count_visit(&self, user: hearth::UserId) {
        let day = self.forum.now().unix_timestamp().div_euclid(86_400);
        let mut visits = self.visits.lock().unwrap_or_else(|p| p.into_inner());
        let (seen, pending) = &mut *visits;
        if seen.get(&user) != Some(&day) {
            if seen.len() > MAX_BUFFERED_VIEWS {
                seen.clear();
            }
            seen.insert(user, day);
            pending.push(user);
        }
    }

    /// Counts a request made with the API key stored under `digest`: its
    /// last use is written with the views, at most once a minute per key.
    pub fn count_key_use(&self, digest: &str) {
        let now = crate::auth::now_ms(&self.forum);
        let mut uses = self.key_uses.lock().unwrap_or_else(|p| p.into_inner());
        if uses
            .recorded
            .get(digest)
            .is_some_and(|at| now - at < 60_000)
        {
            return;
        }
        if uses.recorded.len() > MAX_BUFFERED_VIEWS {
            uses.recorded.clear();
        }
        uses.recorded.insert(digest.to_string(), now);
        uses.pending.insert(digest.to_string(), now);
    }

    /// Writes the buffered views and visits (blocking: the flusher thread,
    /// tests and shutdown call it).
    pub fn flush_views(&self) {
        let visits = std::mem::take(&mut self.visits.lock().unwrap_or_else(|p| p.into_inner()).1);
        if let Err(e) = self.forum.record_visits(self.config.community, &visits) {
            tracing::warn!(error = %e, visits = visits.len(), "visits not recorded");
        }
        let uses = std::mem::take(
            &mut self
                .key_uses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pending,
        );
        if !uses.is_empty()
            && let Err(e) = crate::auth::record_key_uses(&self.forum, self.config.community, &uses)
        {
            tracing::warn!(error = %e, keys = uses.len(), "API key uses not recorded");
        }
        let batch = std::mem::take(&mut *self.views.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.forum.record_views(self.config.community, &batch) {
            tracing::warn!(error = %e, views = batch.len(), "page views not recorded");
        }
        // A member's view reads their notifications about the topic.
        if batch.iter().any(|(a, _)| matches!(a, Actor::User(_))) {
            self.bells.views_written();
        }
    }

    /// The community served, as the system sees it; read again only after
    /// something in it changed (the read cache's generation).
    pub fn community(&self) -> Result<Arc<Community>> {
        let generation = self.read_cache.generation();
        if let Some((g, c)) = &*self.community.lock().unwrap_or_else(|p| p.into_inner())
            && *g == generation
        {
            return Ok(c.clone());
        }
        let c = Arc::new(
            self.forum
                .community(&hearth::Actor::System, self.config.community)?,
        );
        *self.community.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, c.clone()));
        Ok(c)
    }

    /// A path under the mount point.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_path, path)
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.flush_views();
    }
}

/// Flushes buffered views every second until the state is dropped.
pub(crate) fn start_view_flusher(state: &Arc<AppState>) {
    let weak = std::sync::Arc::downgrade(state);
    let spawned = std::thread::Builder::new()
        .name("hearth-web-views".into())
        .spawn(move || {
            loop {
                let Some(state) = weak.upgrade() else { break };
                {
                    let views = state.views.lock().unwrap_or_else(|p| p.into_inner());
                    if views.len() < FLUSH_VIEWS_AT {
                        let _ = state
                            .views_ready
                            .wait_timeout(views, std::time::Duration::from_secs(1));
                    }
                }
                state.flush_views();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no view flusher thread; views are written when 1,000 gather");
    }
}

/// Watches the community for changes made by other processes (or other
/// `Forum` handles) on the same database and drops the guest cache when
/// one commits: PostgreSQL wakes the watcher with a notification, SQLite
/// is polled every [`hearth::CHANGE_POLL`]. Ends within a second of the
/// last `Web` going away.
pub(crate) fn start_change_watcher(state: &State) -> Result<()> {
    let weak = Arc::downgrade(state);
    let community = state.config.community;
    let mut seen = state.forum.change_stamp(community)?;
    std::thread::Builder::new()
        .name("hearth-web-changes".into())
        .spawn(move || {
            loop {
                let Some(forum) = weak.upgrade().map(|s| s.forum.clone()) else {
                    break;
                };
                match forum.wait_for_change(community, seen, std::time::Duration::from_secs(1)) {
                    Ok(now) if now != seen => {
                        if let Some(state) = weak.upgrade() {
                            state
                                .read_cache
                                .remote_change(now, now.settings_differ(&seen));
                        }
                        seen = now;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "watching for changes failed; retrying in 1 s");
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the change watcher: {e}")))?;
    Ok(())
}

/// How often unused uploads are swept.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Fires due topic timers and tidies the search index
/// ([`hearth::Forum::tidy_search_index`]) every
/// `WebConfig::maintenance_every`, and
/// hourly sweeps unused uploads and forgets sign-ups never confirmed, until the state is dropped (it looks once a
/// second). Several processes on one database may all run it: timers fire
/// once, and a sweep removes only what none of them needs.
pub(crate) fn start_maintenance(state: &State) {
    let Some(every) = state.config.maintenance_every else {
        return;
    };
    let weak = Arc::downgrade(state);
    let spawned = std::thread::Builder::new()
        .name("hearth-web-maintenance".into())
        .spawn(move || {
            let mut timers_at = std::time::Instant::now();
            let mut sweep_at = std::time::Instant::now();
            loop {
                let Some(state) = weak.upgrade() else { break };
                let now = std::time::Instant::now();
                if now >= timers_at {
                    match state.forum.run_topic_timers() {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(fired = n, "topic timers fired"),
                        Err(e) => tracing::warn!(error = %e, "topic timers failed; retrying"),
                    }
                    match state.forum.tidy_search_index() {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(steps = n, "search index tidied"),
                        Err(e) => {
                            tracing::warn!(error = %e, "tidying the search index failed; retrying")
                        }
                    }
                    timers_at = now + every;
                }
                if now >= sweep_at {
                    match state.forum.sweep_unused_uploads(state.config.community) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "unused uploads swept"),
                        Err(e) => tracing::warn!(error = %e, "sweeping uploads failed; retrying"),
                    }
                    match state.forum.forget_unconfirmed_accounts() {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(forgotten = n, "unconfirmed sign-ups forgotten"),
                        Err(e) => {
                            tracing::warn!(error = %e, "forgetting sign-ups failed; retrying")
                        }
                    }
                    sweep_at = now + SWEEP_EVERY;
                }
                drop(state);
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no maintenance thread; topic timers will not fire");
    }
}
