//! Hearth's HTTP layer: server-rendered pages, a JSON API compatible with
//! Discourse's, sign-in, and the plugins' slots and routes — one axum
//! [`Router`] per community, mountable under any path.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hearth::{Actor, Forum, NewCommunity};
//! use hearth_web::{Web, WebConfig};
//!
//! # async fn run() -> Result<(), hearth_web::Error> {
//! let forum = Arc::new(Forum::open("community.db")?);
//! let community = forum.create_community(&Actor::System, NewCommunity {
//!     slug: "acme".into(),
//!     name: "Acme Community".into(),
//!     ..Default::default()
//! })?;
//! let web = Web::new(forum, None, WebConfig::new(community.id))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! hearth_web::serve(listener, web.router()).await?;
//! # Ok(()) }
//! ```
//!
//! What a request meets, in order:
//!
//! * security headers (a Content-Security-Policy without inline script,
//!   `nosniff`, frame denial) on every response;
//! * the per-address rate limit ([`Limits::per_ip`]) and the visitor: an
//!   `Api-Key`/`Api-Username` pair, a session cookie, or a guest with a
//!   CSRF cookie;
//! * the read cache: a guest's read of a public page, and a member's
//!   repeated read of a list, category or topic (for their own session
//!   only), answered from memory while nothing in the community changed
//!   ([`WebConfig::anonymous_cache`], [`WebConfig::member_cache`]); any
//!   other request, and every `POST`, goes on;
//! * `Idempotency-Key` handling for `POST`s;
//! * the route: a page (minijinja templates, [`Theme`]) or a JSON endpoint
//!   in Discourse's shapes; every engine call runs on the blocking pool,
//!   as the visitor, so permissions are the engine's;
//! * errors: Discourse's `{"errors": [...], "error_type": ...}` for the
//!   API, the error page (with the plugin footer) for pages — never a
//!   stack trace or SQL.
//!
//! Accounts: [`create_account`] hashes with argon2id; [`Web::create_api_key`]
//! makes keys that are stored only as digests and can be revoked. The
//! product's own accounts can be the community's: [`DiscourseConnect`]
//! (single sign-on where the product signs users in, set in
//! [`WebConfig::discourse_connect`]) or, in the same process,
//! [`Web::sign_in`].

#![deny(missing_docs)]
#![recursion_limit = "256"]

mod admin;
mod analytics;
mod api;
mod auth;
mod bell;
mod charts;
mod config;
mod deflect;
mod email;
mod engine_pool;
mod error;
mod export;
mod follows;
mod ideas;
mod idempotency;
mod kb;
mod mailed_links;
mod messages;
mod moderate;
mod notifications;
mod own_account;
mod pages;
mod params;
mod password;
mod plugin_actions;
mod products;
mod profile_edit;
mod read_cache;
mod readable;
mod request_id;
mod routes;
mod security;
mod seo;
mod signup;
mod smtp;
mod sso;
mod state;
mod templates;
mod throttle;
mod visitor;

use std::sync::{Arc, Mutex};

use axum::Router;
use hearth::{Actor, Forum, UserId};
use hearth_wasm::PluginHost;

pub use auth::{
    API_SCOPES, ApiKey, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, check_password, create_account,
};
pub use config::{Limits, MemberCache, RateLimit, ServerLimits, Theme, WebConfig};
pub use error::{ApiError, Error, Fail, PageError, Result};
pub use password::{MAX_HASH_MEMORY_KIB, PasswordHashing, hash_password, verify_password};
pub use smtp::SmtpMailer;
pub use sso::{DISCOURSE_CONNECT, DiscourseConnect, MIN_SECRET_BYTES};
pub use templates::TEMPLATE_NAMES;

use state::AppState;
use throttle::IpLimiter;

/// The web layer for one community: build it once, then take its
/// [`router`](Web::router). Cheap to clone (an `Arc`).
#[derive(Debug, Clone)]
pub struct Web {
    state: Arc<AppState>,
}

impl Web {
    /// Compiles the templates (a broken override fails here) and prepares
    /// the limiters. `plugins` is the forum's plugin host, if any: its
    /// render slots and routes appear on the pages.
    pub fn new(forum: Arc<Forum>, plugins: Option<PluginHost>, config: WebConfig) -> Result<Web> {
        forum.community(&Actor::System, config.community)?;
        let templates = templates::Templates::new(&config.theme)?;
        let limits = &config.limits;
        let state = AppState {
            ip_limiter: limits.per_ip.map(IpLimiter::new),
            action_limits: Default::default(),
            views: Mutex::new(Vec::new()),
            views_ready: std::sync::Condvar::new(),
            read_cache: read_cache::ReadCache::default(),
            bells: bell::Bells::default(),
            community: Mutex::new(None),
            sends_email: Default::default(),
            mail_wake: Default::default(),
            engine: engine_pool::EnginePool::new(limits.engine_calls)?,
            visits: Mutex::new(Default::default()),
            key_uses: Mutex::new(Default::default()),
            forum,
            plugins,
            templates,
            config,
        };
        let state = Arc::new(state);
        state
            .forum
            .register_hooks(state.read_cache.hook(state.config.community));
        state::start_view_flusher(&state);
        state::start_change_watcher(&state)?;
        state::start_maintenance(&state);
        Ok(Web { state })
    }

