//! Measures the engine on a generated database and prints a Markdown table.
//!
//! ```sh
//! cargo run --release -p hearth-benches --bin report -- --posts 100000 --members 6000
//! cargo run --release -p hearth-benches --bin report -- --posts 1000000 --members 60000
//! # the same fixture copied into an empty PostgreSQL database:
//! cargo run --release -p hearth-benches --features postgres --bin report -- \
//!     --postgres postgres://postgres@%2Ftmp%2Fhearth-pg/bench
//! ```
//!
//! Each figure is measured with many repetitions on a warm database; latency
//! percentiles come from per-call timings. The criterion benches in
//! `benches/engine.rs` measure the same calls with statistics.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hearth::{Forum, NewReply, PageRequest, SearchQuery, TopicFilter};
use hearth_benches::{Rng, body, data_dir, fixture, sentence};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn measure(n: usize, mut f: impl FnMut(usize)) -> Stats {
    for i in 0..n.min(200) {
        f(i);
    }
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        f(i);
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    Stats {
        per_sec: n as f64 / total.as_secs_f64(),
        p50: times[n / 2],
        p99: times[n * 99 / 100],
    }
}

/// `--only NAME` runs one measurement (topic, latest, search, similar,
/// reply, writers, points, analytics, digest, open), for profiling.
fn wants(name: &str) -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .is_none_or(|only| only == name)
}

fn row(name: &str, s: &Stats, target: &str) {
    println!(
        "| {name} | {:.0}/s | {:.1} µs | {:.1} µs | {target} |",
        s.per_sec,
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6
    );
}

/// Counts messages without delivering them.
struct NullMailer(std::sync::atomic::AtomicU64);

