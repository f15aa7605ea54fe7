//! Hostile input over HTTP: each test closes a class of abuse, not only
//! the example that found it.

mod common;

use axum::http::Method;
use common::*;
use hearth::{Actor, BadgeTier, CategoryKind, NewBadge, NewCategory, NewReply, NewTopic};
use serde_json::Value;

/// Payloads that run script if a client inserts them as HTML.
const PAYLOADS: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "\"><svg onload=alert(3)>",
    "<a href=\"javascript:alert(4)\">x</a>",
    "<iframe srcdoc='<script>alert(5)</script>'>",
];

/// Fields Discourse's clients insert as HTML. Every other string field is
/// text, which clients escape themselves.
const HTML_FIELDS: &[&str] = &[
    "fancy_title",
    "topic_title_headline",
    "excerpt",
    "blurb",
    "cooked",
    "bio_cooked",
    "bio_excerpt",
    "description",
    "description_excerpt",
];

/// Every element in an HTML field is one the post renderer may produce
/// (plus `<mark>` in search excerpts), and no attribute is a handler.
fn check_html(path: &str, html: &str) -> Result<(), String> {
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let tag = &rest[i + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name != "mark" && !hearth::ALLOWED_TAGS.contains(&name.as_str()) {
            return Err(format!("{path}: element <{name}> in {html:?}"));
        }
        let end = tag.find('>').unwrap_or(tag.len());
        let inside = tag[..end].to_ascii_lowercase();
        if inside.contains(" on") || inside.contains("javascript:") {
            return Err(format!("{path}: handler or script URL in {html:?}"));
        }
        rest = &tag[end..];
    }
    Ok(())
}

