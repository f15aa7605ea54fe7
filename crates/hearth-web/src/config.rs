//! What an embedder decides: which community, where it is mounted, limits,
//! cookies and the theme.

use std::collections::BTreeMap;
use std::time::Duration;

use hearth::CommunityId;

/// How one [`Web`](crate::Web) serves one community.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The community this router serves (Discourse serves one site per
    /// host; mount one router per community).
    pub community: CommunityId,
    /// Where the router is mounted, e.g. `""` or `"/community"`; every link
    /// and cookie path starts with it. No trailing slash.
    pub base_path: String,
    /// The public origin (`https://community.example.com`) for canonical
    /// URLs and the sitemap. `None` uses the community's `base_url`
    /// setting, and failing that the request's `Host` header.
    pub public_origin: Option<String>,
    /// Mark cookies `Secure` (set this when served over TLS).
    pub secure_cookies: bool,
    /// Request and sign-in limits.
    pub limits: Limits,
    /// Templates, styles and the site name.
    pub theme: Theme,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Serve guests' reads of public pages and JSON from memory while
    /// nothing changed, for at most this long (`None`: off). See the
    /// crate docs.
    pub anonymous_cache: Option<Duration>,
    /// Serve a signed-in member's repeated reads of lists, topics and
    /// categories from memory, to the same session only, while nothing in
    /// the community changed (`None`: off).
    pub member_cache: Option<MemberCache>,
    /// Believe `X-Forwarded-For` for the client address (only behind a
    /// proxy you run; otherwise clients could pick their address).
    pub trust_forwarded_for: bool,
    /// Single sign-on from the embedding product (`None`: off). While on,
    /// members sign in only through it.
    pub discourse_connect: Option<crate::sso::DiscourseConnect>,
    /// Where admins' backups (community exports, `POST
    /// /admin/backups.json`) are written; `None`: backups are off (export
    /// from `/admin/export` still works). Keep it off the web root.
    pub backup_dir: Option<std::path::PathBuf>,
    /// How often the maintenance thread fires due topic timers (close,
    /// open, delete, bump…) and merges the search index's segments
    /// (`Forum::tidy_search_index`); unused uploads are swept at most
    /// hourly on the same thread. `None`: this server runs no maintenance (another
    /// process on the same database does). Default 30 s.
    pub maintenance_every: Option<Duration>,
}

impl WebConfig {
    /// Defaults for `community`: mounted at the root, no TLS, limits on.
    pub fn new(community: CommunityId) -> Self {
        WebConfig {
            community,
            base_path: String::new(),
            public_origin: None,
            secure_cookies: false,
            limits: Limits::default(),
            theme: Theme::default(),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            anonymous_cache: Some(Duration::from_secs(10)),
            member_cache: Some(MemberCache::default()),
            trust_forwarded_for: false,
            discourse_connect: None,
            backup_dir: None,
            maintenance_every: Some(Duration::from_secs(30)),
        }
    }
}

/// How members' answers are kept (see [`WebConfig::member_cache`]).
///
/// An answer is kept for the session that asked, keyed by its path, and
/// served again only to that session while the community's generation
/// (every commit, every form sent, other processes' commits) and this
/// process's view epoch (members' read state) are the ones it was made in,
/// and for at most `fresh_for` — the bound on what changes without an
/// event (relative times, another process's members' views).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberCache {
    /// The longest an answer is served again. Default 10 s.
    pub fresh_for: Duration,
    /// The most bytes of answers kept for all members together; when the
    /// next answer would pass it, the cache starts over. An answer larger
    /// than this is never kept. Default 32 MiB.
    pub max_bytes: usize,
}

impl Default for MemberCache {
    fn default() -> Self {
        MemberCache {
            fresh_for: Duration::from_secs(10),
            max_bytes: 32 << 20,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
}

/// Explicit limits; each is tested at its boundary.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes (default 1 MiB; a post body is at
    /// most 32,000 bytes by default, forms add little).
    pub body_bytes: usize,
    /// How long a client may take to send a request body (default 30 s);
    /// a slower one gets 408 and its connection is closed.
    pub body_timeout: Duration,
    /// Requests per client address; `None` turns the limit off (load tests
    /// on loopback). Counted per server process.
    pub per_ip: Option<RateLimit>,
    /// Sign-in attempts allowed per account *and address*: this many at
    /// once, then one more per `sign_in_window / sign_in_per_account`; a
    /// successful sign-in gives them back. An attacker at one address
    /// can't lock the owner out from another. Like the other sign-in
    /// limits, counted in the database and shared by every server on it
    /// ([`hearth::Forum::attempt`]).
    pub sign_in_per_account: u32,
    /// Once an account has used `sign_in_per_account` attempts from all
    /// addresses together, attempts on it from anywhere are spaced at
    /// least this far apart (a global slow-down, not a lockout: the owner
    /// waits seconds, a password spray gets few tries).
    pub sign_in_account_slowdown: Duration,
    /// Sign-in attempts allowed per address: this many at once, then one
    /// more per `sign_in_window / sign_in_per_ip`.
    pub sign_in_per_ip: u32,
    /// The stretch of time in which the two sign-in allowances come back.
    pub sign_in_window: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// Mail someone asks for (password reset links, addresses to
    /// confirm) per account per hour: asking more often is refused, so
    /// nobody can flood a member's inbox.
    pub account_mail_per_account: u32,
    /// Requests for such mail per address per hour.
    pub account_mail_per_ip: u32,
    /// How long a mailed link (password reset, new address) works, once.
    pub account_link_ttl: Duration,
    /// Invitations to topics (`POST /t/{id}/invite.json`) a member sends
    /// per hour: each notifies or mails someone.
    pub topic_invites_per_hour: u32,
    /// Engine calls (the database work of a request) running at once: the
    /// number of engine threads (default 8, at least 1). Requests beyond
    /// it wait their turn in arrival order without holding a thread: more
    /// threads than the database serves at once (SQLite: its reader
    /// connections and the one writer) would only wait inside it, each
    /// with its own memory. Raise it for PostgreSQL on another machine,
    /// where a call spends most of its time waiting on the network.
    pub engine_calls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            body_timeout: Duration::from_secs(30),
            per_ip: Some(RateLimit {
                per_second: 20.0,
                burst: 100,
            }),
            sign_in_per_account: 5,
            sign_in_account_slowdown: Duration::from_secs(2),
            sign_in_per_ip: 20,
            sign_in_window: Duration::from_secs(15 * 60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            account_mail_per_account: 3,
            account_mail_per_ip: 10,
            account_link_ttl: Duration::from_secs(2 * 3600),
            topic_invites_per_hour: 30,
            engine_calls: 8,
        }
    }
}

/// The look of the pages.
///
/// Templates are minijinja; every built-in template (see
/// [`TEMPLATE_NAMES`](crate::TEMPLATE_NAMES)) can be replaced by putting a
/// template of the same name in `templates`.
#[derive(Debug, Clone, Default)]
pub struct Theme {
    /// The name in the header and `<title>`; `None` uses the community's
    /// name.
    pub site_name: Option<String>,
    /// Template overrides by name, e.g. `"layout.html"`.
    pub templates: BTreeMap<String, String>,
    /// CSS appended to the built-in stylesheet.
    pub extra_css: String,
}

/// Limits of the HTTP server itself, for [`serve_with`](crate::serve_with):
/// what keeps slow or idle connections from holding it.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections served at once (default 1,024); more wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how
    /// long a kept-alive connection may sit idle before its next request
    /// (default 10 s). Slow-loris connections are closed after it.
    pub header_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
        }
    }
}
