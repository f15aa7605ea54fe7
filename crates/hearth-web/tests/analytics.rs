//! The analytics page and its JSON: staff only, charts drawn as SVG.

mod common;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn staff_see_figures_and_charts() {
    let f = fixture();
    assert_eq!(
        send(&f.app, get("/admin/analytics")).await.status,
        StatusCode::FORBIDDEN
    );
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(
        bob.get("/admin/analytics").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&f.app, get("/admin/analytics.json").acting(&f, "bob"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get("/admin/analytics?days=7").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.matches("<svg class=\"chart\"").count(), 2);
    assert!(page.body.contains("Active members and posts per day"));
    assert!(page.body.contains("Top contributors"));
    // The fixture: ann, ada, bob are members; three topics and an answer today.
    let v = send(
        &f.app,
        get("/admin/analytics.json?days=7").acting(&f, "ann"),
    )
    .await
    .json();
    assert_eq!(v["members"], 3);
    assert_eq!(v["topics"], 3);
    assert_eq!(v["posts"], 4);
    assert_eq!(v["questions"], 1);
    assert_eq!(v["solved"], 1);
    assert_eq!(v["daily"].as_array().expect("daily").len(), 7);
    assert_eq!(v["top_contributors"][0]["user"]["username"], "ann");
    let r = ann.get("/admin/analytics?days=13").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
