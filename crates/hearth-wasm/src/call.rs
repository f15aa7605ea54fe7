//! One hook call: a fresh store and instance with the call's limits, the
//! host functions the plugin may use, and the classification of whatever
//! went wrong into a typed [`Error`].

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth::{Actor, CommunityId, ExtNotice, ExtOp, Forum, PostId, TopicId, UserId};
use wasmtime::{ResourceLimiter, Store, Trap, UpdateDeadline};

use crate::bindings::v0_2::hearth::plugin::data::{PostPage, TopicPage};
use crate::bindings::v0_2::hearth::plugin::{host, types};
use crate::bindings::{HostError, Level, MemberInfo, Period, PostInfo, TopicInfo};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::{Capability, Hook, Manifest};
use crate::memo::{Noted, Read};
use crate::runtime::TICK;
use crate::worlds::{Instance, Pre};

/// A compiled plugin, ready to instantiate. Shared by every call; a new
/// version replaces the `Arc` and calls in flight finish on the old one.
pub(crate) struct Loaded {
    pub manifest: Manifest,
    pub sha256: String,
    pub pre: Pre,
    /// Whether this load compiled (rather than read the cache), and how long
    /// it took.
    pub compiled: bool,
    pub load_time: Duration,
    pub sdk_version: Option<String>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .finish_non_exhaustive()
    }
}

/// A line a plugin logged during a call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// `trace` … `error`.
    pub level: &'static str,
    /// The message (at most 4 KiB; longer ones are cut).
    pub message: String,
}

/// What one call used, against its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Wall-clock time of the call, instantiation included.
    pub elapsed: Duration,
    /// Largest linear memory the plugin had, in bytes.
    pub memory: usize,
    /// Fuel consumed, when the host meters fuel.
    pub fuel: Option<u64>,
    /// Host functions called.
    pub host_calls: u32,
    /// Notices refused because the call had queued its most.
    pub notices_refused: u32,
    /// Outbound HTTP requests made (capability `http`).
    pub http_requests: u32,
    /// Of those, the ones refused or failed.
    pub http_failures: u32,
    /// Each request and what came of it.
    pub http_exchanges: Vec<crate::outbound::HttpExchange>,
}

/// What a call ran with.
pub(crate) struct CallSpec {
    pub loaded: Arc<Loaded>,
    pub community: CommunityId,
    pub hook: Hook,
    /// Whom reads are made as.
    pub reader: Actor,
    pub grants: Arc<BTreeSet<Capability>>,
    pub settings: Arc<BTreeMap<String, serde_json::Value>>,
    pub limits: Limits,
    /// What the call may do over HTTP (plugins asking for `http`).
    pub http: Option<Arc<crate::outbound::HttpGrant>>,
}

enum Violation {
    Limit(String),
    Denied(String),
}

struct Limiter {
    memory: usize,
    high_water: usize,
    refused: Option<usize>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.refused = Some(desired);
            // An error (not `Ok(false)`) traps at once, so an allocator that
            // ignores a failed grow cannot carry on and crash obscurely.
            return Err(wasmtime::format_err!("memory limit reached"));
        }
        self.high_water = self.high_water.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The store's data: everything host functions need during one call.
pub(crate) struct CallState {
    forum: Arc<Forum>,
    spec_plugin: String,
    /// The plugin (its manifest: capabilities asked for, notice kinds).
    loaded: Arc<Loaded>,
    badges: BTreeSet<String>,
    community: CommunityId,
    reader: Actor,
    grants: Arc<BTreeSet<Capability>>,
    settings: Arc<BTreeMap<String, serde_json::Value>>,
    max_input: usize,
    /// The hook being called.
    hook: Hook,
    /// The hook, when it may not write (see [`Hook::read_only`]).
    read_only: Option<Hook>,
    /// Writes refused because the hook is read-only.
    refused_writes: u32,
    limiter: Limiter,
    /// Key-value writes, applied only if the call succeeds.
    kv: BTreeMap<String, Option<Vec<u8>>>,
    /// Notices queued, sent only if the call succeeds.
    notices: Vec<ExtNotice>,
    replies: Vec<crate::bot::BotReply>,
    max_notices: usize,
    notices_refused: u32,
    http: Option<Arc<crate::outbound::HttpGrant>>,
    http_requests: u32,
    http_failures: u32,
    http_exchanges: Vec<crate::outbound::HttpExchange>,
    /// When the call started, and its deadline (outbound requests must
    /// end within it).
    started: Instant,
    deadline: Duration,
    pub logs: Vec<LogLine>,
    violation: Option<Violation>,
    host_calls: u32,
    /// The reads of a render being noted to be remembered (`memo`), until
    /// the call does something a replay cannot repeat.
    reads: Option<Vec<Noted>>,
    /// Time spent in the database on the plugin's behalf (see
    /// [`CallState::db`]); forgiven against the deadline, up to
    /// [`DB_WAIT_FORGIVEN`] times it.
    db_time: Cell<Duration>,
}

/// The namespace of a plugin's key-value store.
pub(crate) fn kv_namespace(plugin: &str) -> String {
    format!("plugin:{plugin}")
}

/// How many times its deadline a call may additionally spend waiting for
/// the database in host calls.
pub(crate) const DB_WAIT_FORGIVEN: u32 = 4;

/// What is left of a call's time when its epoch deadline passes: the
/// deadline plus the database time forgiven, minus the time spent;
/// `None` when nothing is (the call is interrupted).
fn time_left(deadline: Duration, db_time: Duration, spent: Duration) -> Option<Duration> {
    let forgiven = db_time.min(deadline * DB_WAIT_FORGIVEN);
    (deadline + forgiven)
        .checked_sub(spent)
        .filter(|left| !left.is_zero())
}

