//! The knowledge base through pages: writing and publishing, promotion of
//! a solved thread, revisions, helpful votes, search click-throughs.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, CategoryKind, NewCategory};

fn kb_category(f: &Fixture) -> hearth::Category {
    f.forum
        .create_category(
            &Actor::User(f.admin),
            f.community,
            NewCategory::new("kb", "Knowledge base", CategoryKind::KnowledgeBase),
        )
        .expect("kb")
}

#[tokio::test]
async fn write_publish_vote_and_find_from_search() {
    let f = fixture();
    let kb = kb_category(&f);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let form = ann.get(&format!("/kb/new?category={}", kb.id.0)).await;
    assert_eq!(form.status, StatusCode::OK);
    let cat = kb.id.0.to_string();
    let r = ann
        .submit(
            "/kb/new",
            "/kb/new",
            &[
                ("category_id", &cat),
                ("title", "Rotating webhook secrets"),
                (
                    "body",
                    "Generate a new secret, deploy it, then revoke the old one.",
                ),
                ("publish", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let edit = r.header("location");
    assert!(
        edit.starts_with("/kb/") && edit.ends_with("/edit"),
        "{edit}"
    );
    // Guests find it in the library, ranked, and on its category page.
    let lib = send(&f.app, get("/kb")).await;
    assert!(
        lib.body.contains("Rotating webhook secrets"),
        "{}",
        lib.body
    );
    assert!(
        !lib.body.contains("edit</a>"),
        "no editing links for guests"
    );
    let cat_page = send(&f.app, get(&format!("/c/kb/{}", kb.id.0))).await;
    assert!(cat_page.body.contains("Rotating webhook secrets"));
    let v = send(&f.app, get("/kb.json")).await.json();
    let article = &v["articles"][0];
    let topic_url = article["url"].as_str().expect("url").to_string();
    // bob finds it helpful.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let moved = bob.get(&topic_url).await;
    assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
    let topic_url = moved.header("location");
    let page = bob.get(&topic_url).await;
    assert!(
        page.body.contains("Was this article helpful?"),
        "{}",
        page.body
    );
    let id = article["id"].as_i64().expect("id");
    let r = bob
        .submit(
            &topic_url,
            &format!("/kb/{id}/helpful"),
            &[("helpful", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let a = f
        .forum
        .article(&Actor::Guest, f.community, id)
        .expect("article");
    assert_eq!((a.helpful, a.not_helpful), (1, 0));
    // A search result leads there through a counted link.
    let results = send(&f.app, get("/search?q=webhook+secrets")).await;
    let marker = "href=\"/search/click?topic=";
    let at = results.body.find(marker).expect("counted link") + 6;
    let href =
        results.body[at..at + results.body[at..].find('"').expect("end")].replace("&amp;", "&");
    let r = send(&f.app, get(&href)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").contains("rotating-webhook-secrets"));
    assert_eq!(
        f.forum
            .article(&Actor::Guest, f.community, id)
            .expect("article")
            .search_clicks,
        1
    );
    // Members do not write articles.
    assert_eq!(bob.get("/kb/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.get(&edit).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn promote_a_solved_thread_then_revise_and_publish() {
    let f = fixture();
    kb_category(&f);
    let thread = f.topic_url(f.public_topic);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get(&thread).await;
    assert!(page.body.contains("Promote to the knowledge base"));
    // Members are not offered it, and a forged form fails.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert!(
        !bob.get(&thread)
            .await
            .body
            .contains("Promote to the knowledge base")
    );
    let kb_id = f
        .forum
        .categories(&Actor::System, f.community)
        .expect("cats")
        .into_iter()
        .find(|c| c.slug == "kb")
        .expect("kb")
        .id
        .0
        .to_string();
    let promote = format!("/t/{}/promote", f.public_topic.0);
    let r = bob
        .submit(&thread, &promote, &[("category_id", &kb_id)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = ann
        .submit(&thread, &promote, &[("category_id", &kb_id)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let edit = r.header("location");
    let editor = ann.get(&edit).await;
    assert!(editor.body.contains("## Answer"), "{}", editor.body);
    assert!(editor.body.contains("Draft — readers do not see it yet."));
    // The draft is invisible to guests; the thread tells staff about it.
    assert!(
        !send(&f.app, get("/kb"))
            .await
            .body
            .contains("How do I rotate my API key?")
    );
    assert!(
        ann.get(&thread)
            .await
            .body
            .contains("A draft article was started")
    );
    // Revise (saved as a draft), then publish revision 2.
    let r = ann
        .submit(
            &edit,
            &edit,
            &[
                ("title", "Rotating an API key"),
                (
                    "body",
                    "Revoke the old key under Settings, then create a new one.",
                ),
                ("note", "tightened"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let editor = ann.get(&edit).await;
    assert!(editor.body.contains("tightened"));
    let publish = edit.replace("/edit", "/publish");
    let r = ann.submit(&edit, &publish, &[("number", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let lib = send(&f.app, get("/kb")).await;
    assert!(lib.body.contains("Rotating an API key"), "{}", lib.body);
    let guest_thread = send(&f.app, get(&thread)).await;
    assert!(
        guest_thread
            .body
            .contains("This thread is now a knowledge-base article")
    );
}

/// An article takes a picture or a file as posts do, from the editor's
/// file field without JavaScript; readers get the picture and the file's
/// link.
#[tokio::test]
async fn an_article_carries_a_picture_and_a_file_from_the_editor() {
    let f = fixture();
    let kb = kb_category(&f);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let form = ann.get(&format!("/kb/new?category={}", kb.id.0)).await;
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    assert!(form.body.contains("id=\"kb-file\""), "{}", form.body);
    let token = Browser::token_in(&form.body);
    let cat = kb.id.0.to_string();
    let (ct, body) = multipart(
        ("setup-guide.pdf", b"%PDF-1.7\n% the setup guide\n%%EOF\n"),
        &[
            ("authenticity_token", &token),
            ("category_id", &cat),
            ("title", "Setting up single sign-on"),
            ("body", "The whole procedure, printable:"),
            ("publish", "1"),
        ],
    );
    let made = ann.send(req(Method::POST, "/kb/new").raw(&ct, body)).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let edit = made.header("location");
    let editor = ann.get(&edit).await.body;
    assert!(
        editor.contains("The whole procedure, printable:\n\n[setup-guide.pdf](/uploads/"),
        "{editor}"
    );
    // A new revision with a picture.
    let token = Browser::token_in(&editor);
    let (ct, body) = multipart(
        ("sso-screen.png", &sized_png(4, 4)),
        &[
            ("authenticity_token", &token),
            ("title", "Setting up single sign-on"),
            ("body", "The whole procedure, printable: see below."),
            ("publish", "1"),
        ],
    );
    let revised = ann.send(req(Method::POST, &edit).raw(&ct, body)).await;
    assert_eq!(revised.status, StatusCode::SEE_OTHER, "{}", revised.body);
    let v = send(&f.app, get("/kb.json")).await.json();
    let url = v["articles"][0]["url"].as_str().expect("url").to_string();
    let mut page = send(&f.app, get(&url)).await;
    if page.status == StatusCode::PERMANENT_REDIRECT {
        page = send(&f.app, get(&page.header("location"))).await;
    }
    assert!(
        page.body.contains("alt=\"sso-screen.png\""),
        "{}",
        page.body
    );
}
