//! The review queue and the admin screen, through their forms.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn only_admins_reach_the_admin_screen() {
    let f = fixture();
    assert_eq!(
        send(&f.app, get("/admin")).await.status,
        StatusCode::FORBIDDEN
    );
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(bob.get("/admin").await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.get("/review").await.status, StatusCode::FORBIDDEN);
    // A forged admin form from a member changes nothing.
    let r = bob
        .submit("/", "/admin/categories", &[("name", "Hijack")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann.get("/admin").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Staff room") && r.body.contains("API keys"));
    assert!(
        !r.body.contains(&f.global_key),
        "keys are never shown again"
    );
}

#[tokio::test]
async fn admins_shape_the_community_through_forms() {
    let f = fixture();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann
        .submit(
            "/admin",
            "/admin/categories",
            &[
                ("name", "Product Ideas"),
                ("kind", "ideas"),
                ("visibility", "public"),
                ("description", "Vote on what we build"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = send(&f.app, get("/categories.json")).await.json();
    assert!(
        v["category_list"]["categories"]
            .as_array()
            .expect("cats")
            .iter()
            .any(|c| c["slug"] == "product-ideas"),
        "{v}"
    );

    // A watched word blocks posts until it is removed.
    let r = ann
        .submit(
            "/admin",
            "/admin/words",
            &[
                ("pattern", "cheapwatches"),
                ("action", "block"),
                ("reason", "spam"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let spam = json!({"topic_id": f.public_topic.0, "raw": "buy cheapwatches today, great deals"});
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .json(spam.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let page = ann.get("/admin").await.body;
    let at = page.find("/delete\"").expect("remove form");
    let id = page[..at]
        .rsplit("/admin/words/")
        .next()
        .expect("id")
        .to_string();
    let r = ann
        .submit("/admin", &format!("/admin/words/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .json(spam),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Closing the community to guests.
    let r = ann
        .submit(
            "/admin",
            "/admin/settings",
            &[
                ("name", "Acme Community"),
                ("registration", "InviteOnly"),
                ("base_url", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        send(&f.app, get(&format!("/t/x/{}", f.public_topic.0)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = send(&f.app, get("/signup")).await;
    assert!(r.body.contains("invite-only"));
    // The files members may attach: as the form leaves them (a form from
    // before the field existed changes nothing).
    let kinds = |f: &common::Fixture| {
        f.forum
            .community(&hearth::Actor::System, f.community)
            .expect("community")
            .settings
            .limits
            .attachments
    };
    assert_eq!(
        kinds(&f),
        [hearth::AttachmentKind::Pdf, hearth::AttachmentKind::Text]
    );
    let page = ann.get("/admin").await.body;
    assert!(
        page.contains("name=\"attach_pdf\" value=\"1\" checked"),
        "{page}"
    );
    assert!(page.contains("name=\"attach_zip\" value=\"1\">"), "{page}");
    let r = ann
        .submit(
            "/admin",
            "/admin/settings",
            &[
                ("name", "Acme Community"),
                ("registration", "InviteOnly"),
                ("attachments_shown", "1"),
                ("attach_zip", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(kinds(&f), [hearth::AttachmentKind::Zip]);
    let composer = ann.get("/new-topic").await.body;
    assert!(composer.contains("or a file (ZIP)"), "{composer}");
    assert!(composer.contains("application/zip,.zip\""), "{composer}");

    // API keys: shown once on creation, then only by id; revocable.
    let r = ann
        .submit(
            "/admin",
            "/admin/api-keys",
            &[("description", "zapier"), ("username", "bob")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let marker = "copy it now): <code>";
    let at = r.body.find(marker).expect("key shown") + marker.len();
    let key = r.body[at..at + 64].to_string();
    let me = send(&f.app, get("/session/csrf.json").header("Api-Key", &key)).await;
    assert_eq!(me.status, StatusCode::OK);
    let page = ann.get("/admin").await.body;
    assert!(!page.contains(&key));
    let item = &page[page.find("zapier").expect("listed")..];
    let at = item.find("/admin/api-keys/").expect("revoke form") + "/admin/api-keys/".len();
    let id: String = item[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(id.len(), 8);
    let r = ann
        .submit("/admin", &format!("/admin/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&f.app, get("/latest.json").header("Api-Key", &key))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "a revoked key"
    );
}

#[tokio::test]
async fn held_posts_wait_in_the_review_queue_until_approved() {
    let f = fixture();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    ann.submit(
        "/admin",
        "/admin/words",
        &[
            ("pattern", "refund"),
            ("action", "require_approval"),
            ("reason", "billing questions go to support"),
        ],
    )
    .await;
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "bob").json(
            json!({"topic_id": f.public_topic.0, "raw": "Can I get a refund for last month?"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["action"], "enqueued");
    let topic = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    assert_eq!(
        topic["post_stream"]["posts"]
            .as_array()
            .expect("posts")
            .len(),
        2,
        "not published yet"
    );
    let queue = ann.get("/review").await;
    assert!(queue.body.contains("Can I get a refund"), "{}", queue.body);
    let at = queue.body.find("/review/").expect("form") + "/review/".len();
    let id: String = queue.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let r = ann
        .submit(
            "/review",
            &format!("/review/{id}"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let topic = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    assert_eq!(
        topic["post_stream"]["posts"]
            .as_array()
            .expect("posts")
            .len(),
        3,
        "published"
    );
    assert!(
        ann.get("/review")
            .await
            .body
            .contains("Nothing waits for review")
    );
}

#[tokio::test]
async fn admins_download_an_export_that_imports() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(bob.get("/admin/export").await.status, StatusCode::FORBIDDEN);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann.get("/admin/export").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"acme.jsonl\""
    );
    assert!(
        r.body
            .lines()
            .next()
            .expect("header")
            .contains("hearth-community-export")
    );
    assert!(r.body.contains("How do I rotate my API key?"));
    assert!(!r.body.contains("$argon2id$"), "no password hashes");
    let dir = tempfile::tempdir().expect("dir");
    let other = hearth::Forum::open(test_database(dir.path(), "copy")).expect("open");
    let copy = other
        .import_community(r.body.as_bytes(), "acme", &mut |_, _| {})
        .expect("import");
    let mut again = Vec::new();
    other
        .export_community(&hearth::Actor::System, copy, &mut again, &mut |_, _| {})
        .expect("export");
    assert_eq!(String::from_utf8(again).expect("utf-8"), r.body);
}