/// The CPU time the calling thread has used (`None` where the platform
/// keeps no per-thread clock).
fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        ))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How long a call has run: the CPU time of its thread since it started
/// (a call runs on one thread from start to end), or the wall time where
/// there is no thread clock. On a busy server threads wait for a core; a
/// deadline on wall time would fail plugins for the server's load — and
/// disable them after a streak — rather than for what they did.
#[derive(Debug, Clone, Copy)]
struct RunClock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl RunClock {
    fn start() -> RunClock {
        RunClock {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    fn ran(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }
}

/// The forum, borrowed for one host call; the time until it is dropped is
/// added to the call's database time.
pub(crate) struct Timed<'a> {
    forum: &'a Forum,
    spent: &'a Cell<Duration>,
    since: Instant,
}

impl std::ops::Deref for Timed<'_> {
    type Target = Forum;
    fn deref(&self) -> &Forum {
        self.forum
    }
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        self.spent.set(self.spent.get() + self.since.elapsed());
    }
}

impl CallState {
    /// The forum, for a host call that reads or writes the database.
    fn db(&self) -> Timed<'_> {
        Timed {
            forum: &self.forum,
            spent: &self.db_time,
            since: Instant::now(),
        }
    }

    /// Checks the manifest (a plugin bug: traps) and the operator's grant
    /// (returns `denied`, which a plugin can handle).
    fn require(&mut self, cap: Capability, what: &str) -> wasmtime::Result<Result<(), HostError>> {
        self.host_calls += 1;
        if !self.loaded.manifest.asks_for(cap) {
            let msg =
                format!("called {what} without asking for the `{cap}` capability in plugin.toml");
            self.violation = Some(Violation::Denied(msg.clone()));
            return Err(wasmtime::format_err!("{msg}"));
        }
        if !self.grants.contains(&cap) {
            return Ok(Err(HostError::Denied(format!(
                "the operator has not granted `{cap}` in this community"
            ))));
        }
        Ok(Ok(()))
    }

    fn check_input(&mut self, what: &str, len: usize) -> wasmtime::Result<()> {
        if len > self.max_input {
            let msg = format!(
                "{what} of {len} bytes exceeds the {}-byte cap on values handed to the host",
                self.max_input
            );
            self.violation = Some(Violation::Limit(msg.clone()));
            return Err(wasmtime::format_err!("{msg}"));
        }
        Ok(())
    }

    fn forum_error(e: hearth::Error) -> HostError {
        match e {
            hearth::Error::NotFound { .. } => HostError::Invalid(e.to_string()),
            hearth::Error::Invalid { .. } | hearth::Error::Conflict { .. } => {
                HostError::Invalid(e.to_string())
            }
            hearth::Error::Forbidden { .. } => HostError::Denied(e.to_string()),
            other => HostError::Unavailable(other.to_string()),
        }
    }

    /// Refuses a write in a read-only hook (a page render or GET route).
    fn writable(&mut self, what: &str) -> Result<(), HostError> {
        let Some(hook) = self.read_only else {
            return Ok(());
        };
        self.refused_writes += 1;
        if self.refused_writes == 1 {
            tracing::warn!(plugin = %self.spec_plugin, %hook, "{what} refused: the hook is read-only");
        }
        Err(HostError::Denied(format!(
            "{what} in `{hook}`: page renders and GET routes are read-only; \
             write from `on-event` or `on-schedule` instead"
        )))
    }

    /// Refuses, besides what [`writable`](Self::writable) refuses, writes
    /// that take effect at once (badges, points) in a hook whose writes
    /// must all wait for its outcome: an action saves nothing unless it
    /// returns `done`, and only the key-value store can wait.
    fn writable_now(&mut self, what: &str) -> Result<(), HostError> {
        self.writable(what)?;
        if self.hook.writes_wait_for_outcome() {
            return Err(HostError::Denied(format!(
                "{what} in `action`: an action's writes are saved only if it is done, and only \
                 key-value writes and notices can wait for that; do this from `on-event` or \
                 `on-schedule` (for example from a key the action wrote)"
            )));
        }
        Ok(())
    }

    fn kv_key(&mut self, key: &str) -> wasmtime::Result<Result<(), HostError>> {
        self.check_input("key", key.len())?;
        if key.len() > hearth::MAX_EXT_KEY {
            return Ok(Err(HostError::Invalid(format!(
                "keys are at most {} bytes",
                hearth::MAX_EXT_KEY
            ))));
        }
        Ok(Ok(()))
    }

    /// What a successful call saves.
    pub(crate) fn take_writes(&mut self) -> Writes {
        let kv = std::mem::take(&mut self.kv)
            .into_iter()
            .map(|(key, v)| match v {
                Some(value) => ExtOp::Put { key, value },
                None => ExtOp::Delete { key },
            })
            .collect();
        Writes {
            kv,
            notices: std::mem::take(&mut self.notices),
            replies: std::mem::take(&mut self.replies),
        }
    }

    /// The member a call acts for: an action's viewer (never told about
    /// their own action), else nobody.
    fn acting_member(&self) -> Option<UserId> {
        match (self.hook, self.reader) {
            (Hook::Action, Actor::User(u)) => Some(u),
            _ => None,
        }
    }
}

macro_rules! allowed {
    ($self:ident, $cap:expr, $what:literal) => {
        if let Err(e) = $self.require($cap, $what)? {
            return Ok(Err(e));
        }
    };
}