    /// The router: pages, the JSON API, assets, `robots.txt` and
    /// `sitemap.xml`. Mount it with `Router::nest` at
    /// [`WebConfig::base_path`].
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// Creates an API key acting as `user`, or a global key acting as
    /// whoever `Api-Username` names (`None`). Admins only. Returns the key,
    /// which is not stored and cannot be shown again.
    pub fn create_api_key(
        &self,
        actor: &Actor,
        user: Option<UserId>,
        description: &str,
    ) -> Result<(String, ApiKey)> {
        self.create_scoped_api_key(actor, user, description, &[])
    }

    /// [`create_api_key`](Web::create_api_key) limited to `scopes` (names
    /// from [`API_SCOPES`]; empty or `global` for everything).
    pub fn create_scoped_api_key(
        &self,
        actor: &Actor,
        user: Option<UserId>,
        description: &str,
        scopes: &[&str],
    ) -> Result<(String, ApiKey)> {
        self.require_admin(actor)?;
        let scopes = auth::parse_scopes(&scopes.join(","))?;
        auth::create_api_key(
            &self.state.forum,
            self.state.config.community,
            user,
            description,
            scopes,
        )
    }

    /// The community's API keys (without the keys themselves). Admins only.
    pub fn api_keys(&self, actor: &Actor) -> Result<Vec<ApiKey>> {
        self.require_admin(actor)?;
        Ok(
            auth::api_keys_with_last_use(&self.state.forum, self.state.config.community)?
                .into_iter()
                .map(|(_, k)| k)
                .collect(),
        )
    }

    /// Revokes an API key by its [`ApiKey::id`]. Admins only.
    pub fn revoke_api_key(&self, actor: &Actor, id: &str) -> Result<()> {
        self.require_admin(actor)?;
        auth::revoke_api_key(&self.state.forum, self.state.config.community, id)
    }

    /// Signs `user` in from the host application, without a password, for
    /// embedders whose product shares the process: returns the
    /// `Set-Cookie` header value to send with the host's response (the
    /// cookie the sign-in form sets; `secure` when served over TLS). The
    /// user must exist; whether they are a member is the community's
    /// business as usual.
    ///
    /// ```no_run
    /// # fn demo(web: &hearth_web::Web, user: hearth::UserId) -> hearth_web::Result<()> {
    /// let set_cookie = web.sign_in(user, true)?;
    /// // e.g. response.headers_mut().append("set-cookie", set_cookie.parse()?);
    /// # let _ = set_cookie; Ok(())
    /// # }
    /// ```
    pub fn sign_in(&self, user: hearth::UserId, secure: bool) -> Result<String> {
        let s = &self.state;
        s.forum.user(user)?;
        let (token, _) = auth::start_session(
            &s.forum,
            s.config.community,
            user,
            s.config.session_ttl,
            "application",
        )?;
        Ok(visitor::set_cookie(
            &self.state,
            secure || s.config.secure_cookies,
            visitor::SESSION_COOKIE,
            &token,
            s.config.session_ttl.as_secs() as i64,
        ))
    }

    /// Writes the page views, visits and API keys' last uses counted so
    /// far (they are otherwise written once a second).
    pub fn flush_views(&self) {
        self.state.flush_views();
    }

    /// Runs the community's e-mail jobs (notification e-mails, digests,
    /// "we miss you", delivery through `mailer`) every `every` on a
    /// background thread, for as long as this `Web` or a router made from
    /// it lives. Each run is cheap when there is nothing to do; a run
    /// every few minutes batches notifications naturally.
    ///
    /// ```no_run
    /// # fn demo(web: &hearth_web::Web) -> std::io::Result<()> {
    /// let mailer = hearth::FileMailer::new("data/mail")?;
    /// web.spawn_email_jobs(std::sync::Arc::new(mailer), std::time::Duration::from_secs(300));
    /// # Ok(()) }
    /// ```
    pub fn spawn_email_jobs(&self, mailer: Arc<dyn hearth::Mailer>, every: std::time::Duration) {
        self.state
            .sends_email
            .store(true, std::sync::atomic::Ordering::Relaxed);
        email::spawn_jobs(&self.state, mailer, every);
    }

    fn require_admin(&self, actor: &Actor) -> Result<()> {
        admin::require_admin(&self.state, actor)
    }
}

/// Serves `router` on `listener` until the process ends, with each
/// request's client address available to the rate limits, under the
/// default [`ServerLimits`].
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> Result<()> {
    serve_with(listener, router, ServerLimits::default()).await
}

/// [`serve`] with explicit limits: at most `max_connections` at once, and
/// connections that send headers too slowly (or idle between requests for
/// longer than `header_timeout`) closed.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServerLimits,
) -> Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(addr));
                let router = router.clone();
                async move {
                    use tower_service::Service;
                    let mut router = router;
                    router.call(req.map(axum::body::Body::new)).await
                }
            });
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(slot);
        });
    }
}
