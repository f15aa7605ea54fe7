//! Two server processes on one database — release builds of
//! `examples/crash_server`, each also running the e-mail jobs against an
//! SMTP server in this test — as an operator runs them behind a load
//! balancer:
//!
//! 1. a topic posted through one is readable through the other at once as
//!    a member, and as a guest (through the other's page cache) as soon as
//!    the change reaches it; the delays are printed (figures in
//!    `docs/performance.md`);
//! 2. one of them is killed with SIGKILL again and again while clients
//!    reply through both (a client whose server is down retries on the
//!    other with the same `Idempotency-Key`): every acknowledged reply
//!    exists exactly once, none exists that no client was told about;
//! 3. the e-mail jobs run on whichever server holds their lease: after
//!    the last kill the survivor takes over and delivers everything; no
//!    e-mail is written twice, and a message is only ever delivered again
//!    under its own `Message-ID` (when a kill lands between the mail
//!    server's "250 queued" and the outbox update), at most once per kill.
//!
//! Runs on SQLite (two processes on one file) and, with
//! `HEARTH_TEST_BACKEND=postgres`, on PostgreSQL. `HEARTH_TWO_SERVERS_KILLS`
//! sets the number of kills (default 8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;

#[path = "../../hearth/tests/common/backend.rs"]
mod backend;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hearth::{
    Actor, CategoryKind, CommunitySettings, Forum, NewCategory, NewCommunity, NewLogin, NewTopic,
    NewUser, Role,
};
use hearth_web::{Web, WebConfig};
use process::{Server, get, post, scalar, server_binary, smtp_sink, stored_posts};

const CLIENTS: usize = 6;
/// Topics posted through one server and looked for on the other.
const ROUNDS: usize = 40;

struct Site {
    community: i64,
    category: i64,
    /// The owner's topic every client replies to (each reply notifies the
    /// owner by e-mail).
    topic: i64,
    /// `Api-Key`/`Api-Username` header lines, per client.
    auth: Vec<String>,
}

fn setup(db: &str) -> Site {
    let forum = Arc::new(Forum::open(db).unwrap());
    let account = |name: &str| {
        forum
            .create_account(
                NewUser::new(name),
                NewLogin {
                    email: format!("{name}@example.com"),
                    password_hash: "$argon2id$test".into(),
                    confirmed: true,
                },
            )
            .unwrap()
            .id
    };
    let owner = account("olivia");
    let mut settings = CommunitySettings::for_bulk_writes();
    settings.base_url = Some("https://community.example.com/".into());
    settings.email.from = "Acme <community@acme.example>".into();
    let c = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "two".into(),
                name: "Two servers".into(),
                owner: Some(owner),
                settings,
            },
        )
        .unwrap()
        .id;
    let by_owner = Actor::User(owner);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let u = account(&format!("client_{i}"));
            forum.add_member(&by_owner, c, u, Role::Member).unwrap();
            u
        })
        .collect();
    let category = forum
        .create_category(
            &by_owner,
            c,
            NewCategory::new("talk", "Talk", CategoryKind::Discussion),
        )
        .unwrap();
    let (topic, _) = forum
        .create_topic(
            &by_owner,
            c,
            NewTopic {
                category: category.id,
                title: "Where the replies go".into(),
                body: "Replies through both servers land here.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let web = Web::new(forum, None, WebConfig::new(c)).unwrap();
    let auth = clients
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let key = web.create_api_key(&by_owner, Some(*u), "two").unwrap().0;
            format!("Api-Key: {key}\r\nApi-Username: client_{i}\r\n")
        })
        .collect();
    Site {
        community: c.0,
        category: category.id.0,
        topic: topic.id.0,
        auth,
    }
}