impl CallState {
    /// `kv-get-many` (API 0.2's `data` interface): one host call and one
    /// read transaction for many keys; this call's own writes are seen.
    pub(crate) fn kv_get_many(
        &mut self,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Option<Vec<u8>>>, HostError>> {
        self.noted(Read::KvGetMany(keys.clone()), |s| {
            allowed!(s, Capability::Kv, "kv-get-many");
            let total: usize = keys.iter().map(String::len).sum();
            s.check_input("keys", total)?;
            if keys.len() > hearth::MAX_EXT_KEYS_READ {
                return Ok(Err(HostError::Invalid(format!(
                    "at most {} keys per call, not {}",
                    hearth::MAX_EXT_KEYS_READ,
                    keys.len()
                ))));
            }
            for key in &keys {
                if let Err(e) = s.kv_key(key)? {
                    return Ok(Err(e));
                }
            }
            let ns = kv_namespace(&s.spec_plugin);
            let stored = match s.db().ext_get_many(&ns, Some(s.community), &keys) {
                Ok(v) => v,
                Err(e) => return Ok(Err(Self::forum_error(e))),
            };
            Ok(Ok(keys
                .iter()
                .zip(stored)
                .map(|(k, v)| match s.kv.get(k) {
                    Some(mine) => mine.clone(),
                    None => v,
                })
                .collect()))
        })
    }
}

impl CallState {
    /// `notify` (API 0.2's `notify` interface): queues a notice for the
    /// call's outcome.
    pub(crate) fn notify(
        &mut self,
        member: i64,
        kind: String,
        topic: Option<i64>,
        post: Option<i64>,
        text: String,
        dedupe_key: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        allowed!(self, Capability::Notify, "notify");
        if let Err(e) = self.writable("notify") {
            return Ok(Err(e));
        }
        self.check_input("notice", kind.len() + text.len() + dedupe_key.len())?;
        let Some(spec) = self.loaded.manifest.notification(&kind) else {
            return Ok(Err(HostError::Invalid(format!(
                "notification kind {kind:?} is not declared under [[notifications]] in plugin.toml"
            ))));
        };
        if self.notices.len() >= self.max_notices {
            self.notices_refused += 1;
            return Ok(Err(HostError::Invalid(format!(
                "at most {} notices per call; this one was not queued",
                self.max_notices
            ))));
        }
        let notice = ExtNotice {
            source: self.spec_plugin.clone(),
            kind,
            default_delivery: spec.default_delivery(),
            recipient: UserId(member),
            actor: self.acting_member(),
            topic: topic.map(TopicId),
            post: post.map(PostId),
            text,
            dedupe_key,
        };
        if let Err(e) = notice.check() {
            return Ok(Err(Self::forum_error(e)));
        }
        self.notices.push(notice);
        Ok(Ok(()))
    }
}

impl CallState {
    /// `fetch` (API 0.2's `http` interface): one outbound request, from
    /// hooks that may call out, within the call's deadline.
    pub(crate) fn http_fetch(
        &mut self,
        req: crate::outbound::Request,
    ) -> wasmtime::Result<Result<crate::outbound::Response, HostError>> {
        allowed!(self, Capability::Http, "http fetch");
        if !matches!(self.hook, Hook::Action | Hook::OnEvent | Hook::OnSchedule) {
            return Ok(Err(HostError::Denied(format!(
                "http in `{}`: outside services are called from actions, events and schedules, \
                 never while a page renders, a route answers or a post is filtered",
                self.hook
            ))));
        }
        let size = req.url.len()
            + req.body.len()
            + req
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        self.check_input("request", size)?;
        let Some(grant) = self.http.clone() else {
            return Ok(Err(HostError::Denied(
                "no [http] hosts in plugin.toml".into(),
            )));
        };
        self.http_requests += 1;
        let Some(_slot) = crate::outbound::InFlight::take(&self.spec_plugin, grant.per_plugin)
        else {
            self.http_failures += 1;
            return Ok(Err(HostError::Unavailable(format!(
                "{} requests of this plugin are in flight; try again later",
                grant.per_plugin
            ))));
        };
        let deadline = self.started + self.deadline;
        let out = crate::outbound::fetch(&req, &grant, deadline);
        self.http_exchanges.push(crate::outbound::HttpExchange {
            method: req.method.to_ascii_uppercase(),
            url: req.url.clone(),
            outcome: match &out {
                Ok(r) => format!("{}, {} bytes", r.status, r.body.len()),
                Err(r) => format!("{r:?}"),
            },
            replayed: grant.replay.is_some(),
        });
        Ok(out.map_err(|r| {
            self.http_failures += 1;
            tracing::info!(plugin = %self.spec_plugin, refusal = ?r, "outbound request not made or failed");
            match r {
                crate::outbound::Refusal::Denied(m) => HostError::Denied(m),
                crate::outbound::Refusal::Invalid(m) => HostError::Invalid(m),
                crate::outbound::Refusal::Unavailable(m) => HostError::Unavailable(m),
            }
        }))
    }
}

impl CallState {
    /// `hold-post` (API 0.2's `moderation` interface).
    pub(crate) fn hold_post(
        &mut self,
        post: i64,
        reason: String,
    ) -> wasmtime::Result<Result<i64, HostError>> {
        allowed!(self, Capability::HoldPosts, "hold-post");
        if let Err(e) = self
            .writable_now("hold-post")
            .and_then(|()| self.not_in_filter("hold-post"))
        {
            return Ok(Err(e));
        }
        self.check_input("reason", reason.len())?;
        Ok(self
            .db()
            .hold_post(
                &Actor::System,
                self.community,
                PostId(post),
                &self.spec_plugin,
                &reason,
            )
            .map(|r| r.0)
            .map_err(Self::forum_error))
    }
}

impl CallState {
    /// Refuses acting on content from `filter-post`: a filter decides
    /// about its draft with its verdict (queue, reject); acting on other
    /// posts, or replying (which runs the filters again), belongs in
    /// `on-event`.
    fn not_in_filter(&mut self, what: &str) -> Result<(), HostError> {
        if self.hook == Hook::FilterPost {
            return Err(HostError::Denied(format!(
                "{what} in `filter-post`: a filter answers with its verdict (queue or reject the \
                 draft); act on posts and topics from `on-event`"
            )));
        }
        Ok(())
    }

    /// A post the plugin may act on: in its community, not deleted, not in
    /// a private conversation (no capability grants moderating those).
    fn post_in_reach(&mut self, post: i64) -> Result<(), HostError> {
        match self.db().post(&Actor::System, self.community, PostId(post)) {
            Ok(p) if !p.deleted => Ok(()),
            Ok(_) | Err(hearth::Error::NotFound { .. }) => Err(HostError::Invalid(format!(
                "there is no post {post} to act on"
            ))),
            Err(e) => Err(Self::forum_error(e)),
        }
    }

