//! The private-beta demo: closed while invite-only, then hybrid — public
//! playbooks and Q&A (in the sitemap), a private founders' room, and join
//! requests instead of invites.

use std::sync::Arc;

use demo_kit::testing::{StatusCode, get};
use hearth::{Actor, RegistrationMode};
use private_beta::{Phase, SLUG, seed_phase, switch_to_hybrid};

#[tokio::test]
async fn invite_only_then_hybrid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.db");
    seed_phase(&path, 1, Phase::InviteOnly, &mut |_, _, _| {}).expect("seed");
    let forum = Arc::new(hearth::Forum::open(&path).expect("open"));
    let c = forum
        .community_by_slug(&Actor::System, SLUG)
        .expect("community");
    assert_eq!(c.settings.registration, RegistrationMode::InviteOnly);
    let founder = Actor::User(forum.user_by_username("sam_founder").expect("founder").id);
    let missing = demo_kit::testing::liveliness(&forum, c.id, &founder).expect("read");
    assert!(missing.is_empty(), "the circle looks alive: {missing:#?}");
    let web = demo_kit::web(
        forum.clone(),
        None,
        c.id,
        Some("https://circle.example.com".into()),
    )
    .expect("web");
    let app = web.router();
    // Closed: guests see nothing, sign-up needs an invite, robots stay out.
    assert_eq!(
        get(&app, "/latest.json", None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, signup) = get(&app, "/signup", None).await;
    assert!(signup.contains("invite-only"));
    let (_, robots) = get(&app, "/robots.txt", None).await;
    assert!(robots.contains("Disallow: /\n"));
    let (key, _) = web
        .create_api_key(&Actor::System, None, "test")
        .expect("key");
    let (status, latest) = get(&app, "/latest.json", Some((&key, "anna_berg"))).await;
    assert_eq!(status, StatusCode::OK, "invited members read everything");
    assert!(latest.contains("Founders"));

    // The switch.
    let owner = forum.user_by_username("sam_founder").expect("founder").id;
    switch_to_hybrid(&forum, &Actor::User(owner), c.id).expect("switch");
    let (status, latest) = get(&app, "/latest.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        latest.contains("Cold email")
            || latest.contains("practitioner")
            || latest.contains("touches")
    );
    assert!(
        !latest.contains("Founders"),
        "the founders' room stays private"
    );
    let (_, home) = get(&app, "/", None).await;
    assert!(
        home.contains("started invite-only") && home.contains("request to join"),
        "the home page says the circle opened up"
    );
    let (_, sitemap) = get(&app, "/sitemap.xml", None).await;
    assert!(sitemap.contains("https://circle.example.com/c/playbooks/"));
    assert!(!sitemap.contains("founding-members"));
    let (_, signup) = get(&app, "/signup", None).await;
    assert!(
        !signup.contains("invite-only"),
        "newcomers may sign up and ask to join"
    );
}