fn addr_of(server: &Arc<RwLock<Option<SocketAddr>>>) -> Option<SocketAddr> {
    *server.read().unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Part 1: what one server writes, the other shows.
fn propagation(site: &Site, a: SocketAddr, b: SocketAddr) {
    let guest_latest = |addr| {
        let (status, body) = get(addr, "/latest.json", "").expect("latest");
        assert_eq!(status, 200, "{body}");
        body
    };
    let mut delays = Vec::new();
    for round in 0..ROUNDS {
        // The other server's guest cache is warm.
        guest_latest(b);
        guest_latest(b);
        let title = format!("Posted through the first server, round {round}");
        let body = serde_json::json!({
            "title": title,
            "raw": "Does the other server show this right away?",
            "category": site.category,
        })
        .to_string();
        let (status, text, _) =
            post(a, &site.auth[0], &format!("propagate-{round}"), &body).expect("post");
        assert_eq!(status, 200, "{text}");
        let written = Instant::now();
        let topic: serde_json::Value = serde_json::from_str(&text).unwrap();
        let topic = topic["topic_id"].as_i64().expect("topic id");
        // Members are not served from a cache: at once.
        let (status, member) = get(b, &format!("/t/{topic}.json"), &site.auth[1]).unwrap();
        assert!(
            status == 200 && member.contains(&title),
            "{status}: {member}"
        );
        // Guests: once the change has reached the other server.
        while !guest_latest(b).contains(&title) {
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "round {round}: the other server's guests never saw the topic"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        delays.push(written.elapsed());
    }
    delays.sort();
    eprintln!(
        "two servers: a topic posted through one reached the other's guests after \
         p50 {:?}, p99 {:?}, max {:?} ({ROUNDS} topics)",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays[delays.len() - 1],
    );
}

#[test]
fn two_servers_on_one_database_survive_kills() {
    let kills: usize = std::env::var("HEARTH_TWO_SERVERS_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let binary = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = backend::test_database(dir.path(), "two");
    let site = setup(&db);
    let (smtp_port, mail) = smtp_sink();
    let server = |addr: &Arc<RwLock<Option<SocketAddr>>>| Server {
        binary: binary.clone(),
        db: db.clone(),
        community: site.community,
        extra: vec![smtp_port.to_string()],
        child: None,
        addr: addr.clone(),
    };
    let addrs = [Arc::new(RwLock::new(None)), Arc::new(RwLock::new(None))];
    let mut first = server(&addrs[0]);
    let mut second = server(&addrs[1]);
    first.start();
    second.start();

    propagation(
        &site,
        addr_of(&addrs[0]).unwrap(),
        addr_of(&addrs[1]).unwrap(),
    );

    // Part 2: replies through both while the first is killed again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeMap::<String, i64>::new()));
    let failovers = Arc::new(Mutex::new(0u64));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (addrs, stop, acked, failovers) = (
                addrs.clone(),
                stop.clone(),
                acked.clone(),
                failovers.clone(),
            );
            let auth = site.auth[i].clone();
            let topic = site.topic;
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let marker = format!("crash-{i:02}-{n:06}-end");
                    let body = format!("{{\"topic_id\": {topic}, \"raw\": \"Reply {marker}.\"}}");
                    let started = Instant::now();
                    // Half the clients start on each server.
                    let mut on = i % 2;
                    loop {
                        assert!(
                            started.elapsed() < Duration::from_secs(120),
                            "{marker}: no answer in two minutes"
                        );
                        let answer = match addr_of(&addrs[on]) {
                            Some(a) => post(a, &auth, &format!("k-{marker}"), &body),
                            None => Err(std::io::Error::other("server down")),
                        };
                        match answer {
                            Ok((200, text, _)) => {
                                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                                let id = v["id"].as_i64().expect("post id");
                                let before = acked.lock().unwrap().insert(marker.clone(), id);
                                assert!(before.is_none(), "{marker} acknowledged twice");
                                break;
                            }
                            // Down, or still running in a process that
                            // died (409), or busy: the other server.
                            Ok((409 | 503, _, _)) | Err(_) => {
                                on = 1 - on;
                                *failovers.lock().unwrap() += 1;
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            Ok((429, text, _)) => {
                                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                                let wait = v["extras"]["wait_seconds"].as_u64().unwrap_or(1);
                                std::thread::sleep(Duration::from_secs(wait));
                            }
                            Ok((status, text, _)) => {
                                panic!("{marker}: unexpected {status}: {text}")
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let mut rand = process::kill_timer(0x9e37_79b9_7f4a_7c15_u64);
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(150 + rand() % 400));
        first.kill();
        std::thread::sleep(Duration::from_millis(rand() % 200));
        first.start();
    }
    std::thread::sleep(Duration::from_millis(200));
    // The last kill: from here on the second server is alone.
    first.kill();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }

    // Every acknowledged reply exactly once, nothing nobody was told of.
    let acked = acked.lock().unwrap().clone();
    let mut stored: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, _, source) in stored_posts(&db) {
        let start = source.find("crash-").unwrap();
        let end = source[start..].find("-end").unwrap() + start + 4;
        stored
            .entry(source[start..end].to_string())
            .or_default()
            .push(id);
    }
    for (marker, id) in &acked {
        assert_eq!(stored.get(marker), Some(&vec![*id]), "{marker}");
    }
    let unacked: Vec<_> = stored.keys().filter(|m| !acked.contains_key(*m)).collect();
    assert!(
        unacked.is_empty(),
        "replies nobody was told about: {unacked:?}"
    );
    assert!(
        acked.len() >= kills,
        "too little load: {} replies",
        acked.len()
    );

    // The survivor's e-mail jobs take over (the dead server's lease lapses
    // after 2 s) and deliver every e-mail written.
    let waiting = |db: &str| {
        scalar(
            db,
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending')
                  + (SELECT count(*) FROM notifications WHERE email = 'pending')",
        )
    };
    let since = Instant::now();
    while waiting(&db) > 0 {
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the second server did not take over the e-mail jobs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took_over = since.elapsed();
    // (Rows marked `skipped` record a period with nothing to send.)
    let written = scalar(&db, "SELECT count(*) FROM outbox WHERE status <> 'skipped'");
    let sent = scalar(&db, "SELECT count(*) FROM outbox WHERE status = 'sent'");
    assert_eq!(
        sent,
        written,
        "every e-mail written was delivered; {} failed, {} suppressed",
        scalar(&db, "SELECT count(*) FROM outbox WHERE status = 'failed'"),
        scalar(
            &db,
            "SELECT count(*) FROM outbox WHERE status = 'suppressed'"
        ),
    );
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in mail.lock().unwrap().iter() {
        let id = m
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("a Message-ID")
            .trim()
            .to_string();
        *by_id.entry(id).or_default() += 1;
    }
    // One distinct Message-ID per outbox entry (ids are not dense on
    // PostgreSQL: a retried transaction skips sequence values).
    let community = site.community;
    for id in by_id.keys() {
        let n = id
            .strip_prefix("<outbox-")
            .and_then(|r| r.strip_suffix(&format!("-{community}@hearth>")));
        assert!(
            n.is_some_and(|n| n.parse::<i64>().is_ok()),
            "not an outbox entry's Message-ID: {id}"
        );
    }
    assert_eq!(
        by_id.len() as i64,
        written,
        "every outbox entry arrived, under its own Message-ID"
    );
    let again: usize = by_id.values().map(|n| n - 1).sum();
    assert!(
        again <= kills + 1,
        "{again} messages delivered again, more than one per kill"
    );
    drop(second);
    eprintln!(
        "two servers: {kills} kills of one server under load, {} replies acknowledged \
         ({} fail-overs to the other server), {written} e-mails written and delivered \
         ({again} delivered again under their own Message-ID); the survivor finished \
         the e-mail jobs {took_over:?} after the last kill",
        acked.len(),
        failovers.lock().unwrap(),
    );
}