    /// `hide-post` and `flag-post`: the engine's review queue, attributed
    /// to the plugin.
    fn review_post(
        &mut self,
        cap: Capability,
        what: &str,
        post: i64,
        reason: String,
    ) -> wasmtime::Result<Result<i64, HostError>> {
        if let Err(e) = self.require(cap, what)? {
            return Ok(Err(e));
        }
        if let Err(e) = self
            .writable_now(what)
            .and_then(|()| self.not_in_filter(what))
        {
            return Ok(Err(e));
        }
        self.check_input("reason", reason.len())?;
        if let Err(e) = self.post_in_reach(post) {
            return Ok(Err(e));
        }
        let plugin = self.spec_plugin.clone();
        let db = self.db();
        let done = match cap {
            Capability::HidePosts => db.hide_post(
                &Actor::System,
                self.community,
                PostId(post),
                &plugin,
                &reason,
            ),
            _ => db.ext_flag_post(
                &Actor::System,
                self.community,
                PostId(post),
                &plugin,
                &reason,
            ),
        };
        drop(db);
        Ok(done.map(|r| r.0).map_err(Self::forum_error))
    }

    pub(crate) fn hide_post(
        &mut self,
        post: i64,
        reason: String,
    ) -> wasmtime::Result<Result<i64, HostError>> {
        self.review_post(Capability::HidePosts, "hide-post", post, reason)
    }

    pub(crate) fn flag_post(
        &mut self,
        post: i64,
        reason: String,
    ) -> wasmtime::Result<Result<i64, HostError>> {
        self.review_post(Capability::FlagPosts, "flag-post", post, reason)
    }

    /// Closes a topic as a moderator would, the audit log's reason naming
    /// the plugin.
    pub(crate) fn close_topic(
        &mut self,
        topic: i64,
        reason: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        allowed!(self, Capability::CloseTopics, "close-topic");
        if let Err(e) = self
            .writable_now("close-topic")
            .and_then(|()| self.not_in_filter("close-topic"))
        {
            return Ok(Err(e));
        }
        self.check_input("reason", reason.len())?;
        let reason = format!("closed by {}: {}", self.spec_plugin, reason.trim());
        let db = self.db();
        let done = db.set_topic_flag(
            &Actor::System,
            self.community,
            TopicId(topic),
            hearth::TopicFlag::Closed,
            true,
            Some(&reason),
        );
        drop(db);
        Ok(done.map(|_| ()).map_err(|e| match e {
            hearth::Error::NotFound { .. } => {
                HostError::Invalid(format!("there is no topic {topic} to close"))
            }
            e => Self::forum_error(e),
        }))
    }

    /// Queues a reply by the plugin's bot member; it is posted after the
    /// call succeeds, through the forum's rules like any member's.
    pub(crate) fn bot_reply(
        &mut self,
        topic: i64,
        body: String,
        reply_to: Option<i64>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        allowed!(self, Capability::Reply, "reply");
        if let Err(e) = self
            .writable("reply")
            .and_then(|()| self.not_in_filter("reply"))
        {
            return Ok(Err(e));
        }
        self.check_input("reply", body.len())?;
        if self.replies.len() >= crate::bot::MAX_REPLIES_PER_CALL {
            return Ok(Err(HostError::Invalid(format!(
                "at most {} replies per call; this one was not queued",
                crate::bot::MAX_REPLIES_PER_CALL
            ))));
        }
        if body.trim().is_empty() {
            return Ok(Err(HostError::Invalid("a reply needs some text".into())));
        }
        self.replies.push(crate::bot::BotReply {
            topic: TopicId(topic),
            body,
            reply_to: reply_to.map(PostId),
        });
        Ok(Ok(()))
    }
}

impl CallState {
    /// A call's state before its instance runs: `spec`'s plugin, reader,
    /// grants, settings and limits.
    pub(crate) fn new(forum: &Arc<Forum>, spec: &CallSpec, started: Instant) -> CallState {
        CallState {
            forum: forum.clone(),
            spec_plugin: spec.loaded.manifest.name.clone(),
            loaded: spec.loaded.clone(),
            badges: spec
                .loaded
                .manifest
                .badges
                .iter()
                .map(|b| b.slug.clone())
                .collect(),
            community: spec.community,
            reader: spec.reader,
            grants: spec.grants.clone(),
            settings: spec.settings.clone(),
            max_input: spec.limits.max_host_input,
            hook: spec.hook,
            read_only: spec.hook.read_only().then_some(spec.hook),
            refused_writes: 0,
            limiter: Limiter {
                memory: spec.limits.memory,
                high_water: 0,
                refused: None,
            },
            kv: BTreeMap::new(),
            notices: Vec::new(),
            replies: Vec::new(),
            max_notices: spec.limits.max_notices,
            notices_refused: 0,
            http: spec.http.clone(),
            http_requests: 0,
            http_failures: 0,
            http_exchanges: Vec::new(),
            started,
            deadline: spec.limits.deadline,
            logs: Vec::new(),
            violation: None,
            host_calls: 0,
            reads: None,
            db_time: Cell::new(Duration::ZERO),
        }
    }

    /// Runs a read's `body` and notes it and its answer for a render being
    /// remembered.
    fn noted<T: std::hash::Hash>(
        &mut self,
        read: Read,
        body: impl FnOnce(&mut Self) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<T> {
        let out = body(self);
        match (&mut self.reads, &out) {
            (Some(reads), Ok(answer)) => reads.push(Noted::new(read, answer)),
            (reads, _) => *reads = None,
        }
        out
    }

    /// The call did something a replay cannot repeat (the clock, a log
    /// line, a write, outbound HTTP): its answer is not remembered.
    pub(crate) fn unremembered(&mut self) {
        self.reads = None;
    }
}

/// `now` rounded down to a multiple of `step` milliseconds (0 counts as 1).
fn rounded(now: i64, step: u32) -> i64 {
    now - now.rem_euclid(i64::from(step.max(1)))
}

impl types::Host for CallState {}

impl host::Host for CallState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.unremembered();
        self.check_input("log message", message.len())?;
        self.host_calls += 1;
        let mut message = message;
        if message.len() > 4096 {
            let mut cut = 4096;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        // Only a plugin that asked for `log` and was granted it writes to the
        // host's log. Every plugin's lines are kept with the call, though, so
        // a panic's message (which the SDK logs just before the trap) can
        // explain the failure, and the runner can show them.
        if self.loaded.manifest.asks_for(Capability::Log) && self.grants.contains(&Capability::Log)
        {
            let plugin = self.spec_plugin.as_str();
            match level {
                "trace" => tracing::trace!(plugin, "{message}"),
                "debug" => tracing::debug!(plugin, "{message}"),
                "info" => tracing::info!(plugin, "{message}"),
                "warn" => tracing::warn!(plugin, "{message}"),
                _ => tracing::error!(plugin, "{message}"),
            }
        }
        if self.logs.len() < 1000 {
            self.logs.push(LogLine { level, message });
        }
        Ok(())
    }

