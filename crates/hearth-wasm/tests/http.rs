//! Outbound HTTP from plugins (API 0.2, capability `http`) against a
//! small server the test runs on loopback: what the operator allows is
//! reached; loopback, private, link-local and metadata addresses are
//! refused (also when a name resolves to them), plain HTTP only when the
//! operator allows it, redirects are not followed, a huge answer and a
//! slow one are stopped within their limits, renders may not call out,
//! and the operator narrows the hosts per community.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{World, http_answer};
use hearth::Actor;
use hearth_wasm::{Capability, Error, Hook, HostConfig, PageContext, Slot};
use serde_json::json;

/// A loopback server: `/ok` answers "hello", `/huge` 2 MiB, `/slow`
/// after 3 s, `/redirect` a 302 to the metadata address.
fn server() -> (u16, common::Seen) {
    common::loopback_server(|path, _| match path {
        "/ok" => http_answer("200 OK", "Content-Type: text/plain\r\n", b"hello"),
        "/huge" => http_answer("200 OK", "", &vec![b'x'; 2 << 20]),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            http_answer("200 OK", "", b"late")
        }
        "/redirect" => http_answer(
            "302 Found",
            "Location: http://169.254.169.254/latest/meta-data/\r\n",
            b"",
        ),
        _ => http_answer("404 Not Found", "", b"no"),
    })
}

fn world(port: u16, plain: bool) -> World {
    let w = World::with_config(HostConfig {
        background_deadline: Duration::from_secs(1),
        http_plain: plain,
        http_private_hosts: vec![format!("127.0.0.1:{port}")],
        ..HostConfig::default()
    });
    w.install_fixture("hostile");
    w.grant_hostile(&[Capability::Http]);
    w
}

/// Points the fixture at `url`, runs its schedule, and says what came of
/// the request (as the plugin stored it) and how the call ended.
fn fetch(w: &World, url: &str) -> (String, Result<(), Error>) {
    w.host
        .configure(
            &Actor::System,
            w.community,
            "hostile",
            BTreeMap::from([
                ("mode".to_string(), json!("http")),
                ("url".to_string(), json!(url)),
            ]),
        )
        .unwrap();
    w.forum
        .ext_apply(
            "plugin:hostile",
            Some(w.community),
            &[hearth::ExtOp::Delete { key: "http".into() }],
        )
        .unwrap();
    let run = w
        .host
        .run_hook(
            &Actor::System,
            w.community,
            "hostile",
            Hook::OnSchedule,
            &json!({}),
        )
        .unwrap();
    let stored = w
        .forum
        .ext_get("plugin:hostile", Some(w.community), "http")
        .unwrap()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    (stored, run.result.map(|_| ()))
}

fn api_0_2() -> bool {
    common::api_version() == "0.2.0"
}

#[test]
fn only_what_the_operator_allows_is_reached_and_internal_addresses_never() {
    if !api_0_2() {
        return;
    }
    let (port, seen) = server();
    let w = world(port, true);
    // The service the operator named explicitly (loopback, a test's).
    let (got, end) = fetch(&w, &format!("http://127.0.0.1:{port}/ok"));
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(got, "status 200 body hello");
    // Everything else inside is refused before anything is sent: another
    // loopback port, a name resolving to loopback, IPv6 loopback, a private
    // and the metadata address — each named in the manifest.
    for url in [
        format!("http://127.0.0.1:{}/ok", port.wrapping_add(1).max(1)),
        format!("http://localhost:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
        "http://10.0.0.1/".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ] {
        let (got, end) = fetch(&w, &url);
        assert!(end.is_ok(), "a refusal is not a failure: {end:?}");
        assert!(
            got.starts_with("error denied:") && got.contains("internal address"),
            "{url}: {got}"
        );
    }
    // A host the manifest does not name.
    let (got, _) = fetch(&w, "https://evil.example/steal");
    assert!(got.contains("not among the hosts"), "{got}");
    // A redirect to the metadata address is handed back, not followed.
    let before = seen.lock().unwrap().len();
    let (got, _) = fetch(&w, &format!("http://127.0.0.1:{port}/redirect"));
    assert!(got.starts_with("status 302"), "{got}");
    assert_eq!(
        seen.lock().unwrap().len(),
        before + 1,
        "one request, no second"
    );
    // A huge answer is cut off at the cap; the call still ends well.
    let (got, end) = fetch(&w, &format!("http://127.0.0.1:{port}/huge"));
    assert!(end.is_ok());
    assert!(
        got.starts_with("error invalid:") && got.contains("larger than"),
        "{got}"
    );
    // A slow one is stopped at the call's 1 s deadline: the plugin hears
    // `unavailable` (or, had it gone on working, the call would have been
    // interrupted), well before the server's 3 s.
    let started = Instant::now();
    let (got, end) = fetch(&w, &format!("http://127.0.0.1:{port}/slow"));
    let stopped = matches!(end, Err(Error::Timeout { .. }))
        || got.contains("did not answer within the call's time");
    assert!(stopped, "{got} {end:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    // Counted in the plugin's status.
    let status = w.host.status("hostile").unwrap();
    assert_eq!(status.counters.http_requests, 10);
    assert_eq!(status.counters.http_failures, 8);
}

#[test]
fn https_only_unless_allowed_and_never_from_renders() {
    if !api_0_2() {
        return;
    }
    let (port, _) = server();
    let w = world(port, false);
    // An https page that redirects to http would be the downgrade; plain
    // http is refused outright while the operator has not allowed it.
    let (got, _) = fetch(&w, &format!("http://127.0.0.1:{port}/ok"));
    assert!(got.contains("https only"), "{got}");
    // A render may not call out (and may not store either).
    let fragments = w.host.render(
        &Actor::User(w.alice),
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert!(
        fragments[0].html.contains("error denied:")
            && fragments[0].html.contains("never while a page renders"),
        "{}",
        fragments[0].html
    );
    // The operator narrows the plugin's hosts in this community.
    let w = world(port, true);
    w.host
        .limit_http_hosts(
            &Actor::System,
            w.community,
            "hostile",
            Some(vec!["10.0.0.1".into()]),
        )
        .unwrap();
    let (got, _) = fetch(&w, &format!("http://127.0.0.1:{port}/ok"));
    assert!(got.contains("not among the hosts"), "{got}");
    let err = w
        .host
        .limit_http_hosts(
            &Actor::System,
            w.community,
            "hostile",
            Some(vec!["api.example.com".into()]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("do not name it"), "{err}");
    w.host
        .limit_http_hosts(&Actor::System, w.community, "hostile", None)
        .unwrap();
    let (got, _) = fetch(&w, &format!("http://127.0.0.1:{port}/ok"));
    assert_eq!(got, "status 200 body hello");
    // A member may not narrow anything.
    assert!(
        w.host
            .limit_http_hosts(&Actor::User(w.alice), w.community, "hostile", None)
            .is_err()
    );
}
