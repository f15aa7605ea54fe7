//! What the demo communities share: a deterministic generator for seed
//! data, a seeding session that walks a manual clock through the past so
//! content has a history, the first-party plugins, and the server's `main`
//! (arguments, seeding with progress, plugins, serving).
//!
//! Each example describes itself with a [`Demo`] and calls [`run`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth::{Actor, CommunityId, Config, Forum, ManualClock, NewLogin, NewUser, TopicId, UserId};
use hearth_wasm::{HostConfig, PluginHost};
use hearth_web::{Web, WebConfig};
use time::{Duration, OffsetDateTime};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "hearth-demo-password";

/// Progress callback: `(step, done, total)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// What seeding returns: (topics, posts).
pub type SeedResult = Result<(usize, usize), hearth_web::Error>;

/// What starting a demo's plugins returns.
pub type PluginsResult = Result<Option<PluginHost>, hearth_web::Error>;

/// Starts a demo's plugins on the served forum, given its public origin.
pub type PluginsFn = fn(&Arc<Forum>, CommunityId, &str) -> PluginsResult;

/// A small deterministic generator (no `rand` dependency for demo data).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value but 0).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// The next raw value (xorshift64*).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// A seeding session: the forum on a manual clock that starts `days` ago,
/// and one argon2id hash of [`DEMO_PASSWORD`] shared by every account
/// (hashing is slow on purpose; once is enough).
pub struct Seeder {
    /// The forum being seeded.
    pub forum: Forum,
    /// Its clock; advance it between writes (see [`Seeder::advance`] and
    /// [`Seeder::pace`]: neither moves it past the real time).
    pub clock: Arc<ManualClock>,
    start: OffsetDateTime,
    hash: String,
}

impl std::fmt::Debug for Seeder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seeder").finish_non_exhaustive()
    }
}

impl Seeder {
    /// Opens `path` with a clock `days` in the past.
    pub fn open(path: &Path, days: i64) -> Result<Seeder, hearth_web::Error> {
        let start = OffsetDateTime::now_utc() - Duration::days(days);
        let clock = Arc::new(ManualClock::new(start));
        let forum = Forum::open_with(
            path,
            Config {
                clock: clock.clone(),
                ..Config::default()
            },
        )?;
        Ok(Seeder {
            forum,
            clock,
            start,
            hash: hearth_web::hash_password(DEMO_PASSWORD)?,
        })
    }

    /// An account that signs in with [`DEMO_PASSWORD`] and
    /// `<name>@example.com`.
    pub fn account(&self, name: &str, display: &str) -> hearth::Result<UserId> {
        Ok(self
            .forum
            .create_account(
                NewUser {
                    username: name.into(),
                    display_name: display.into(),
                },
                NewLogin {
                    email: format!("{name}@example.com"),
                    password_hash: self.hash.clone(),
                    confirmed: true,
                },
            )?
            .id)
    }

    /// Moves the clock on by `by`, but never past a minute before the real
    /// time: a seeded community's newest activity is "just now", never in
    /// the future.
    pub fn advance(&self, by: Duration) {
        let latest = OffsetDateTime::now_utc() - Duration::minutes(1);
        let now = hearth::Clock::now(&*self.clock);
        if now + by <= latest {
            self.clock.advance(by);
        } else if now < latest {
            self.clock.set(latest);
        }
    }

    /// Counts `n` guest views of `topic` at the clock's time (readers who
    /// came by: a seeded topic with no views looks dead).
    pub fn views(&self, community: CommunityId, topic: TopicId, n: usize) -> hearth::Result<usize> {
        self.forum
            .record_views(community, &vec![(Actor::Guest, topic); n])
    }

    /// Spreads a history over the time from [`Seeder::open`]'s start to
    /// `recent` before the real time: step `i` of `n` moves the clock to
    /// its share of that span (never backwards), so the seeded activity
    /// runs up to the moment the server starts — this week's and this
    /// month's leaderboards fill, and the newest topics are hours old.
    pub fn pace(&self, i: usize, n: usize, recent: Duration) {
        let end = OffsetDateTime::now_utc() - recent;
        let span = end - self.start;
        let at = self.start + span * (i as f64 / n.max(1) as f64);
        if at > hearth::Clock::now(&*self.clock) {
            self.clock.set(at);
        }
    }
}

