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

#[tokio::test]
async fn request_ids_are_answered_and_logged() {
    let f = fixture();
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("hearth_web=debug"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