/// Walks a JSON document: HTML fields are checked; text fields that carry
/// a payload must carry it verbatim (not escaped twice, not dropped).
fn walk(path: &str, v: &Value, errors: &mut Vec<String>, text_hits: &mut usize) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}.{k}");
                if let Value::String(s) = v
                    && HTML_FIELDS.contains(&k.as_str())
                {
                    if let Err(e) = check_html(&here, s) {
                        errors.push(e);
                    }
                    continue;
                }
                walk(&here, v, errors, text_hits);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk(&format!("{path}[{i}]"), v, errors, text_hits);
            }
        }
        Value::String(s) => {
            if PAYLOADS.iter().any(|p| s.contains(p)) {
                *text_hits += 1;
            }
            if s.contains("&lt;img") || s.contains("&amp;lt;") {
                errors.push(format!("{path}: text field escaped as HTML: {s:?}"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn html_fields_are_safe_and_text_fields_stay_text_in_every_api_document() {
    let f = fixture();
    let admin = Actor::User(f.admin);
    let ada = Actor::User(f.ada);
    let mut topics = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let cat = f
            .forum
            .create_category(
                &admin,
                f.community,
                NewCategory::new(
                    &format!("evil-{i}"),
                    &format!("Cat {p}"),
                    CategoryKind::Discussion,
                )
                .description(&format!("About {p} here")),
            )
            .expect("category");
        let (t, first) = f
            .forum
            .create_topic(
                &ada,
                f.community,
                NewTopic {
                    category: cat.id,
                    title: format!("Zebra {p} question {i}"),
                    body: format!("zebra body with {p} and `{p}` and @bob"),
                    tags: vec![],
                },
            )
            .expect("topic");
        f.forum
            .reply(
                &Actor::User(f.bob),
                f.community,
                t.id,
                NewReply {
                    body: format!("zebra reply {p}"),
                    reply_to: None,
                },
            )
            .expect("reply");
        topics.push((cat, t, first.id));
        f.forum
            .create_badge(
                &admin,
                f.community,
                NewBadge {
                    slug: format!("evil-{i}"),
                    name: format!("Badge {p}"),
                    description: format!("Earned by {p}"),
                    icon: "star".into(),
                    tier: BadgeTier::Bronze,
                    multiple: false,
                },
            )
            .expect("badge");
        f.forum
            .grant_badge(&admin, f.community, &format!("evil-{i}"), f.ada, None, "")
            .expect("grant");
    }
    f.forum
        .update_profile(
            &Actor::System,
            f.ada,
            hearth::ProfileUpdate {
                display_name: Some("Ada <img src=x onerror=alert(1)>".into()),
                bio: Some(PAYLOADS.join(" ")),
                location: Some(PAYLOADS[0].chars().take(100).collect()),
                ..Default::default()
            },
        )
        .expect("profile");

    let mut uris = vec![
        "/latest.json".to_string(),
        "/categories.json".to_string(),
        "/search.json?q=zebra".to_string(),
        "/u/ada.json".to_string(),
        "/user_badges/ada.json".to_string(),
        "/directory_items.json".to_string(),
        "/notifications.json".to_string(),
    ];
    for (cat, t, first) in &topics {
        uris.push(format!("/c/{}/{}.json", cat.slug, cat.id.0));
        uris.push(format!("/t/{}.json", t.id.0));
        uris.push(format!("/t/{}/posts.json", t.id.0));
        uris.push(format!("/posts/{}.json", first.0));
    }
    let mut errors = Vec::new();
    let mut text_hits = 0;
    for who in ["ada", "bob", "ann"] {
        for uri in &uris {
            let r = send(&f.app, get(uri).acting(&f, who)).await;
            assert_eq!(r.status, 200, "{uri} as {who}: {}", r.body);
            walk(uri, &r.json(), &mut errors, &mut text_hits);
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The payloads did reach the documents, as text.
    assert!(
        text_hits > 50,
        "only {text_hits} text fields carried a payload"
    );
}

#[test]
fn the_checker_catches_raw_html() {
    assert!(check_html("x", "Zebra <img src=x onerror=alert(1)>").is_err());
    assert!(check_html("x", "<p onclick=\"x\">a</p>").is_err());
    assert!(check_html("x", "a &lt;img src=x onerror=alert(1)&gt;").is_ok());
    assert!(check_html("x", "<p>a <mark>b</mark></p>").is_ok());
}

/// A reply naming a post that is not in the topic is 422 with the field,
/// for a number past the end, zero and negative numbers; nothing posted.
#[tokio::test]
async fn replies_to_missing_posts_are_unprocessable() {
    let f = fixture();
    let topic = f.public_topic.0.to_string();
    for n in ["999", "0", "-1"] {
        let r = send(
            &f.app,
            req(Method::POST, "/posts.json")
                .acting(&f, "bob")
                .json(serde_json::json!({
                    "topic_id": topic, "raw": "a reply to nothing",
                    "reply_to_post_number": n,
                })),
        )
        .await;
        assert_eq!(r.status, 422, "{n}: {}", r.body);
        assert!(r.body.contains("no post of this topic"), "{n}: {}", r.body);
    }
    let posts = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(posts["posts_count"], 2);
}

/// Invalid UTF-8 in a path, a query or a form body is a 400 with the code
/// `invalid_utf8`, as JSON or as a page, and nothing is written.
#[tokio::test]
async fn invalid_utf8_anywhere_is_a_400_with_a_code() {
    let f = fixture();
    for uri in [
        "/t/%FF.json",
        "/u/%C3.json",
        "/search.json?q=%FF",
        "/latest.json?page=%E2%82",
        "/c/%ED%A0%80/1.json",
    ] {
        let r = send(&f.app, get(uri)).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.body);
        assert_eq!(r.json()["error_code"], "invalid_utf8", "{uri}");
    }
    let page = send(&f.app, get("/search?q=caf%E9")).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not valid UTF-8"), "{}", page.body);
    assert!(page.body.contains("<html"), "an error page: {}", page.body);
    let topic = f.public_topic.0.to_string();
    let form = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "bob").raw(
            "application/x-www-form-urlencoded",
            format!("topic_id={topic}&raw=caf%E9+au+lait"),
        ),
    )
    .await;
    assert_eq!(form.status, 400, "{}", form.body);
    assert_eq!(form.json()["error_code"], "invalid_utf8");
    let raw_bytes = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "bob").raw(
            "application/x-www-form-urlencoded",
            [b"raw=caf".as_slice(), &[0xE9], b"&topic_id=1"].concat(),
        ),
    )
    .await;
    assert_eq!(raw_bytes.status, 400, "{}", raw_bytes.body);
    let t = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(t["posts_count"], 2, "nothing was posted");
    // Valid UTF-8, percent-encoded, still works.
    let ok = send(&f.app, get("/search.json?q=caf%C3%A9")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

/// The write lock held by another process (a backup, a second server)
/// answers 503 with Retry-After and the code `busy` once the busy timeout
/// has passed, nothing is written, and the same request then succeeds.
#[tokio::test]
async fn a_busy_database_is_a_503_with_retry_after() {
    let f = fixture();
    let topic = f.public_topic.0.to_string();
    let reply = || {
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .json(serde_json::json!({"topic_id": topic, "raw": "a reply while busy"}))
    };
    let other = f.hold_writes();
    let r = send(&f.app, reply()).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["error_code"], "busy");
    assert!(
        r.header("retry-after").parse::<u64>().is_ok_and(|s| s >= 1),
        "{:?}",
        r.headers
    );
    other.release();
    let r = send(&f.app, reply()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(t["posts_count"], 3, "one reply, not two");
}

/// `Limits::engine_calls` at its boundary: with one turn, a read waits for
/// a write that waits on the database (here for the write lock another
/// process holds, until the 300 ms busy timeout); with two, the read is
/// answered while the write still waits (a busy timeout of a minute, the
/// lock held until the read's answer, so no timing decides the outcome).
/// Either way both are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_calls_beyond_the_limit_wait_their_turn() {
    for turns in [1, 2] {
        let busy_timeout = if turns == 1 {
            SHORT_BUSY_TIMEOUT
        } else {
            std::time::Duration::from_secs(60)
        };
        let f = fixture_waiting(busy_timeout, |c| c.limits.engine_calls = turns);
        let app = f.app.clone();
        let reply = req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .json(serde_json::json!({"topic_id": f.public_topic.0, "raw": "a reply while busy"}));
        let other = f.hold_writes();
        let write_sent = std::time::Instant::now();
        let write = tokio::spawn(async move { send(&app, reply).await.status });
        // The write has its turn and waits for the lock.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let read = send(&f.app, get("/latest.json").acting(&f, "ada")).await;
        let read_done = std::time::Instant::now();
        assert_eq!(read.status, 200, "{}", read.body);
        if turns == 1 {
            let status = write.await.expect("the write finished");
            assert_eq!(status, 503, "the write gave up on the lock");
            other.release();
            // The write holds the only turn while it waits out the busy
            // timeout; the read is answered after that. (Not after the
            // write's answer: what the write does after its engine call
            // may come after the read's.)
            assert!(
                read_done - write_sent >= SHORT_BUSY_TIMEOUT,
                "one turn: the read waited ({:?})",
                read_done - write_sent
            );
        } else {
            assert!(
                !write.is_finished(),
                "two turns: the write still waits for the lock the test holds"
            );
            other.release();
            let status = write.await.expect("the write finished");
            assert_eq!(status, 200, "the write went in once the lock was free");
        }
    }
}

/// Reading never waits for the write lock, whoever reads: while another
/// process holds it (with a busy timeout of a minute), guests, a member
/// signed in with a cookie and an API key are answered — and whatever a
/// read records on the side (page views, visits, the key's last use) is
/// written afterwards, not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_never_wait_for_the_write_lock() {
    let f = fixture_waiting(std::time::Duration::from_secs(60), |_| {});
    let mut member = Browser::new(&f);
    let r = member.sign_in("ada").await;
    assert!(r.status.is_redirection(), "{}", r.body);
    let topic = f.public_topic.0;
    let page = send(&f.app, get(&format!("/t/{topic}")))
        .await
        .header("location");
    let other = f.hold_writes();
    // Far below the busy timeout: a read that waited for the lock fails.
    let answered = |what: &'static str, r: Reply| {
        assert_eq!(r.status, 200, "{what}: {}", r.body);
    };
    let within = std::time::Duration::from_secs(30);
    for uri in ["/", "/latest.json", &format!("/t/{topic}.json"), &page] {
        let r = tokio::time::timeout(within, send(&f.app, get(uri)))
            .await
            .expect("a guest's read waited for the lock");
        answered("guest", r);
        let r = tokio::time::timeout(within, member.get(uri))
            .await
            .expect("a member's read waited for the lock");
        answered("member", r);
        let r = tokio::time::timeout(within, send(&f.app, get(uri).acting(&f, "bob")))
            .await
            .expect("an API key's read waited for the lock");
        answered("api key", r);
    }
    let r = tokio::time::timeout(
        within,
        send(&f.app, get("/search.json?q=reply").acting(&f, "bob")),
    )
    .await
    .expect("a search waited for the lock");
    answered("search", r);
    other.release();
    f.web.flush_views();
    let admin = Actor::User(f.admin);
    let keys = f.web.api_keys(&admin).expect("keys");
    assert!(
        keys.iter().any(|k| k.last_used_at.is_some()),
        "the key's use was written after the lock was free: {keys:?}"
    );
}