    fn setting(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.noted(Read::Setting(key.clone()), |s| {
            s.check_input("setting key", key.len())?;
            if s.require(Capability::Settings, "setting")?.is_err() {
                return Ok(None);
            }
            Ok(s.settings.get(&key).map(|v| v.to_string()))
        })
    }

    fn now(&mut self) -> wasmtime::Result<i64> {
        self.unremembered();
        if let Err(e) = self.require(Capability::Now, "now")? {
            let msg = format!("now: {e:?}");
            self.violation = Some(Violation::Denied(msg.clone()));
            return Err(wasmtime::format_err!("{msg}"));
        }
        Ok(millis(self.db().now()))
    }

    fn now_rounded(&mut self, step_ms: u32) -> wasmtime::Result<i64> {
        self.noted(Read::Clock(step_ms), |s| {
            if let Err(e) = s.require(Capability::Now, "now-rounded")? {
                let msg = format!("now-rounded: {e:?}");
                s.violation = Some(Violation::Denied(msg.clone()));
                return Err(wasmtime::format_err!("{msg}"));
            }
            Ok(rounded(millis(s.db().now()), step_ms))
        })
    }

    fn kv_get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, HostError>> {
        self.noted(Read::KvGet(key.clone()), |s| {
            allowed!(s, Capability::Kv, "kv-get");
            if let Err(e) = s.kv_key(&key)? {
                return Ok(Err(e));
            }
            if let Some(v) = s.kv.get(&key) {
                return Ok(Ok(v.clone()));
            }
            let ns = kv_namespace(&s.spec_plugin);
            Ok(s.db()
                .ext_get(&ns, Some(s.community), &key)
                .map_err(Self::forum_error))
        })
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), HostError>> {
        self.unremembered();
        allowed!(self, Capability::Kv, "kv-set");
        if let Err(e) = self.writable("kv-set") {
            return Ok(Err(e));
        }
        if let Err(e) = self.kv_key(&key)? {
            return Ok(Err(e));
        }
        self.check_input("value", value.len())?;
        if self.kv.len() >= 100_000 {
            return Ok(Err(HostError::Invalid(
                "more than 100,000 writes in one call".into(),
            )));
        }
        self.kv.insert(key, Some(value));
        Ok(Ok(()))
    }

    fn kv_delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        self.unremembered();
        allowed!(self, Capability::Kv, "kv-delete");
        if let Err(e) = self.writable("kv-delete") {
            return Ok(Err(e));
        }
        if let Err(e) = self.kv_key(&key)? {
            return Ok(Err(e));
        }
        self.kv.insert(key, None);
        Ok(Ok(()))
    }

    fn kv_list(
        &mut self,
        prefix: String,
        after: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<(String, Vec<u8>)>, HostError>> {
        self.noted(Read::KvList(prefix.clone(), after.clone(), limit), |s| {
            allowed!(s, Capability::Kv, "kv-list");
            for k in [&prefix, &after] {
                if let Err(e) = s.kv_key(k)? {
                    return Ok(Err(e));
                }
            }
            let limit = (limit as usize).clamp(1, 1000);
            let ns = kv_namespace(&s.spec_plugin);
            // Merge stored entries with this call's pending writes. Read a little
            // more than asked so pending deletes cannot shorten the page.
            let pending_deletes = s.kv.values().filter(|v| v.is_none()).count();
            let stored = match s.db().ext_list(
                &ns,
                Some(s.community),
                &prefix,
                &after,
                (limit + pending_deletes).min(1000),
            ) {
                Ok(s) => s,
                Err(e) => return Ok(Err(Self::forum_error(e))),
            };
            let mut merged: BTreeMap<String, Vec<u8>> = stored.into_iter().collect();
            for (k, v) in &s.kv {
                if k.starts_with(&prefix) && k.as_str() > after.as_str() {
                    match v {
                        Some(v) => {
                            merged.insert(k.clone(), v.clone());
                        }
                        None => {
                            merged.remove(k);
                        }
                    }
                }
            }
            Ok(Ok(merged.into_iter().take(limit).collect()))
        })
    }

    fn member(&mut self, id: i64) -> wasmtime::Result<Result<Option<MemberInfo>, HostError>> {
        self.noted(Read::Member(id), |s| {
            allowed!(s, Capability::Read, "member");
            Ok(match s.db().member(&s.reader, s.community, UserId(id)) {
                Ok(m) => Ok(Some(member_info(m))),
                Err(hearth::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Self::forum_error(e)),
            })
        })
    }

    fn topic(&mut self, id: i64) -> wasmtime::Result<Result<Option<TopicInfo>, HostError>> {
        self.noted(Read::Topic(id), |s| {
            allowed!(s, Capability::Read, "topic");
            // A conversation's topic has no category the reader may see:
            // not there, for plugins.
            match s.db().topic_with_kind(&s.reader, s.community, TopicId(id)) {
                Ok((t, kind)) => Ok(Ok(Some(topic_info(t, kind.as_str().to_string())))),
                Err(hearth::Error::NotFound { .. } | hearth::Error::Moved { .. }) => Ok(Ok(None)),
                Err(e) => Ok(Err(Self::forum_error(e))),
            }
        })
    }

    fn post(&mut self, id: i64) -> wasmtime::Result<Result<Option<PostInfo>, HostError>> {
        self.noted(Read::Post(id), |s| {
            allowed!(s, Capability::Read, "post");
            let mut found = s.db().post(&s.reader, s.community, PostId(id));
            // A conversation's post, for a plugin granted `private-messages`,
            // only where it reads as the community (never as a page's viewer).
            if matches!(found, Err(hearth::Error::NotFound { .. }))
                && matches!(s.reader, Actor::System)
                && s.grants.contains(&Capability::PrivateMessages)
            {
                found = s
                    .db()
                    .conversation_post(&Actor::System, s.community, PostId(id));
            }
            Ok(match found {
                Ok(p) if !p.deleted => Ok(Some(post_info(p))),
                Ok(_) | Err(hearth::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Self::forum_error(e)),
            })
        })
    }

    fn points(&mut self, member: i64, period: Period) -> wasmtime::Result<Result<i64, HostError>> {
        self.noted(Read::Points(member, period), |s| {
            allowed!(s, Capability::Read, "points");
            let period = match period {
                Period::Week => hearth::Period::Week,
                Period::Month => hearth::Period::Month,
                Period::AllTime => hearth::Period::AllTime,
            };
            Ok(s.db()
                .points(&s.reader, s.community, UserId(member), period)
                .map_err(Self::forum_error))
        })
    }

    fn member_badges(&mut self, member: i64) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        self.noted(Read::MemberBadges(member), |s| {
            allowed!(s, Capability::Read, "member-badges");
            Ok(s.db()
                .member_badges(&s.reader, s.community, UserId(member))
                .map(|gs| gs.into_iter().map(|g| g.badge.slug).collect())
                .map_err(Self::forum_error))
        })
    }