/// Capitalises the first letter.
pub fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Generated member names: `first_last`, unique for `i`.
pub fn member_name(i: usize) -> (String, String) {
    const FIRST: &[&str] = &[
        "anna", "ben", "carla", "dev", "elif", "farid", "grace", "hugo", "ines", "jonas", "kemal",
        "lena", "marco", "nadia", "omar", "paula", "quinn", "rosa", "stefan", "tara", "umar",
        "vera", "wen", "xavier", "yara", "zoe",
    ];
    const LAST: &[&str] = &[
        "berg", "costa", "diaz", "eklund", "fischer", "garcia", "haas", "ito", "jensen",
        "kowalski", "larsen", "moreau", "novak", "okafor", "petrov", "quint", "rossi", "schmidt",
        "tanaka", "weber",
    ];
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
    let name = if i < FIRST.len() {
        format!("{first}_{last}")
    } else {
        format!("{first}_{last}{i}")
    };
    (name, format!("{} {}", title_case(first), title_case(last)))
}

/// Where `cargo xtask plugins` puts the first-party plugins.
pub fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins")
}

/// Starts a plugin host with the first-party plugins `names` installed, if
/// they are built; `Ok(None)` otherwise.
pub fn plugin_host(
    forum: &Arc<Forum>,
    names: &[&str],
) -> Result<Option<PluginHost>, hearth_web::Error> {
    let dir = plugins_dir();
    if !names
        .iter()
        .all(|n| dir.join(n).join(format!("{n}.wasm")).is_file())
    {
        return Ok(None);
    }
    // Compiled once, then loaded (a start without the cache compiles
    // every plugin: seconds of CPU and tens of MB the allocator keeps).
    let config = HostConfig {
        cache_dir: Some(dir.with_file_name("plugin-cache")),
        ..HostConfig::default()
    };
    let host = PluginHost::new(forum.clone(), config)?;
    // The plugins as built now: a rebuilt one (or a changed plugin.toml)
    // is an upgrade; the same files again change nothing.
    for name in names {
        host.install_dir(dir.join(name))?;
    }
    Ok(Some(host))
}

/// Enables an installed plugin with every capability it asks for.
pub fn enable(
    host: &PluginHost,
    community: CommunityId,
    name: &str,
) -> Result<(), hearth_web::Error> {
    let caps = host.manifest(name)?.capabilities;
    host.enable(&Actor::System, community, name, &caps)?;
    Ok(())
}

/// Starts the first-party plugins `names` (if built), enables each with
/// what it asks for, and lets them catch up with the event log.
pub fn start_plugins(forum: &Arc<Forum>, community: CommunityId, names: &[&str]) -> PluginsResult {
    let Some(host) = plugin_host(forum, names)? else {
        return Ok(None);
    };
    for name in names {
        enable(&host, community, name)?;
    }
    host.deliver_events()?;
    Ok(Some(host))
}