/// Guessing a password from one address locks that address out of that
/// account, not the owner at another address; guesses from many addresses
/// slow the account down for everyone instead of locking it.
#[tokio::test]
async fn brute_force_does_not_lock_the_owner_out() {
    let f = fixture_with(|c| {
        c.trust_forwarded_for = true;
        c.limits.sign_in_per_account = 3;
        c.limits.sign_in_per_ip = 100;
        c.limits.sign_in_account_slowdown = std::time::Duration::from_secs(600);
    });
    async fn attempt(f: &Fixture, ip: &str, password: &str) -> Reply {
        let mut b = Browser::new(f);
        let page = b.send(get("/login").header("X-Forwarded-For", ip)).await;
        let token = Browser::token_in(&page.body);
        b.send(
            req(Method::POST, "/login")
                .header("X-Forwarded-For", ip)
                .form(&[
                    ("authenticity_token", token.as_str()),
                    ("login", "bob"),
                    ("password", password),
                ]),
        )
        .await
    }
    // The attacker at one address: three failures, then locked out there.
    for _ in 0..3 {
        assert_eq!(attempt(&f, "203.0.113.9", "guess!guess!").await.status, 401);
    }
    let r = attempt(&f, "203.0.113.9", PASSWORD).await;
    assert_eq!(r.status, 429, "the attacker's address is locked for bob");
    // The account is now slowed down: one attempt per slow-down interval
    // from anywhere. The owner's first attempt from home takes that slot.
    let home = attempt(&f, "198.51.100.4", PASSWORD).await;
    assert_eq!(
        home.status, 303,
        "the owner signs in from home: {}",
        home.body
    );
    // Success clears the account's failures: the next attempt from another
    // address is not slowed down.
    let r = attempt(&f, "192.0.2.1", "guess!guess!").await;
    assert_eq!(r.status, 401);
    // A spray from many addresses: after 3 failures in all, one attempt
    // per interval, whoever makes it.
    for ip in ["192.0.2.2", "192.0.2.3"] {
        assert_eq!(attempt(&f, ip, "guess!guess!").await.status, 401);
    }
    assert_eq!(
        attempt(&f, "192.0.2.4", "guess!guess!").await.status,
        401,
        "takes the slot"
    );
    let r = attempt(&f, "192.0.2.5", "guess!guess!").await;
    assert_eq!(r.status, 429, "slowed down");
    assert!(!r.header("retry-after").is_empty());
}