    fn grant_badge(
        &mut self,
        member: i64,
        badge: String,
        post: Option<i64>,
        reason: String,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        self.unremembered();
        allowed!(self, Capability::Badges, "grant-badge");
        if let Err(e) = self.writable_now("grant-badge") {
            return Ok(Err(e));
        }
        self.check_input("reason", reason.len() + badge.len())?;
        if !self.badges.contains(&badge) {
            return Ok(Err(HostError::Invalid(format!(
                "badge {badge:?} is not declared in plugin.toml"
            ))));
        }
        Ok(self
            .db()
            .grant_badge(
                &Actor::System,
                self.community,
                &badge,
                UserId(member),
                post.map(PostId),
                &reason,
            )
            .map_err(Self::forum_error))
    }

    fn revoke_badge(
        &mut self,
        member: i64,
        badge: String,
        post: Option<i64>,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        self.unremembered();
        allowed!(self, Capability::Badges, "revoke-badge");
        if let Err(e) = self.writable_now("revoke-badge") {
            return Ok(Err(e));
        }
        self.check_input("badge", badge.len())?;
        if !self.badges.contains(&badge) {
            return Ok(Err(HostError::Invalid(format!(
                "badge {badge:?} is not declared in plugin.toml"
            ))));
        }
        Ok(self
            .db()
            .revoke_badge(
                &Actor::System,
                self.community,
                &badge,
                UserId(member),
                post.map(PostId),
            )
            .map_err(Self::forum_error))
    }

    fn award_points(
        &mut self,
        member: i64,
        points: i64,
        key: String,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        self.unremembered();
        allowed!(self, Capability::Points, "award-points");
        if let Err(e) = self.writable_now("award-points") {
            return Ok(Err(e));
        }
        self.check_input("key", key.len())?;
        if key.is_empty() || key.len() > 200 {
            return Ok(Err(HostError::Invalid("keys are 1 to 200 bytes".into())));
        }
        let cause = format!("plugin:{}:{key}", self.spec_plugin);
        Ok(self
            .db()
            .award_points_once(
                &Actor::System,
                self.community,
                UserId(member),
                points,
                &cause,
            )
            .map_err(Self::forum_error))
    }
}

/// A topic as plugins see it.
fn topic_info(t: hearth::Topic, category_kind: String) -> TopicInfo {
    TopicInfo {
        id: t.id.0,
        category: t.category.0,
        category_kind,
        title: t.title,
        slug: t.slug,
        author: t.author.id.0,
        created_at: millis(t.created_at),
        reply_count: t.reply_count,
        accepted_answer: t.accepted_answer.map(|p| p.0),
        closed: t.closed,
    }
}

/// A post as plugins see it.
fn member_info(m: hearth::Member) -> MemberInfo {
    MemberInfo {
        id: m.user.id.0,
        username: m.user.username,
        display_name: m.user.display_name,
        role: m.role.as_str().to_string(),
        trust_level: m.trust_level as u8,
        joined_at: millis(m.joined_at),
    }
}

fn post_info(p: hearth::Post) -> PostInfo {
    PostInfo {
        id: p.id.0,
        topic: p.topic.0,
        author: p.author.id.0,
        number: p.post_number,
        created_at: millis(p.created_at),
        like_count: p.like_count,
        body: p.source,
    }
}

fn source_info(p: hearth::PostSource) -> PostInfo {
    PostInfo {
        id: p.id.0,
        topic: p.topic.0,
        author: p.author.0,
        number: p.post_number,
        created_at: millis(p.created_at),
        like_count: p.like_count,
        body: p.source,
    }
}

/// The most items one list read returns.
pub(crate) const MAX_LIST_READ: u32 = 100;

fn page_of(after: Option<String>, limit: u32) -> Result<hearth::PageRequest, HostError> {
    if !(1..=MAX_LIST_READ).contains(&limit) {
        return Err(HostError::Invalid(format!(
            "limit is 1 to {MAX_LIST_READ}, not {limit}"
        )));
    }
    Ok(match after {
        Some(c) => hearth::PageRequest::after(hearth::Cursor(c), limit),
        None => hearth::PageRequest::first(limit),
    })
}