/// What a demo community is.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    /// The binary's name, e.g. `"ambassadors"`.
    pub name: &'static str,
    /// The community's slug.
    pub slug: &'static str,
    /// Shown when the server starts.
    pub title: &'static str,
    /// Accounts worth signing in as: (username, what it is).
    pub sign_ins: &'static [(&'static str, &'static str)],
    /// Generates the community into a new database; `scale` multiplies the
    /// default amount of content. Returns (topics, posts).
    pub seed: fn(&Path, usize, Progress<'_>) -> SeedResult,
    /// Starts the plugins the demo uses (after seeding, on the served
    /// forum); `None` if they are not built.
    pub plugins: PluginsFn,
    /// Lines printed after the sign-ins (invite links, hints).
    pub notes: fn(&Forum, CommunityId) -> Vec<String>,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The web layer for a demo: its community, its public origin.
pub fn web(
    forum: Arc<Forum>,
    plugins: Option<PluginHost>,
    community: CommunityId,
    public_origin: Option<String>,
) -> Result<Web, hearth_web::Error> {
    let mut config = WebConfig::new(community);
    config.public_origin = public_origin;
    Web::new(forum, plugins, config)
}

/// Logs to standard error through `tracing`, filtered by `RUST_LOG`
/// (e.g. `RUST_LOG=hearth_web=debug`; default `info`). Every line of a
/// request carries its request id.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether `data` names a PostgreSQL database rather than a SQLite file.
fn is_postgres(data: &str) -> bool {
    data.starts_with("postgres://") || data.starts_with("postgresql://")
}

/// Opens a SQLite file or a `postgres://` URL, saying how to get
/// PostgreSQL support if this build has none.
fn open(data: &str) -> Result<Forum, Box<dyn std::error::Error>> {
    if is_postgres(data) && !cfg!(feature = "postgres") {
        return Err(format!(
            "this demo was built without PostgreSQL support; build it with \
             `--features postgres` (e.g. `cargo run -p {} --features postgres -- …`)",
            std::env::args()
                .next()
                .and_then(|a| Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "support-community".into())
        )
        .into());
    }
    let mut config = Config::default();
    if let Some(mb) = arg("--map-mb") {
        let mb: u64 = mb.parse().map_err(|e| format!("--map-mb: {e}"))?;
        config.store.map_bytes = mb << 20;
    }
    if let Some(mb) = arg("--cache-mb") {
        let mb: u64 = mb.parse().map_err(|e| format!("--cache-mb: {e}"))?;
        config.store.cache_bytes = mb << 20;
        config.store.reader_cache_bytes = mb << 20;
    }
    Ok(Forum::open_with(data, config)?)
}

/// `migrate --from <file or URL> --to <file or URL>`: copies a whole
/// database into a new one (a SQLite file into PostgreSQL, usually), with
/// progress, then prints the rows of every table, counted on both sides.
async fn migrate() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: migrate --from data/<name>.db --to postgres://user@host/database";
    let from = arg("--from").ok_or(usage)?;
    let to = arg("--to").ok_or(usage)?;
    if !is_postgres(&from) && !Path::new(&from).is_file() {
        return Err(format!("{from}: no such file ({usage})").into());
    }
    let (source, target) = (open(&from)?, open(&to)?);
    let started = std::time::Instant::now();
    let mut shown = (String::new(), u64::MAX);
    let report = source.copy_to(&target, &mut |table, done, total| {
        let pct = done * 100 / total.max(1);
        if (table, pct) != (shown.0.as_str(), shown.1) {
            eprint!("\rcopying {table:<24} {done}/{total} rows ({pct}%)   ");
            let _ = std::io::stderr().flush();
            shown = (table.to_string(), pct);
        }
    })?;
    eprintln!();
    println!(
        "copied {} rows of {} tables from {from} in {:.1} s; every table has as many rows \
         in the copy as in the original:",
        report.rows(),
        report.tables.len(),
        started.elapsed().as_secs_f64()
    );
    for (table, rows) in report.tables.iter().filter(|(_, n)| *n > 0) {
        println!("  {table:<28} {rows:>10}");
    }
    println!("Serve it with: --database {to}");
    Ok(())
}