/// Slow-loris: 300 connections that never finish their headers neither
/// hold the server nor stay open past the header timeout; connections are
/// capped; an idle kept-alive connection is closed; a trickled body is 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_half_open_connections_do_not_hold_the_server() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let f = fixture_with(|c| {
        c.limits.body_timeout = Duration::from_secs(1);
    });
    let router = f.web.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = hearth_web::ServerLimits {
        max_connections: 64,
        header_timeout: Duration::from_secs(1),
    };
    tokio::spawn(hearth_web::serve_with(listener, router, limits));

    let connect = move || {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s
    };
    let client = tokio::task::spawn_blocking(move || {
        // 300 half-open connections: a request line and one header, then
        // silence.
        let mut loris = Vec::new();
        for _ in 0..300 {
            let mut s = connect();
            s.write_all(b"GET /latest.json HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            loris.push(s);
        }
        // A real client still gets its answer: slots free as the header
        // timeout closes the slow ones.
        let started = Instant::now();
        let mut s = connect();
        s.write_all(b"GET /latest.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        s.read_to_string(&mut answer)
            .expect("answered while 300 connections dangle");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        eprintln!(
            "answered after {:?} with 300 half-open connections",
            started.elapsed()
        );
        // Every half-open connection is closed by the server (EOF or a
        // reset, not the 20 s read timeout).
        for mut s in loris {
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(n) => assert!(n == 0 || buf.starts_with(b"HTTP/1.1 "), "{n} bytes"),
                Err(e) => assert!(
                    !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ),
                    "a half-open connection stayed open"
                ),
            }
        }

        // An idle kept-alive connection is closed after the timeout.
        let mut s = connect();
        s.write_all(b"GET /latest.json HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut buf = vec![0u8; 1 << 16];
        let n = s.read(&mut buf).expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        let idle = Instant::now();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(
            idle.elapsed() < Duration::from_secs(5),
            "an idle keep-alive connection stayed open"
        );

        // A body trickled slower than the body timeout: 408, then closed.
        let mut s = connect();
        s.write_all(
            b"POST /posts.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"raw\":",
        )
        .expect("write");
        let mut out = String::new();
        let started = Instant::now();
        let _ = s.read_to_string(&mut out);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a trickled body held the connection"
        );
        assert!(out.starts_with("HTTP/1.1 408"), "{out}");
        assert!(out.contains("request_timeout"), "{out}");
    });
    client.await.expect("client");
}