impl hearth::Mailer for NullMailer {
    fn send(&self, _: &hearth::Email) -> Result<(), hearth::MailError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// One e-mail run for every member (weekly digests for the week that just
/// ended, "we miss you", delivery to a counting mailer), on a copy of the
/// database so the fixture stays unsent.
fn digest(fx: &hearth_benches::Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("digest.db");
    let last = last_activity(&Forum::open(&fx.path).unwrap(), fx.community); // and checkpoint
    std::fs::copy(&fx.path, &copy).unwrap();
    // The Monday after the last activity: last week's digest has news.
    let days = 7 - i64::from(last.weekday().number_days_from_monday());
    let monday = (last + time::Duration::days(days))
        .date()
        .midnight()
        .assume_utc()
        + time::Duration::hours(6);
    let clock = std::sync::Arc::new(hearth::ManualClock::new(monday));
    let forum = Forum::open_with(
        &copy,
        hearth::Config {
            clock,
            ..hearth::Config::default()
        },
    )
    .unwrap();
    let mailer = NullMailer(Default::default());
    // When each step last reported, i.e. finished.
    let mut steps: Vec<(hearth::JobStep, Instant)> = Vec::new();
    let started = Instant::now();
    let report = forum
        .run_email_jobs(fx.community, &mailer, &mut |p| {
            match steps.last_mut() {
                Some((s, at)) if *s == p.step => *at = Instant::now(),
                _ => steps.push((p.step, Instant::now())),
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let total = started.elapsed();
    println!(
        "| e-mail run for {} members | {:.1} s | digests {} · we-miss-you {} · notification e-mails {} · skipped {} · delivered {} | ≤ 60 s |",
        fx.members.len(),
        total.as_secs_f64(),
        report.digests,
        report.we_miss_you,
        report.notification_emails,
        report.skipped,
        report.delivered
    );
    for (step, at) in steps {
        eprintln!("  {step:?} done at +{:.1?}", at - started);
    }
}

/// When the fixture's last topic was bumped.
fn last_activity(forum: &Forum, c: hearth::CommunityId) -> time::OffsetDateTime {
    forum
        .latest(
            &hearth::Actor::System,
            c,
            &TopicFilter::default(),
            &PageRequest::first(1),
        )
        .unwrap()
        .items
        .first()
        .map(|t| t.bumped_at)
        .unwrap_or_else(time::OffsetDateTime::now_utc)
}

/// `writers` threads replying at once for a few seconds, each in a
/// community of its own (`spread`) or all in one; replies per second in
/// all and the median reply. The communities are made for the run.
fn concurrent_replies(
    forum: &Forum,
    writers: usize,
    spread: bool,
    bodies: &[String],
) -> (f64, Duration, Duration) {
    use hearth::{
        Actor, CategoryKind, CommunitySettings, NewCategory, NewCommunity, NewTopic, NewUser,
    };
    let run = time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
    let community = |n: usize| {
        let owner = forum
            .create_user(NewUser::new(&format!("w{run}o{n}")))
            .unwrap()
            .id;
        let c = forum
            .create_community(
                &Actor::System,
                NewCommunity {
                    slug: format!("w{run}-{n}"),
                    name: format!("Writers {n}"),
                    owner: Some(owner),
                    settings: CommunitySettings::for_bulk_writes(),
                },
            )
            .unwrap()
            .id;
        let category = forum
            .create_category(
                &Actor::User(owner),
                c,
                NewCategory::new("talk", "Talk", CategoryKind::Discussion),
            )
            .unwrap()
            .id;
        (c, category)
    };
    let shared = (!spread).then(|| community(0));
    // Per writer: its community, a member, and the member's own topic.
    let seats: Vec<_> = (0..writers)
        .map(|i| {
            let (c, category) = shared.unwrap_or_else(|| community(i + 1));
            let u = forum
                .create_user(NewUser::new(&format!("w{run}m{i}")))
                .unwrap()
                .id;
            let member = Actor::User(u);
            forum.join(&member, c).unwrap();
            let (topic, _) = forum
                .create_topic(
                    &member,
                    c,
                    NewTopic {
                        category,
                        title: format!("Writer {i} keeps writing here"),
                        body: "Replies of the concurrent writers land here.".into(),
                        tags: vec![],
                    },
                )
                .unwrap();
            (c, member, topic.id)
        })
        .collect();
    let run_for = Duration::from_secs(5);
    let started = Instant::now();
    let mut times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = seats
            .iter()
            .enumerate()
            .map(|(w, (c, member, topic))| {
                s.spawn(move || {
                    let mut times = Vec::new();
                    let mut i = w;
                    while started.elapsed() < run_for {
                        let t = Instant::now();
                        forum
                            .reply(
                                member,
                                *c,
                                *topic,
                                NewReply {
                                    body: bodies[i % bodies.len()].clone(),
                                    reply_to: None,
                                },
                            )
                            .unwrap();
                        times.push(t.elapsed());
                        i += writers;
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    times.sort();
    (
        times.len() as f64 / elapsed.as_secs_f64(),
        times[times.len() / 2],
        times[times.len() * 99 / 100],
    )
}

/// `--postgres URL`: the fixture copied into that (empty) database, or
/// the copy made by an earlier run.
fn postgres_copy(fx: &hearth_benches::Fixture) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1))?
        .clone();
    let target = Forum::open(&url).unwrap();
    let started = Instant::now();
    match Forum::open(&fx.path)
        .unwrap()
        .copy_to(&target, &mut |table, done, total| {
            if done % 50_000 < 1000 || done == total {
                eprint!("\rcopying the fixture: {table} {done}/{total}      ");
            }
        }) {
        Ok(r) => eprintln!(
            "\ncopied {} rows into PostgreSQL in {:.1} s",
            r.rows(),
            started.elapsed().as_secs_f64()
        ),
        Err(hearth::Error::Conflict { .. }) => eprintln!("using the copy already in {url}"),
        Err(e) => panic!("copying the fixture: {e}"),
    }
    drop(target);
    Some(run_copy(&url))
}

/// A fresh database `<name>_run` cloned from the pristine copy at `url`
/// (`CREATE DATABASE … TEMPLATE`, seconds), so that what one run writes
/// does not slow the next; its URL.
#[cfg(feature = "postgres")]
fn run_copy(url: &str) -> String {
    use std::str::FromStr;
    let config = postgres::Config::from_str(url).expect("a PostgreSQL URL");
    let name = config
        .get_dbname()
        .expect("the URL names a database")
        .to_string();
    let run = format!("{name}_run");
    let mut admin = config.clone();
    admin.dbname("postgres");
    let mut client = admin.connect(postgres::NoTls).expect("connect");
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{run}\""),
        format!("CREATE DATABASE \"{run}\" TEMPLATE \"{name}\""),
    ] {
        client.batch_execute(&sql).expect("clone the copy");
    }
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{run}")
}

#[cfg(not(feature = "postgres"))]
fn run_copy(url: &str) -> String {
    url.to_string()
}

/// A fresh copy of the SQLite fixture for this run, so that what one run
/// writes does not slow the next.
fn sqlite_run_copy(fx: &hearth_benches::Fixture) -> std::path::PathBuf {
    drop(Forum::open(&fx.path).unwrap()); // checkpoints the WAL
    let run = fx.path.with_extension("run.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", run.display()));
    }
    std::fs::copy(&fx.path, &run).unwrap();
    // On disk before the clock starts: otherwise the first checkpoint that
    // syncs the database writes out the whole copy (≈ 100 ms at 100,000
    // posts), which a server's database file never has waiting.
    std::fs::File::open(&run).unwrap().sync_all().unwrap();
    run
}

fn main() {
    let posts = arg("--posts", 100_000);
    let members = arg("--members", posts / 16) as usize;
    let fx = fixture(&data_dir(), posts, members);
    let postgres = postgres_copy(&fx);
    let run = match &postgres {
        Some(url) => url.clone(),
        None => sqlite_run_copy(&fx).display().to_string(),
    };
    let forum = Forum::open(&run).unwrap();
    // What a server's maintenance thread keeps doing every 30 s: the
    // generator wrote one index segment per transaction and left FTS5's
    // own merging to have the last word.
    let tidied = Instant::now();
    let steps = forum.tidy_search_index().unwrap();
    eprintln!(
        "search index tidied: {steps} steps in {:.2} s",
        tidied.elapsed().as_secs_f64()
    );
    let c = fx.community;
    let mut rng = Rng::new(7);
    println!(
        "Database: {} ({} posts, {} members)\n",
        if postgres.is_some() {
            format!("PostgreSQL, a fresh clone of the fixture's copy: {run}")
        } else {
            format!("{run} (a fresh copy of the fixture)")
        },
        posts,
        members
    );
    println!("| operation | throughput | p50 | p99 | target |");
    println!("|---|---|---|---|---|");

    let (member, topics) = fx.reader(&forum);
    if wants("topic") {
        let s = measure(20_000, |i| {
            forum
                .topic(
                    &member,
                    c,
                    topics[i % topics.len()],
                    &PageRequest::first(20),
                )
                .unwrap();
        });
        row("read a topic (20 posts) as a member", &s, "≥ 20,000/s");
    }

    if wants("latest") {
        let s = measure(20_000, |_| {
            forum
                .latest(&member, c, &TopicFilter::default(), &PageRequest::first(30))
                .unwrap();
        });
        row("latest topics (30 rows)", &s, "≥ 20,000/s");
    }

    let queries: Vec<String> = (0..200).map(|_| sentence(&mut rng, 2)).collect();
    if wants("search") {
        let s = measure(2_000, |i| {
            forum
                .search(&member, c, &SearchQuery::new(&queries[i % queries.len()]))
                .unwrap();
        });
        row("search (2 words, first page)", &s, "p50 ≤ 2 ms");
    }

    if wants("similar") {
        let s = measure(2_000, |i| {
            forum
                .similar_topics(&member, c, &queries[i % queries.len()], 5)
                .unwrap();
        });
        row("similar_topics", &s, "—");
    }

    let bodies: Vec<String> = (0..500).map(|_| body(&mut rng)).collect();
    if wants("reply") {
        let s = measure(5_000, |i| {
            forum
                .reply(
                    &fx.members[1 + i % 49],
                    c,
                    topics[i % topics.len()],
                    NewReply {
                        body: bodies[i % bodies.len()].clone(),
                        reply_to: None,
                    },
                )
                .unwrap();
        });
        row("create a reply (render, index, event)", &s, "≥ 5,000/s");
    }

    if wants("writers") {
        // A handle of its own with a session per writer (the default pool
        // has fewer).
        let location = run.clone();
        let writers = 8;
        let handle = Forum::open_with(
            &location,
            hearth::Config {
                store: hearth::StoreConfig {
                    readers: writers,
                    ..hearth::StoreConfig::default()
                },
                ..hearth::Config::default()
            },
        )
        .unwrap();
        for spread in [true, false] {
            let (rate, p50, p99) = concurrent_replies(&handle, writers, spread, &bodies);
            println!(
                "| create a reply, {writers} writers, {} | {rate:.0}/s | {:.1} µs | {:.1} µs | ≥ 1,000/s on PostgreSQL |",
                if spread {
                    "each in its own community"
                } else {
                    "all in one community"
                },
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            );
        }
    }

    if wants("points") {
        let users: Vec<hearth::UserId> = fx
            .members
            .iter()
            .filter_map(|m| match m {
                hearth::Actor::User(u) => Some(*u),
                _ => None,
            })
            .collect();
        let s = measure(20_000, |i| {
            forum
                .points(&member, c, users[i % users.len()], hearth::Period::Week)
                .unwrap();
        });
        row("a member's points this week", &s, "≤ 20 µs");
        let s = measure(2_000, |_| {
            forum
                .leaderboard(&member, c, hearth::Period::Week, 10)
                .unwrap();
        });
        row("leaderboard top 10 this week", &s, "—");
    }
    if wants("analytics") {
        // Windows end at the fixture's last activity, however long ago it
        // was generated.
        let now = last_activity(&forum, c);
        for (label, days) in [("30 days", 30), ("365 days", 365)] {
            let s = measure(if days > 100 { 10 } else { 50 }, |_| {
                forum
                    .analytics(&fx.moderator, c, now - time::Duration::days(days), now)
                    .unwrap();
            });
            row(&format!("analytics dashboard, {label}"), &s, "≤ 200 ms");
        }
    }
    drop(forum);
    if postgres.is_some() {
        // The rest measures the SQLite file itself.
        return;
    }
    if wants("digest") {
        digest(&fx);
    }
    if !wants("open") {
        return;
    }
    let s = measure(50, |_| {
        Forum::open(&fx.path).unwrap();
    });
    row("open an existing database", &s, "≤ 50 ms");
    let dir = tempfile::tempdir().unwrap();
    let s = measure(50, |i| {
        Forum::open(dir.path().join(format!("new-{i}.db"))).unwrap();
    });
    row("create + migrate a new database", &s, "≤ 50 ms");
}
