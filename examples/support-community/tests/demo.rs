//! The demo seeds a realistic community and serves it: pages and the JSON
//! API answer, private areas stay private, the demo accounts sign in.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use support_community::{DEMO_PASSWORD, Options, SIGN_INS, SLUG, app, open, seed};
use tower::ServiceExt;

mod support;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn seeds_and_serves_a_support_community() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    let mut steps = 0;
    let seeded = seed(
        &path,
        Options {
            customers: 12,
            questions: 30,
        },
        &mut |_, _, _| steps += 1,
    )
    .expect("seed");
    assert!(steps >= 42, "progress is reported");
    assert!(
        seeded.topics >= 40 && seeded.posts > seeded.topics,
        "{seeded:?}"
    );

    let forum = Arc::new(open(&path).expect("open"));
    let community = forum
        .community_by_slug(&hearth::Actor::System, SLUG)
        .expect("community");
    for (user, _) in SIGN_INS {
        let login = forum
            .login(user)
            .expect("read")
            .unwrap_or_else(|| panic!("{user} has a login"));
        assert!(
            hearth_web::verify_password(DEMO_PASSWORD, &login.password_hash).expect("verify"),
            "{user}"
        );
    }
    let router = app(
        forum.clone(),
        None,
        community.id,
        Some("http://127.0.0.1:3000".into()),
    )
    .expect("app");
    let (status, home) = get(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    for name in [
        "Ledger Cloud Q&amp;A",
        "Knowledge Base",
        "From the Team",
        "Ideas",
    ] {
        assert!(home.contains(name), "{name} on the home page");
    }
    assert!(!home.contains("Employees Only") && !home.contains("Partner Lounge"));
    assert!(
        home.contains("class=\"welcome"),
        "the welcome says where to start"
    );
    let (status, latest) = get(&router, "/latest.json").await;
    assert_eq!(status, StatusCode::OK);
    let latest: serde_json::Value = serde_json::from_str(&latest).expect("json");
    let topics = latest["topic_list"]["topics"].as_array().expect("topics");
    assert_eq!(topics.len(), 30, "a full first page");
    assert!(topics.iter().any(|t| t["has_accepted_answer"] == true));
    let (_, sitemap) = get(&router, "/sitemap.xml").await;
    assert!(sitemap.matches("<loc>").count() > 40);
    assert!(!sitemap.contains("escalation"));
}

/// What a first visitor notices: activity up to the moment the server
/// starts, this week's leaderboard filled, views counted, no thread that
/// repeats a reply (`demo_kit::testing::liveliness`); and here also
/// questions still open, an idea under review, an article updated today.
#[test]
fn the_seeded_community_looks_alive() {
    use hearth::{Actor, PageRequest, TopicFilter};
    use time::{Duration, OffsetDateTime};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = support::seed_small(dir.path());
    let now = OffsetDateTime::now_utc();
    let forum = open(&path).expect("open");
    let community = forum
        .community_by_slug(&Actor::System, SLUG)
        .expect("community")
        .id;
    let admin = Actor::User(forum.user_by_username("maya").expect("maya").id);
    let missing = demo_kit::testing::liveliness(&forum, community, &admin).expect("read");
    assert!(missing.is_empty(), "{missing:#?}");
    let open_questions = forum
        .latest(
            &admin,
            community,
            &TopicFilter::default(),
            &PageRequest::first(100),
        )
        .expect("latest")
        .items
        .into_iter()
        .filter(|t| t.reply_count == 0 && !t.tags.is_empty() && t.tags[0] != "release")
        .count();
    assert!(open_questions >= 3, "questions still waiting for an answer");

    let ideas = forum
        .ideas(
            &Actor::Guest,
            community,
            &hearth::IdeaFilter::default(),
            &PageRequest::first(50),
        )
        .expect("ideas");
    assert!(
        ideas
            .items
            .iter()
            .any(|i| i.status == hearth::IdeaStatus::UnderReview),
        "an idea under review"
    );

    let articles = forum
        .articles(
            &Actor::Guest,
            community,
            None,
            false,
            &PageRequest::first(50),
        )
        .expect("articles");
    assert!(
        articles.items.iter().any(|a| a.latest_revision > 1
            && a.published_at
                .is_some_and(|at| now - at < Duration::days(1))),
        "an article updated in the last day"
    );
}