/// Over https the session and CSRF cookies are `Secure` and `__Host-`
/// prefixed — whether the origin says https or a trusted proxy does — and
/// a plain-http cookie of the same name is not read; over http they are
/// plain, and an untrusted `X-Forwarded-Proto` changes nothing.
#[tokio::test]
async fn cookies_are_secure_and_host_prefixed_over_https() {
    async fn sign_in(f: &Fixture, proto: Option<&str>) -> Reply {
        let mut b = Browser::new(f);
        let with = |r: Req| match proto {
            Some(p) => r.header("X-Forwarded-Proto", p),
            None => r,
        };
        let page = b.send(with(get("/login"))).await;
        let token = Browser::token_in(&page.body);
        b.send(with(req(Method::POST, "/login").form(&[
            ("authenticity_token", token.as_str()),
            ("login", "bob"),
            ("password", PASSWORD),
        ])))
        .await
    }
    let cookies = |r: &Reply| -> Vec<String> {
        r.headers
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    };
    // Behind a trusted proxy that says https.
    let proxied = fixture_with(|c| c.trust_forwarded_for = true);
    let r = sign_in(&proxied, Some("https")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let set = cookies(&r);
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-hearth_session="))
        .unwrap_or_else(|| panic!("{set:?}"));
    assert!(
        session.contains("; Secure") && session.contains("Path=/;") && !session.contains("Domain")
    );
    // The same proxy saying http: plain cookies.
    let r = sign_in(&proxied, Some("http")).await;
    assert!(
        cookies(&r)
            .iter()
            .any(|c| c.starts_with("hearth_session=") && !c.contains("Secure"))
    );
    // An https origin.
    let https = fixture_with(|c| c.public_origin = Some("https://community.example.com".into()));
    let r = sign_in(&https, None).await;
    let token = r
        .cookie("__Host-hearth_session")
        .unwrap_or_else(|| panic!("{:?}", cookies(&r)));
    // The prefixed cookie signs in; the unprefixed name is not read.
    let private = format!("/t/{}.json", https.member_topic.0);
    let me = send(
        &https.app,
        get(&private).header("Cookie", &format!("__Host-hearth_session={token}")),
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let plain = send(
        &https.app,
        get(&private).header("Cookie", &format!("hearth_session={token}")),
    )
    .await;
    assert_eq!(
        plain.status, 404,
        "an unprefixed cookie was read over https"
    );
    // No proxy trusted: the header is ignored.
    let direct = fixture();
    let r = sign_in(&direct, Some("https")).await;
    assert!(
        cookies(&r)
            .iter()
            .all(|c| !c.contains("__Host-") && !c.contains("Secure"))
    );
}

/// Scoped API keys: a read-only key reads and cannot write; a
/// topics:write key posts but cannot edit, like or read users; an unknown
/// scope is refused at creation; each key's last use is recorded, and a
/// use recorded after a revocation does not undo it.
#[tokio::test]
async fn api_keys_are_scoped_and_their_last_use_recorded() {
    let f = fixture();
    let admin = hearth::Actor::User(f.admin);
    assert!(
        f.web
            .create_scoped_api_key(&admin, None, "x", &["topics:everything"])
            .is_err()
    );
    let (read_key, _) = f
        .web
        .create_scoped_api_key(&admin, None, "dashboards", &["read"])
        .expect("key");
    let (write_key, _) = f
        .web
        .create_scoped_api_key(&admin, None, "bot", &["topics:write", "topics:read"])
        .expect("key");
    let topic = f.public_topic.0;
    let as_bob = |r: Req, key: &str| r.header("Api-Key", key).header("Api-Username", "bob");
    let post = || {
        req(Method::POST, "/posts.json")
            .json(serde_json::json!({"topic_id": topic, "raw": "A scoped reply, hello."}))
    };
    // Read-only.
    for uri in [
        "/latest.json",
        "/u/bob.json",
        &format!("/t/{topic}.json"),
        "/search.json?q=key",
    ] {
        let r = send(&f.app, as_bob(get(uri), &read_key)).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
    }
    let r = send(&f.app, as_bob(post(), &read_key)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error_code"], "api_scope");
    // Topics only.
    let r = send(&f.app, as_bob(post(), &write_key)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("post id");
    let edit = req(Method::PUT, &format!("/posts/{id}.json"))
        .json(serde_json::json!({"post": {"raw": "Edited by a bot without the scope."}}));
    assert_eq!(send(&f.app, as_bob(edit, &write_key)).await.status, 403);
    let like = req(Method::POST, "/post_actions.json")
        .json(serde_json::json!({"id": f.public_answer.0, "post_action_type_id": 2}));
    assert_eq!(send(&f.app, as_bob(like, &write_key)).await.status, 403);
    assert_eq!(
        send(&f.app, as_bob(get("/u/bob.json"), &write_key))
            .await
            .status,
        403
    );
    assert_eq!(
        send(&f.app, as_bob(get("/latest.json"), &write_key))
            .await
            .status,
        200
    );
    // Last use, shown to admins (written with the page views).
    f.web.flush_views();
    let keys = f.web.api_keys(&admin).expect("keys");
    let used = keys.iter().filter(|k| k.last_used_at.is_some()).count();
    assert!(used >= 2, "{keys:?}");
    let unused = keys
        .iter()
        .find(|k| k.description == "integration")
        .expect("fixture key");
    assert!(unused.scopes.is_empty(), "old keys stay global");
    // A use counted before a revocation and written after it leaves the
    // key revoked.
    let (late_key, late) = f
        .web
        .create_scoped_api_key(&admin, None, "late", &["read"])
        .expect("key");
    let r = send(&f.app, as_bob(get("/latest.json"), &late_key)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    f.web.revoke_api_key(&admin, &late.id).expect("revoke");
    f.web.flush_views();
    let listed = f.web.api_keys(&admin).expect("keys");
    let listed = listed.iter().find(|k| k.id == late.id).expect("listed");
    assert!(
        listed.revoked_at.is_some() && listed.last_used_at.is_some(),
        "{listed:?}"
    );
    let r = send(&f.app, as_bob(get("/latest.json"), &late_key)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error_code"], "invalid_api_key");
}

/// A member lists their sessions and ends one; changing the password ends
/// every other session (this browser stays signed in), and only the new
/// password works afterwards.
#[tokio::test]
async fn members_list_and_end_sessions_and_a_new_password_ends_the_others() {
    let f = fixture();
    let private = format!("/t/{}.json", f.member_topic.0);
    let mut laptop = Browser::new(&f);
    let mut phone = Browser::new(&f);
    assert_eq!(laptop.sign_in("bob").await.status, 303);
    assert_eq!(phone.sign_in("bob").await.status, 303);
    assert_eq!(phone.get(&private).await.status, 200);
    let page = laptop.get("/u/bob/security").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body.matches("Since <time").count(), 2, "{}", page.body);
    assert!(page.body.contains("this browser"));
    // Someone else's page is not there.
    assert_eq!(laptop.get("/u/ada/security").await.status, 404);
    // End the phone's session from the laptop.
    let marker = "/u/bob/sessions/";
    let at = page.body.find(marker).expect("an end form") + marker.len();
    let id: String = page.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let r = laptop
        .submit("/u/bob/security", &format!("/u/bob/sessions/{id}/end"), &[])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        phone.get(&private).await.status,
        404,
        "the phone was signed out"
    );
    assert_eq!(laptop.get(&private).await.status, 200, "the laptop was not");
    // A wrong current password changes nothing.
    assert_eq!(phone.sign_in("bob").await.status, 303);
    let r = laptop
        .submit(
            "/u/bob/security",
            "/u/bob/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(phone.get(&private).await.status, 200);
    let r = laptop
        .submit(
            "/u/bob/security",
            "/u/bob/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        phone.get(&private).await.status,
        404,
        "other sessions ended"
    );
    assert_eq!(
        laptop.get(&private).await.status,
        200,
        "this browser stays signed in"
    );
    let mut again = Browser::new(&f);
    assert_eq!(
        again.sign_in("bob").await.status,
        401,
        "the old password no longer works"
    );
    let r = again
        .submit(
            "/login",
            "/login",
            &[("login", "bob"), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(r.status, 303);
}
