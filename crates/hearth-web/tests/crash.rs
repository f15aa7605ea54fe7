//! The crash test: a release build of a bare server (`examples/crash_server`)
//! is killed with SIGKILL again and again while eight clients post topics
//! and replies over HTTP, each retrying with the same `Idempotency-Key`
//! until it gets an answer. Afterwards every acknowledged post exists
//! exactly once (with the id the client was given), no post exists that no
//! client holds, and (SQLite) `PRAGMA integrity_check` is ok. With
//! `HEARTH_TEST_BACKEND=postgres` the server runs on PostgreSQL.
//!
//! CI kills 20 times; by hand: `HEARTH_CRASH_KILLS=1000 cargo test -p
//! hearth-web --test crash -- --nocapture` (figures in
//! `docs/reliability.md`). The test builds the server itself (`cargo build
//! --release -p hearth-web --example crash_server`); `cargo xtask test`
//! builds it beforehand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use process::{Server, post, server_binary, stored_posts};

use hearth::{
    Actor, CategoryKind, CommunitySettings, Forum, NewCategory, NewCommunity, NewTopic, NewUser,
    Role,
};
use hearth_web::{Web, WebConfig};

#[path = "../../hearth/tests/common/backend.rs"]
mod backend;

const CLIENTS: usize = 8;

#[derive(Debug, Default)]
struct Tally {
    /// marker → (post id, topic id) the client was given.
    acked: BTreeMap<String, (i64, i64)>,
    /// Requests whose answer was lost and that were sent again.
    retried: u64,
    /// Answers that were replays of a stored response.
    replayed: u64,
    /// Rate-limited attempts (waited for, then sent again).
    limited: u64,
}

