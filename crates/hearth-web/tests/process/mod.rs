//! Server processes for the tests that kill them (`crash.rs`,
//! `two_servers.rs`): building the release `crash_server`, starting and
//! killing it, plain HTTP/1.1 requests on fresh connections, and an SMTP
//! server to deliver to (`smtp.rs` too).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Builds the server in release mode; its path.
pub fn server_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "hearth-web",
        "--example",
        "crash_server",
    ]);
    if cfg!(feature = "postgres") {
        build.args(["--features", "postgres"]);
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the crash server failed");
    // CARGO_TARGET_TMPDIR is `<target>/tmp`.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    target.join("release/examples/crash_server")
}

/// A `crash_server` process (or none, between a kill and a start).
pub struct Server {
    pub binary: PathBuf,
    pub db: String,
    pub community: i64,
    /// More arguments (the SMTP port).
    pub extra: Vec<String>,
    pub child: Option<Child>,
    /// Where it listens while it runs; `None` while it is down.
    pub addr: Arc<RwLock<Option<SocketAddr>>>,
}

impl Server {
    pub fn start(&mut self) {
        let mut child = Command::new(&self.binary)
            .arg(&self.db)
            .arg(self.community.to_string())
            .args(&self.extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .parse()
            .expect("address");
        *self.addr.write().unwrap() = Some(addr);
        self.child = Some(child);
    }

    pub fn kill(&mut self) {
        *self.addr.write().unwrap() = None;
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One request on a fresh connection: status, head and body, or an I/O
/// error (the server died, or was not there).
pub fn request(addr: SocketAddr, head: &str, body: &str) -> std::io::Result<(u16, String, String)> {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let req = format!(
        "{head}Host: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("cut-off response"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    // `Connection: close` without a length: the body runs to the end; with
    // one, a short body means the server died mid-answer.
    if let Some(len) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    }) && body.len() < len
    {
        return Err(std::io::Error::other("cut-off body"));
    }
    Ok((status, head.to_string(), body.to_string()))
}

/// A GET (`auth`: header lines, or empty for a guest): status and body.
pub fn get(addr: SocketAddr, path: &str, auth: &str) -> std::io::Result<(u16, String)> {
    request(addr, &format!("GET {path} HTTP/1.1\r\n{auth}"), "").map(|(s, _, b)| (s, b))
}

/// `POST /posts.json` with an `Idempotency-Key`: status, body, and
/// whether the answer was a stored one replayed.
pub fn post(
    addr: SocketAddr,
    auth: &str,
    key: &str,
    body: &str,
) -> std::io::Result<(u16, String, bool)> {
    let (status, head, body) = request(
        addr,
        &format!(
            "POST /posts.json HTTP/1.1\r\n{auth}Idempotency-Key: {key}\r\n\
             Content-Type: application/json\r\n"
        ),
        body,
    )?;
    let replayed = head
        .to_ascii_lowercase()
        .contains("idempotent-replayed: true");
    Ok((status, body, replayed))
}

/// A small SMTP server on a free port of 127.0.0.1 that keeps every
/// message it accepts; speaks just enough SMTP; rejects `nobody@` (550)
/// and `busy@` (451).
pub fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            // A thread per connection: senders may keep theirs open.
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut out = stream.try_clone().expect("clone");
                let mut lines = BufReader::new(stream);
                let _ = out.write_all(b"220 test ESMTP\r\n");
                let mut data = String::new();
                let mut in_data = false;
                loop {
                    let mut line = String::new();
                    if lines.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            seen.lock().expect("lock").push(std::mem::take(&mut data));
                            let _ = out.write_all(b"250 queued\r\n");
                        } else {
                            data.push_str(&line);
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO:<NOBODY@") {
                        b"550 5.1.1 no such user\r\n"
                    } else if upper.starts_with("RCPT TO:<BUSY@") {
                        b"451 4.3.0 try again later\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = out.write_all(reply);
                }
            });
        }
    });
    (port, got)
}

/// Every post the clients made (id, topic, source), after checking the
/// SQLite file's integrity.
pub fn stored_posts(db: &str) -> Vec<(i64, i64, String)> {
    const SQL: &str = "SELECT id, topic_id, source FROM posts WHERE source LIKE '%crash-%-end%'";
    if db.starts_with("postgres") {
        #[cfg(feature = "postgres")]
        {
            let mut c = postgres::Client::connect(db, postgres::NoTls).unwrap();
            return c
                .query(SQL, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
        }
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn.prepare(SQL).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// One number from the database (`SELECT count(*) …`).
pub fn scalar(db: &str, sql: &str) -> i64 {
    if db.starts_with("postgres") {
        #[cfg(feature = "postgres")]
        {
            let mut c = postgres::Client::connect(db, postgres::NoTls).unwrap();
            return c.query_one(sql, &[]).unwrap().get(0);
        }
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A small random sequence (xorshift) for kill timings, seeded by the
/// process id so runs differ.
pub fn kill_timer(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed ^ u64::from(std::process::id());
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
