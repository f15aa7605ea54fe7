//! Plugins on the pages: render slots where they belong (the escape-hatch
//! footer on every page, error pages included) and plugin routes mounted.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::*;
use hearth::Actor;
use hearth_wasm::Capability;
use serde_json::json;

fn with_plugins() -> Fixture {
    fixture_with_plugins(|host, community| {
        for name in ["escape-hatch", "leaderboard"] {
            host.install_dir(plugin_dir(name)).expect("install");
        }
        host.enable(
            &Actor::System,
            community,
            "escape-hatch",
            &[Capability::Settings, Capability::Read, Capability::Now],
        )
        .expect("enable");
        host.configure(
            &Actor::System,
            community,
            "escape-hatch",
            BTreeMap::from([
                ("url".to_string(), json!("https://help.acme.test/ticket")),
                ("email".to_string(), json!("help@acme.test")),
            ]),
        )
        .expect("configure");
        host.enable(
            &Actor::System,
            community,
            "leaderboard",
            &[
                Capability::Kv,
                Capability::Read,
                Capability::Settings,
                Capability::Now,
                Capability::Log,
            ],
        )
        .expect("enable");
        host.deliver_events().expect("deliver");
    })
}

#[tokio::test]
async fn the_escape_hatch_footer_is_on_every_page_including_errors() {
    let f = with_plugins();
    for (path, status) in [
        ("/".to_string(), StatusCode::OK),
        (format!("/t/x/{}", f.public_topic.0), StatusCode::OK),
        ("/search?q=key".to_string(), StatusCode::OK),
        ("/login".to_string(), StatusCode::OK),
        (format!("/t/x/{}", f.staff_topic.0), StatusCode::NOT_FOUND),
        ("/nowhere".to_string(), StatusCode::NOT_FOUND),
    ] {
        let r = send(&f.app, get(&path)).await;
        assert_eq!(r.status, status, "{path}");
        assert!(
            r.body.contains("class=\"plugin plugin-escape-hatch\"")
                && r.body.contains("https://help.acme.test/ticket"),
            "{path}: no escape-hatch footer in {}",
            r.body
        );
    }
    // JSON answers carry no HTML.
    let r = send(&f.app, get("/nowhere.json")).await;
    assert!(!r.body.contains("escape-hatch"));
}

#[tokio::test]
async fn plugin_routes_are_mounted_and_linked() {
    let f = with_plugins();
    let home = send(&f.app, get("/")).await;
    assert!(
        home.body.contains("href=\"/plugins/leaderboard\""),
        "nav link"
    );
    assert!(home.body.contains("plugin-leaderboard"), "sidebar widget");
    let r = send(&f.app, get("/plugins/leaderboard")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Powered by Hearth"), "inside the layout");
    let r = send(&f.app, get("/plugins/leaderboard/json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    );
    serde_json::from_str::<serde_json::Value>(&r.body).expect("JSON body");
    // Not installed, or installed but not a route: 404.
    assert_eq!(
        send(&f.app, get("/plugins/nope")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, get("/plugins/escape-hatch")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn admins_manage_plugins_from_the_admin_screen() {
    let f = with_plugins();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get("/admin").await;
    assert!(
        page.body.contains("escape-hatch") && page.body.contains("calls"),
        "status shown"
    );
    let r = ann
        .submit(
            "/admin",
            "/admin/plugins/escape-hatch/configure",
            &[
                ("setting[url]", "https://help.acme.test/v2"),
                ("setting[email]", ""),
                ("setting[phone]", ""),
                ("setting[hours]", "24/7"),
                ("setting[stuck-after-hours]", "12"),
                ("setting[site-url]", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        send(&f.app, get("/"))
            .await
            .body
            .contains("https://help.acme.test/v2")
    );
    let r = ann
        .submit(
            "/admin",
            "/admin/plugins/escape-hatch/configure",
            &[("setting[stuck-after-hours]", "soon")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bad value is refused"
    );
    let r = ann
        .submit("/admin", "/admin/plugins/escape-hatch/disable", &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !send(&f.app, get("/"))
            .await
            .body
            .contains("plugin-escape-hatch")
    );
    let r = ann
        .submit("/admin", "/admin/plugins/escape-hatch/enable", &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        send(&f.app, get("/"))
            .await
            .body
            .contains("plugin-escape-hatch")
    );
    // Members cannot.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = bob
        .submit("/", "/admin/plugins/escape-hatch/disable", &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