#[test]
fn sigkill_under_write_load_loses_and_duplicates_nothing() {
    let kills: usize = std::env::var("HEARTH_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let binary = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = backend::test_database(dir.path(), "crash");

    // The community, a member per client with an API key, a topic to
    // reply to.
    let (community, category, topic, keys) = {
        let forum = Arc::new(Forum::open(&db).unwrap());
        let owner = forum.create_user(NewUser::new("olivia")).unwrap();
        let c = forum
            .create_community(
                &Actor::System,
                NewCommunity {
                    slug: "crash".into(),
                    name: "Crash".into(),
                    owner: Some(owner.id),
                    settings: CommunitySettings::for_bulk_writes(),
                },
            )
            .unwrap()
            .id;
        let owner = Actor::User(owner.id);
        let members: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let u = forum
                    .create_user(NewUser::new(&format!("client_{i}")))
                    .unwrap();
                forum.add_member(&owner, c, u.id, Role::Member).unwrap();
                u
            })
            .collect();
        let cat = forum
            .create_category(
                &owner,
                c,
                NewCategory::new("q", "Questions", CategoryKind::Discussion),
            )
            .unwrap();
        let (topic, _) = forum
            .create_topic(
                &Actor::User(members[0].id),
                c,
                NewTopic {
                    category: cat.id,
                    title: "Where the replies go".into(),
                    body: "Replies of the crash test land here.".into(),
                    tags: vec![],
                },
            )
            .unwrap();
        let web = Web::new(forum, None, WebConfig::new(c)).unwrap();
        let keys: Vec<String> = members
            .iter()
            .map(|m| web.create_api_key(&owner, Some(m.id), "crash").unwrap().0)
            .collect();
        (c.0, cat.id.0, topic.id.0, keys)
    };

    let addr = Arc::new(RwLock::new(None));
    let mut server = Server {
        binary,
        db: db.clone(),
        community,
        extra: Vec::new(),
        child: None,
        addr: addr.clone(),
    };
    server.start();

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let sent = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (addr, stop, tally, sent) = (addr.clone(), stop.clone(), tally.clone(), sent.clone());
            let auth = format!("Api-Key: {}\r\nApi-Username: client_{i}\r\n", keys[i]);
            std::thread::spawn(move || {
                let mut n = 0u64;
                // Replies go to the client's newest topic (the rate limits
                // per topic are real).
                let mut topic = topic;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let marker = format!("crash-{i:02}-{n:06}-end");
                    let key = format!("k-{marker}");
                    // One in five creates a topic, the rest reply.
                    let body = if n.is_multiple_of(5) {
                        format!(
                            "{{\"title\": \"Crash topic {marker}\", \"raw\": \"Opened by {marker}.\", \"category\": {category}}}"
                        )
                    } else {
                        format!("{{\"topic_id\": {topic}, \"raw\": \"Reply {marker}.\"}}")
                    };
                    let mut attempts = 0u32;
                    let started = Instant::now();
                    loop {
                        attempts += 1;
                        assert!(
                            started.elapsed() < Duration::from_secs(120),
                            "{marker}: no answer in two minutes"
                        );
                        sent.fetch_add(1, Ordering::Relaxed);
                        let current = *addr.read().unwrap();
                        let answer = match current {
                            Some(a) => post(a, &auth, &key, &body),
                            None => Err(std::io::Error::other("server down")),
                        };
                        match answer {
                            Ok((200, text, replayed)) => {
                                let v: serde_json::Value =
                                    serde_json::from_str(&text).expect("post JSON");
                                let id = v["id"].as_i64().expect("post id");
                                let topic_id = v["topic_id"].as_i64().expect("topic id");
                                topic = topic_id;
                                let mut t = tally.lock().unwrap();
                                if attempts > 1 {
                                    t.retried += 1;
                                }
                                if replayed {
                                    t.replayed += 1;
                                }
                                let before = t.acked.insert(marker.clone(), (id, topic_id));
                                assert!(before.is_none(), "{marker} acknowledged twice");
                                break;
                            }
                            // Still running in a process that died, or
                            // the database was busy: try again.
                            Ok((409 | 503, _, _)) | Err(_) => {
                                std::thread::sleep(Duration::from_millis(15));
                            }
                            // A rate limit: wait as told, then try again.
                            Ok((429, text, _)) => {
                                let v: serde_json::Value =
                                    serde_json::from_str(&text).expect("429 JSON");
                                let wait = v["extras"]["wait_seconds"].as_u64().unwrap_or(1);
                                tally.lock().unwrap().limited += 1;
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

    // Kill at random moments: a mix of short and longer lives, so some
    // kills land while requests are in flight and some during start-up.
    let mut rand = process::kill_timer(0x2545_f491_4f6c_dd1d_u64);
    for k in 0..kills {
        std::thread::sleep(Duration::from_millis(20 + rand() % 250));
        // Each kill lands under load: wait (a little) for the clients to
        // get something through since the last one — after a kill, retries
        // of the requests it cut off are told 409 until their in-flight
        // marks lapse.
        let before = tally.lock().unwrap().acked.len();
        let waiting = Instant::now();
        while tally.lock().unwrap().acked.len() == before
            && waiting.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        server.start();
        if k % 100 == 99 {
            eprintln!("{} kills", k + 1);
        }
    }
    // Let every client get its last post acknowledged.
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    server.kill();

    let tally = tally.lock().unwrap();
    let mut stored: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let rows = stored_posts(&db);
    for (id, topic, source) in rows {
        let start = source.find("crash-").unwrap();
        let end = source[start..].find("-end").unwrap() + start + 4;
        stored
            .entry(source[start..end].to_string())
            .or_default()
            .push((id, topic));
    }
    for (marker, ids) in &tally.acked {
        let found = stored.get(marker).cloned().unwrap_or_default();
        assert_eq!(
            found,
            vec![*ids],
            "{marker}: acknowledged as {ids:?}, stored as {found:?}"
        );
    }
    let unacked: Vec<_> = stored
        .keys()
        .filter(|m| !tally.acked.contains_key(*m))
        .collect();
    assert!(
        unacked.is_empty(),
        "posts nobody was told about: {unacked:?}"
    );
    eprintln!(
        "crash test: {kills} kills, {} requests sent, {} posts acknowledged, \
         {} after a lost answer ({} of them replayed from the response store), \
         {} rate-limited attempts",
        sent.load(Ordering::Relaxed),
        tally.acked.len(),
        tally.retried,
        tally.replayed,
        tally.limited,
    );
    assert!(tally.acked.len() >= kills, "too little load: {tally:?}");
}