/// The demo server's `main`: `[--fresh] [--port N] [--data FILE |
/// --database postgres://…] [--scale N] [--seed-only] [--no-rate-limit]
/// [--no-anon-cache] [--no-member-cache] [--no-email] [--api-key-file FILE] [--export FILE]
/// [--base-url URL] [--engine-calls N] [--map-mb N] [--cache-mb N]`, or `migrate --from FILE --to postgres://…`;
/// `RUST_LOG` sets the log filter (default `info`).
/// Seeds `./data/<name>.db` (or the PostgreSQL database) on first run
/// (with progress), starts the plugins, prints the URL and the demo
/// sign-ins, and serves on 127.0.0.1. PostgreSQL needs the demo's
/// `postgres` feature.
pub async fn run(demo: Demo) -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return migrate().await;
    }
    let port: u16 = arg("--port")
        .or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse())
        .transpose()
        .map_err(|e| format!("--port: {e}"))?
        .unwrap_or(3000);
    let data = arg("--database")
        .or_else(|| arg("--data"))
        .unwrap_or_else(|| format!("data/{}.db", demo.name));
    let postgres = is_postgres(&data);
    let path = Path::new(&data);
    if flag("--fresh") {
        if postgres {
            return Err(
                "--fresh deletes a SQLite file; for PostgreSQL, create a new \
                        database (createdb) and pass it with --database"
                    .into(),
            );
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    if let Some(parent) = path
        .parent()
        .filter(|p| !postgres && !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let seeded = (postgres || path.exists())
        && open(&data)?
            .community_by_slug(&Actor::System, demo.slug)
            .is_ok();
    if !seeded {
        let scale = arg("--scale")
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| format!("--scale: {e}"))?
            .unwrap_or(1);
        let started = std::time::Instant::now();
        let mut last = String::new();
        let (topics, posts) = (demo.seed)(path, scale, &mut |step, done, total| {
            let pct = done * 100 / total.max(1);
            let line = format!("{step} {pct}");
            if line != last {
                eprint!("\rseeding {step}: {done}/{total} ({pct}%)   ");
                let _ = std::io::stderr().flush();
                last = line;
            }
        })?;
        eprintln!(
            "\nseeded {topics} topics and {posts} posts in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let forum = Arc::new(open(&data)?);
    let community = forum.community_by_slug(&Actor::System, demo.slug)?.id;
    // Links in pages, feeds, posts and e-mails point where the server
    // really is: its port, or the address given with --base-url.
    let origin = arg("--base-url")
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
    let c = forum.community(&Actor::System, community)?;
    let base_url = format!("{origin}/");
    if c.settings.base_url.as_deref() != Some(base_url.as_str()) {
        let mut settings = c.settings.clone();
        settings.base_url = Some(base_url);
        forum.update_community(&Actor::System, community, &c.name, settings)?;
    }
    // Posts stored under older rendering rules (a tightened allowlist, a
    // new budget, another base URL) are rendered again before anyone
    // reads them.
    let rerendered = forum.rerender_posts(500, &mut |done, total| {
        eprint!("\rrendering posts under the current rules: {done}/{total}   ");
    })?;
    if rerendered > 0 {
        eprintln!();
    }
    if let Some(file) = arg("--export") {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let report =
            forum.export_community(&Actor::System, community, &mut out, &mut |done, total| {
                eprint!(
                    "\rexporting: {done}/{total} rows ({}%)   ",
                    done * 100 / total.max(1)
                );
            })?;
        out.flush()?;
        eprintln!("\nwrote {} lines to {file}", report.lines);
        return Ok(());
    }
    let host = (demo.plugins)(&forum, community, &origin)?;
    if flag("--seed-only") {
        return Ok(());
    }
    let _worker = match &host {
        Some(h) => Some(h.start_worker(std::time::Duration::from_secs(5))?),
        None => {
            eprintln!(
                "plugins not built: they are off.\n\
                 Run `cargo xtask plugins` (or `cargo xtask demo`) to build them."
            );
            None
        }
    };
    let mut config = WebConfig::new(community);
    config.public_origin = Some(origin.clone());
    if flag("--no-rate-limit") {
        config.limits.per_ip = None;
    }
    if flag("--no-anon-cache") {
        config.anonymous_cache = None;
    }
    if flag("--no-member-cache") {
        config.member_cache = None;
    }
    if let Some(n) = arg("--engine-calls") {
        config.limits.engine_calls = n.parse().map_err(|e| format!("--engine-calls: {e}"))?;
    }
    let notes = (demo.notes)(&forum, community);
    // Beside the mail folder: admins' backups (POST /admin/backups.json).
    config.backup_dir = Some(std::path::PathBuf::from(if postgres {
        format!("data/{}-backups", demo.name)
    } else {
        format!("{}-backups", data.trim_end_matches(".db"))
    }));
    let web = Web::new(forum, host, config)?;
    let mail_dir = if postgres {
        format!("data/{}-mail", demo.name)
    } else {
        format!("{}-mail", data.trim_end_matches(".db"))
    };
    if !flag("--no-email") {
        let mailer = hearth::FileMailer::new(&mail_dir)?;
        web.spawn_email_jobs(Arc::new(mailer), std::time::Duration::from_secs(60));
    }
    if let Some(file) = arg("--api-key-file") {
        let (key, _) = web.create_api_key(&Actor::System, None, "--api-key-file")?;
        std::fs::write(&file, key)?;
        println!("A global API key is in {file}.");
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{}: {origin}/", demo.title);
    println!("Sign in with any of these (password: {DEMO_PASSWORD}):");
    for (user, who) in demo.sign_ins {
        println!("  {user:<16} {who}");
    }
    for note in notes {
        println!("{note}");
    }
    if !flag("--no-email") {
        println!(
            "E-mail (notifications, digests, \"we miss you\", sign-up confirmations) is written to {mail_dir}/ every minute; account mail at once."
        );
    }
    hearth_web::serve(listener, web.router()).await?;
    Ok(())
}

/// Helpers for the demos' tests: requests against a router in-process.
pub mod testing {
    use axum::body::Body;
    use axum::http::Request;
    pub use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// `GET uri` as a guest, or with `api` = (key, username).
    pub async fn get(
        app: &axum::Router,
        uri: &str,
        api: Option<(&str, &str)>,
    ) -> (StatusCode, String) {
        let mut req = Request::get(uri);
        if let Some((key, user)) = api {
            req = req.header("Api-Key", key).header("Api-Username", user);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// What makes a seeded community look alive to a first visitor, as a
    /// list of what is missing (empty when it is alive): activity up to
    /// the last hour and several topics active in the last day, this
    /// week's leaderboard filled (except in the first minutes of a week,
    /// which start on Monday at midnight UTC), views counted on nearly every
    /// topic, and no thread that repeats a reply word for word. `reader`
    /// should read everything (the community's owner).
    pub fn liveliness(
        forum: &hearth::Forum,
        community: hearth::CommunityId,
        reader: &hearth::Actor,
    ) -> hearth::Result<Vec<String>> {
        use hearth::{PageRequest, Period, TopicFilter};
        use time::{Duration, OffsetDateTime};

        let now = OffsetDateTime::now_utc();
        let mut missing = Vec::new();
        let mut topics = Vec::new();
        let mut page = PageRequest::first(100);
        loop {
            let p = forum.latest(reader, community, &TopicFilter::default(), &page)?;
            topics.extend(p.items);
            match p.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        match topics.iter().map(|t| t.bumped_at).max() {
            None => missing.push("no topics".to_string()),
            Some(newest) if newest > now => {
                missing.push(format!("activity in the future: {newest}"))
            }
            Some(newest) if now - newest > Duration::hours(1) => missing.push(format!(
                "the newest activity is {newest}, over an hour before {now}"
            )),
            Some(_) => {}
        }
        let last_day = topics
            .iter()
            .filter(|t| now - t.bumped_at < Duration::days(1))
            .count();
        if last_day < 3 {
            missing.push(format!(
                "{last_day} topics active in the last day (want 3 or more)"
            ));
        }
        let into_week = now - now.replace_time(time::Time::MIDNIGHT)
            + Duration::days(i64::from(now.weekday().number_days_from_monday()));
        if into_week > Duration::minutes(5)
            && forum
                .leaderboard(reader, community, Period::Week, 10)?
                .is_empty()
        {
            missing.push("nobody on this week's leaderboard".into());
        }
        let viewed = topics.iter().filter(|t| t.view_count > 0).count();
        if viewed * 10 < topics.len() * 9 {
            missing.push(format!("{viewed} of {} topics have views", topics.len()));
        }
        for t in &topics {
            let view = forum.topic(reader, community, t.id, &PageRequest::first(100))?;
            let mut seen = std::collections::HashSet::new();
            for p in view.posts.items.iter().skip(1) {
                if !seen.insert(p.source.as_str()) {
                    missing.push(format!("{:?} repeats a reply: {}", t.title, p.source));
                }
            }
        }
        Ok(missing)
    }
}
