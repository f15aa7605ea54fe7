//! The ambassadors demo: points follow quality contributions, the
//! leaderboard ranks helpers, ranks are granted, private HQ stays private.

use std::sync::Arc;

use ambassadors::{RANKS, SLUG, seed};
use demo_kit::testing::{StatusCode, get};
use hearth::{Actor, Period};

#[tokio::test]
async fn points_leaderboard_and_ranks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.db");
    let (topics, posts) = seed(&path, 1, &mut |_, _, _| {}).expect("seed");
    assert!(
        topics > 120 && posts > 2 * 120,
        "{topics} topics, {posts} posts"
    );
    let forum = Arc::new(hearth::Forum::open(&path).expect("open"));
    let c = forum
        .community_by_slug(&Actor::System, SLUG)
        .expect("community")
        .id;
    let owner = Actor::User(forum.user_by_username("nova_staff").expect("owner").id);
    let missing = demo_kit::testing::liveliness(&forum, c, &owner).expect("read");
    assert!(missing.is_empty(), "the program looks alive: {missing:#?}");
    let board = forum
        .leaderboard(&Actor::System, c, Period::AllTime, 10)
        .expect("board");
    assert!(board.len() >= 5, "{board:?}");
    assert!(board[0].points >= board[4].points);
    // The top helper holds every rank their points reach, and only those.
    let top = &board[0];
    let badges = forum
        .member_badges(&Actor::System, c, top.user.id)
        .expect("badges");
    for (slug, _, needed, _) in RANKS {
        let has = badges.iter().any(|b| b.badge.slug == *slug);
        assert_eq!(
            has,
            top.points >= *needed,
            "{slug} at {} points",
            top.points
        );
    }
    let web = demo_kit::web(forum.clone(), None, c, None).expect("web");
    let app = web.router();
    let (status, home) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    for rank in RANKS {
        assert!(
            home.contains(rank.1),
            "the home page names the {} rank",
            rank.1
        );
    }
    assert!(home.contains("Help Desk") && !home.contains("Ambassador HQ"));
    let (key, _) = web
        .create_api_key(&Actor::System, None, "test")
        .expect("key");
    let hq = forum
        .category_by_slug(&Actor::System, c, "ambassador-hq")
        .expect("hq");
    let hq_path = format!("/c/ambassador-hq/{}.json", hq.id.0);
    let (status, list) = get(&app, &hq_path, Some((&key, "anna_berg"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Recognition"), "ambassadors see HQ topics");
    let (status, _) = get(&app, &hq_path, Some((&key, "player_one"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "players do not");
    let (status, profile) = get(&app, &format!("/u/{}.json", top.user.username), None).await;
    assert_eq!(status, StatusCode::OK);
    let profile: serde_json::Value = serde_json::from_str(&profile).expect("json");
    assert!(
        profile["badges"].as_array().is_some_and(|b| !b.is_empty()),
        "{profile}"
    );
}
