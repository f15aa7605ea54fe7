//! Errors are diagnosable: every answer carries a request id, and the log
//! lines written while answering carry the same id.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

/// A log sink the test can read.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("sink").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test process, from the first call on.
fn log_sink() -> Sink {
    static SINK: std::sync::OnceLock<Sink> = std::sync::OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("hearth_web=debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        sink
    })
    .clone()
}

#[tokio::test]
async fn request_ids_are_answered_and_logged() {
    let f = fixture();
    // The process's subscriber, set once: a thread-local one misses
    // lines written on other threads (the blocking pool) and, while
    // another test runs, callsites cached as "never log here".
    let sink = log_sink();
    let ok = send(&f.app, get("/latest.json")).await;
    let missing = send(&f.app, get("/t/999999.json")).await;
    let given = send(
        &f.app,
        get("/latest.json").header("X-Request-Id", "proxy-42"),
    )
    .await;
    let hostile = send(
        &f.app,
        get("/latest.json").header("X-Request-Id", "a <script>b"),
    )
    .await;
    let log = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8 log");
    let mut ids = Vec::new();
    for r in [&ok, &missing, &given, &hostile] {
        let id = r.header("x-request-id");
        assert!(!id.is_empty(), "no request id on {}", r.status);
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("id={id}"))
                    && l.contains(&r.status.as_u16().to_string())),
            "no log line for {id} ({}):\n{log}",
            r.status
        );
        ids.push(id);
    }
    assert_eq!(ids[2], "proxy-42");
    assert_ne!(ids[0], ids[1]);
    assert!(!log.contains("<script>"), "a raw header reached the log");
}

/// Validation failures keep Discourse's shape and add a code per case and,
/// where there is one, the limit that was crossed.
#[tokio::test]
async fn validation_failures_carry_a_code_per_case_and_the_limit() {
    let f = fixture();
    let cat = f.qa.id.0;
    let topic =
        |title: &str, raw: &str| serde_json::json!({"title": title, "raw": raw, "category": cat});
    let ok_title = "A perfectly fine title";
    let ok_raw = "A perfectly fine body.";
    let cases: Vec<(serde_json::Value, &str, Option<u64>)> = vec![
        (
            topic(ok_title, &"x".repeat(32_001)),
            "post_too_long",
            Some(32_000),
        ),
        (topic("ab", ok_raw), "title_too_short", Some(3)),
        (topic(&"t".repeat(256), ok_raw), "title_too_long", Some(255)),
        (
            topic("Bell\u{7} in the title", ok_raw),
            "title_characters",
            None,
        ),
        (
            topic(ok_title, "<script>alert(1)</script>"),
            "post_blank",
            None,
        ),
        (
            topic(ok_title, &format!("{} deep", ">".repeat(17))),
            "post_too_deep",
            Some(16),
        ),
        (
            serde_json::json!({"title": ok_title, "raw": ok_raw, "category": cat,
                               "tags": ["a", "b", "c", "d", "e", "f"]}),
            "tags_too_many",
            Some(5),
        ),
        (
            serde_json::json!({"topic_id": f.public_topic.0, "raw": ok_raw,
                               "reply_to_post_number": 99}),
            "reply_to_post_number_invalid",
            None,
        ),
    ];
    for (body, code, limit) in cases {
        let r = send(
            &f.app,
            req(axum::http::Method::POST, "/posts.json")
                .acting(&f, "ada")
                .json(body),
        )
        .await;
        assert_eq!(r.status, 422, "{code}: {}", r.body);
        let v = r.json();
        assert_eq!(v["error_code"], code, "{}", r.body);
        assert_eq!(v["error_type"], "unprocessable_entity");
        assert!(v["errors"][0].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(v["extras"]["limit"].as_u64(), limit, "{code}: {}", r.body);
    }
}
