//! A soak over real TCP: 64 keep-alive connections of mixed reads and
//! writes (spread over 16 topics) against `serve_with`; no server error
//! may occur. Short in CI
//! (10 s); by hand: `HEARTH_SOAK_SECS=600 cargo test --release -p
//! hearth-web --test soak -- --nocapture` prints p50/p99 and memory.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// One request on a kept-alive connection; the status.
fn request(
    conn: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> std::io::Result<u16> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: soak\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.get_mut().write_all(req.as_bytes())?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        conn.read_line(&mut h)?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body)?;
    Ok(status)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_connections_of_mixed_reads_and_writes() {
    let secs: u64 = std::env::var("HEARTH_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(hearth_web::serve_with(
        listener,
        f.web.router(),
        hearth_web::ServerLimits::default(),
    ));
    // Writes and topic reads spread over 16 topics (one hot topic would
    // measure re-serialising it more than the server).
    let mut topics = vec![f.public_topic.0];
    for i in 1..16 {
        let (t, _) = f
            .forum
            .create_topic(
                &hearth::Actor::User(f.ada),
                f.community,
                hearth::NewTopic {
                    category: f.qa.id,
                    title: format!("Soak topic number {i}"),
                    body: format!("How do I rotate key number {i}?"),
                    tags: vec![],
                },
            )
            .expect("topic");
        topics.push(t.id.0);
    }
    let topics = Arc::new(topics);
    let key = f.global_key.clone();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let clients = tokio::task::spawn_blocking({
        let latencies = latencies.clone();
        let statuses = statuses.clone();
        move || {
            let threads: Vec<_> = (0..64)
                .map(|i| {
                    let key = key.clone();
                    let topics = topics.clone();
                    let latencies = latencies.clone();
                    let statuses = statuses.clone();
                    std::thread::spawn(move || {
                        let mut conn = BufReader::new(TcpStream::connect(addr).expect("connect"));
                        let who = ["ada", "bob", "ann"][i % 3];
                        let auth = format!("Api-Key: {key}\r\nApi-Username: {who}\r\n");
                        let mut n = 0u64;
                        let mut mine = Vec::new();
                        let mut seen = std::collections::BTreeMap::new();
                        while Instant::now() < deadline {
                            n += 1;
                            let topic = topics[(i + n as usize) % topics.len()];
                            let started = Instant::now();
                            let status = match n % 10 {
                                0 | 5 => request(
                                    &mut conn,
                                    "POST",
                                    "/posts.json",
                                    &format!("{auth}Content-Type: application/json\r\n"),
                                    &format!(
                                        "{{\"topic_id\": {topic}, \"raw\": \"Soak reply {i}-{n}: the key rotated fine.\"}}"
                                    ),
                                ),
                                1 => request(&mut conn, "GET", &format!("/t/{topic}.json"), &auth, ""),
                                2 => request(&mut conn, "GET", "/search.json?q=rotate", "", ""),
                                3 => request(&mut conn, "GET", &format!("/t/x/{topic}"), "", ""),
                                4 => request(&mut conn, "GET", "/latest.json", &auth, ""),
                                _ => request(&mut conn, "GET", "/latest.json", "", ""),
                            };
                            let status = match status {
                                Ok(s) => s,
                                Err(_) => {
                                    // The server closed the connection: count it and reconnect.
                                    conn = BufReader::new(TcpStream::connect(addr).expect("reconnect"));
                                    0
                                }
                            };
                            mine.push(started.elapsed());
                            *seen.entry(status).or_insert(0u64) += 1;
                        }
                        latencies.lock().expect("latencies").extend(mine);
                        let mut all = statuses.lock().expect("statuses");
                        for (s, c) in seen {
                            *all.entry(s).or_insert(0) += c;
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().expect("client thread");
            }
        }
    });
    clients.await.expect("clients");
    let mut l = latencies.lock().expect("latencies").clone();
    l.sort();
    let statuses = statuses.lock().expect("statuses").clone();
    let total = l.len();
    let pct = |p: f64| l[((total as f64 * p) as usize).min(total - 1)];
    eprintln!(
        "soak {secs} s: {total} requests ({:.0}/s), p50 {:?}, p99 {:?}, max {:?}, statuses {statuses:?}, RSS {:.0} MiB",
        total as f64 / secs as f64,
        pct(0.50),
        pct(0.99),
        l[total - 1],
        rss_mib()
    );
    let server_errors: u64 = statuses
        .iter()
        .filter(|(s, _)| **s >= 500 || **s == 0)
        .map(|(_, c)| c)
        .sum();
    assert_eq!(
        server_errors, 0,
        "server errors or dropped connections: {statuses:?}"
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
}