impl CallState {
    /// `latest-topics` (0.2's `data` interface).
    pub(crate) fn latest_topics(
        &mut self,
        category: Option<i64>,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<TopicPage, HostError>> {
        self.noted(Read::LatestTopics(category, after.clone(), limit), |s| {
            allowed!(s, Capability::Read, "latest-topics");
            s.check_input("cursor", after.as_ref().map_or(0, String::len))?;
            let page = match page_of(after, limit) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let filter = hearth::TopicFilter {
                category: category.map(hearth::CategoryId),
                ..Default::default()
            };
            let db = s.db();
            let kinds: BTreeMap<i64, String> = match db.categories(&s.reader, s.community) {
                Ok(cs) => cs
                    .into_iter()
                    .map(|c| (c.id.0, c.kind.as_str().to_string()))
                    .collect(),
                Err(e) => return Ok(Err(Self::forum_error(e))),
            };
            let topics = match db.latest(&s.reader, s.community, &filter, &page) {
                Ok(t) => t,
                Err(e) => return Ok(Err(Self::forum_error(e))),
            };
            let items = topics
                .items
                .into_iter()
                .map(|t| {
                    let kind = kinds.get(&t.category.0).cloned().unwrap_or_default();
                    topic_info(t, kind)
                })
                .collect();
            Ok(Ok(TopicPage {
                items,
                next: topics.next.map(|c| c.0),
            }))
        })
    }

    /// `topic-posts` (0.2's `data` interface).
    pub(crate) fn topic_posts(
        &mut self,
        topic: i64,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<PostPage, HostError>> {
        self.noted(Read::TopicPosts(topic, after.clone(), limit), |s| {
            allowed!(s, Capability::Read, "topic-posts");
            s.check_input("cursor", after.as_ref().map_or(0, String::len))?;
            let page = match page_of(after, limit) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let view = match s.db().topic(&s.reader, s.community, TopicId(topic), &page) {
                Ok(v) => v,
                Err(e) => return Ok(Err(Self::forum_error(e))),
            };
            let items = view
                .posts
                .items
                .into_iter()
                .filter(|p| !p.deleted)
                .map(post_info)
                .collect();
            Ok(Ok(PostPage {
                items,
                next: view.posts.next.map(|c| c.0),
            }))
        })
    }

    /// `posts-by-ids` (0.2's `data` interface): one read of the posts'
    /// sources, as the reader.
    pub(crate) fn posts_by_ids(
        &mut self,
        ids: Vec<i64>,
    ) -> wasmtime::Result<Result<Vec<Option<PostInfo>>, HostError>> {
        self.noted(Read::PostsByIds(ids.clone()), |s| {
            allowed!(s, Capability::Read, "posts-by-ids");
            if ids.len() > MAX_LIST_READ as usize {
                return Ok(Err(HostError::Invalid(format!(
                    "at most {MAX_LIST_READ} ids per call, not {}",
                    ids.len()
                ))));
            }
            // One read for all of them.
            let ids: Vec<PostId> = ids.into_iter().map(PostId).collect();
            let found = s.db().post_sources(&s.reader, s.community, &ids);
            Ok(found
                .map(|posts| {
                    posts
                        .into_iter()
                        .map(|p| p.filter(|p| !p.deleted).map(source_info))
                        .collect()
                })
                .map_err(Self::forum_error))
        })
    }
}

impl CallState {
    /// `members-by-ids` (0.2's `data` interface): one read for all of
    /// them, as the reader.
    pub(crate) fn members_by_ids(
        &mut self,
        ids: Vec<i64>,
    ) -> wasmtime::Result<Result<Vec<Option<MemberInfo>>, HostError>> {
        self.noted(Read::MembersByIds(ids.clone()), |s| {
            allowed!(s, Capability::Read, "members-by-ids");
            if ids.len() > MAX_LIST_READ as usize {
                return Ok(Err(HostError::Invalid(format!(
                    "at most {MAX_LIST_READ} ids per call, not {}",
                    ids.len()
                ))));
            }
            let ids: Vec<UserId> = ids.into_iter().map(UserId).collect();
            Ok(s.db()
                .members_by_ids(&s.reader, s.community, &ids)
                .map(|found| found.into_iter().map(|m| m.map(member_info)).collect())
                .map_err(Self::forum_error))
        })
    }
}

/// Milliseconds since the Unix epoch, as the plugin interface counts time.
pub(crate) fn millis(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The outcome of [`invoke`]: the hook's value (or the typed failure),
/// the log lines and the resources used. On failure nothing the call
/// buffered was applied.
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    pub result: Result<T>,
    pub logs: Vec<LogLine>,
    pub usage: Usage,
    pub writes: Writes,
    /// A render's reads, when it may be remembered (`memo`).
    pub reads: Option<Vec<Noted>>,
}

/// What a successful call asks to save: its key-value writes and the
/// notices it queued, committed together
/// ([`PluginHost::commit`](crate::PluginHost)).
#[derive(Debug, Default)]
pub(crate) struct Writes {
    pub kv: Vec<ExtOp>,
    pub notices: Vec<ExtNotice>,
    /// Replies by the plugin's bot member, posted after the commit.
    pub replies: Vec<crate::bot::BotReply>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.kv.is_empty() && self.notices.is_empty() && self.replies.is_empty()
    }

    /// Drops everything (the call failed or was refused).
    pub fn clear(&mut self) {
        self.kv.clear();
        self.notices.clear();
        self.replies.clear();
    }
}

/// Runs `f` on a fresh instance of the plugin with the spec's limits.
pub(crate) fn invoke<T>(
    engine: &wasmtime::Engine,
    forum: &Arc<Forum>,
    spec: &CallSpec,
    fuel_metered: bool,
    max_instances: u32,
    f: impl FnOnce(&mut Store<CallState>, &Instance) -> wasmtime::Result<T>,
) -> Outcome<T> {
    let started = Instant::now();
    let plugin = spec.loaded.manifest.name.clone();
    let hook = spec.hook.as_str().to_string();
    let mut state = CallState::new(forum, spec, started);
    if matches!(spec.hook, Hook::Render | Hook::RenderItems) {
        state.reads = Some(Vec::new());
    }
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    let ticks = |d: Duration| (d.as_micros() / TICK.as_micros()).max(1) as u64;
    store.set_epoch_deadline(ticks(spec.limits.deadline));
    // At the deadline: what counts is the time the call ran (its thread's
    // CPU time: not time spent waiting for a core on a busy server), and
    // time the host spent in the database for the plugin (a slow disk, a
    // busy PostgreSQL) does not count against it, up to DB_WAIT_FORGIVEN
    // times the deadline; the plugin's own time does.
    let deadline = spec.limits.deadline;
    let clock = RunClock::start();
    store.epoch_deadline_callback(move |ctx| {
        match time_left(deadline, ctx.data().db_time.get(), clock.ran()) {
            Some(left) => Ok(UpdateDeadline::Continue(ticks(left))),
            None => Err(Trap::Interrupt.into()),
        }
    });
    let fuel = if fuel_metered {
        let budget = spec.limits.fuel.unwrap_or(u64::MAX);
        let _ = store.set_fuel(budget);
        Some(budget)
    } else {
        None
    };
    let result = spec
        .loaded
        .pre
        .instantiate(&mut store)
        .map_err(|e| (e, true))
        .and_then(|instance| f(&mut store, &instance).map_err(|e| (e, false)));
    let used_fuel = fuel.and_then(|b| store.get_fuel().ok().map(|left| b - left));
    let state = store.data_mut();
    let usage = Usage {
        elapsed: started.elapsed(),
        memory: state.limiter.high_water,
        fuel: used_fuel,
        host_calls: state.host_calls,
        notices_refused: state.notices_refused,
        http_requests: state.http_requests,
        http_failures: state.http_failures,
        http_exchanges: std::mem::take(&mut state.http_exchanges),
    };
    let logs = std::mem::take(&mut state.logs);
    let result = match result {
        Ok(v) => Ok(v),
        Err((e, instantiating)) => Err(classify(
            e,
            instantiating,
            state,
            &plugin,
            &hook,
            spec,
            &logs,
            max_instances,
        )),
    };
    let writes = if result.is_ok() {
        state.take_writes()
    } else {
        Writes::default()
    };
    // Every host call was a noted read (each counts once): else something
    // a replay would not repeat happened, and the answer is not kept.
    let reads = state
        .reads
        .take()
        .filter(|r| result.is_ok() && writes.is_empty() && r.len() == state.host_calls as usize);
    Outcome {
        result,
        logs,
        usage,
        writes,
        reads,
    }
}

#[allow(clippy::too_many_arguments)]
fn classify(
    e: wasmtime::Error,
    instantiating: bool,
    state: &mut CallState,
    plugin: &str,
    hook: &str,
    spec: &CallSpec,
    logs: &[LogLine],
    max_instances: u32,
) -> Error {
    let (plugin, hook) = (plugin.to_string(), hook.to_string());
    if instantiating
        && e.chain().any(|c| {
            c.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                .is_some()
        })
    {
        return Error::PoolExhausted {
            plugin,
            limit: max_instances as usize,
        };
    }
    match state.violation.take() {
        Some(Violation::Limit(message)) => {
            return Error::LimitExceeded {
                plugin,
                hook,
                message,
            };
        }
        Some(Violation::Denied(message)) => {
            return Error::Denied {
                plugin,
                hook,
                message,
            };
        }
        None => {}
    }
    if let Some(desired) = state.limiter.refused {
        return Error::LimitExceeded {
            plugin,
            hook,
            message: format!(
                "memory: tried to grow to {} KiB; the limit is {} KiB",
                desired >> 10,
                spec.limits.memory >> 10
            ),
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Timeout {
            plugin,
            hook,
            limit: format!("{} ms deadline", spec.limits.deadline.as_millis()),
        },
        Some(Trap::OutOfFuel) => Error::Timeout {
            plugin,
            hook,
            limit: format!("fuel budget of {}", spec.limits.fuel.unwrap_or(0)),
        },
        Some(Trap::StackOverflow) => Error::LimitExceeded {
            plugin,
            hook,
            message: "stack overflow (the guest stack is capped by max_wasm_stack)".into(),
        },
        Some(trap) => {
            // The SDK logs a panic's message at `error` just before it traps.
            let panic = logs
                .iter()
                .rev()
                .find(|l| l.level == "error" && l.message.starts_with("panicked"))
                .map(|l| format!(" ({})", l.message))
                .unwrap_or_default();
            Error::Trap {
                plugin,
                hook,
                message: format!("{trap}{panic}"),
            }
        }
        None if instantiating => Error::Invalid {
            plugin,
            message: format!("{e:#}"),
        },
        None => Error::Failed {
            plugin,
            hook,
            message: format!("malformed result: {e:#}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rounded_clock_is_the_start_of_its_step() {
        assert_eq!(rounded(1_795_424_459_999, 60_000), 1_795_424_400_000);
        assert_eq!(rounded(1_795_424_460_000, 60_000), 1_795_424_460_000);
        assert_eq!(
            rounded(1_795_424_459_999, 0),
            1_795_424_459_999,
            "0 counts as 1"
        );
        // Before the epoch it still rounds down.
        assert_eq!(rounded(-1, 1_000), -1_000);
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn database_time_is_forgiven_up_to_a_bound() {
        // A plugin that only computed is out of time at its deadline.
        assert_eq!(time_left(10 * MS, Duration::ZERO, 10 * MS), None);
        // Time waiting for the database extends it…
        assert_eq!(time_left(10 * MS, 6 * MS, 10 * MS), Some(6 * MS));
        assert_eq!(time_left(10 * MS, 6 * MS, 16 * MS), None);
        // …but at most DB_WAIT_FORGIVEN deadlines' worth.
        assert_eq!(time_left(10 * MS, 500 * MS, 49 * MS), Some(MS));
        assert_eq!(time_left(10 * MS, 500 * MS, 50 * MS), None);
    }

    #[test]
    fn a_call_is_charged_for_the_time_it_ran_not_for_waiting() {
        let clock = RunClock::start();
        std::thread::sleep(30 * MS);
        #[cfg(unix)]
        assert!(clock.ran() < 10 * MS, "{:?}", clock.ran());
        // Work is counted (however long the thread waits for a core).
        let guard = Instant::now();
        while clock.ran() < 5 * MS {
            assert!(
                guard.elapsed() < Duration::from_secs(10),
                "the clock stands still"
            );
            std::hint::black_box(0u64);
        }
    }
}
