//! The beauty demo: public talk and board for guests, looks with photos
//! and product links, the members-only lounge.

use std::sync::Arc;

use beauty_board::{SHOP, SLUG, seed};
use demo_kit::testing::{StatusCode, get};
use hearth::Actor;

#[tokio::test]
async fn public_talk_photo_board_and_member_lounge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("b.db");
    seed(&path, 1, &mut |_, _, _| {}).expect("seed");
    let forum = Arc::new(hearth::Forum::open(&path).expect("open"));
    let c = forum
        .community_by_slug(&Actor::System, SLUG)
        .expect("community")
        .id;
    let owner = Actor::User(forum.user_by_username("lumi_team").expect("owner").id);
    let missing = demo_kit::testing::liveliness(&forum, c, &owner).expect("read");
    assert!(missing.is_empty(), "the board looks alive: {missing:#?}");
    let web = demo_kit::web(forum.clone(), None, c, None).expect("web");
    let app = web.router();
    let (_, cats) = get(&app, "/categories.json", None).await;
    for name in ["Skincare Talk", "Makeup Talk", "Hair Talk", "Beauty Board"] {
        assert!(cats.contains(name), "{name} is public");
    }
    assert!(!cats.contains("Insider Lounge"));
    let board = forum
        .category_by_slug(&Actor::Guest, c, "beauty-board")
        .expect("board");
    let (_, list) = get(&app, &format!("/c/beauty-board/{}.json", board.id.0), None).await;
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    let look = &list["topic_list"]["topics"][0];
    let path = format!("/t/{}/{}", look["slug"].as_str().expect("slug"), look["id"]);
    let (status, page) = get(&app, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<img") && page.contains("/uploads/"),
        "the photo"
    );
    assert!(
        page.contains(&format!("href=\"{SHOP}/LM-")),
        "product links"
    );
    let (_, home) = get(&app, "/", None).await;
    assert!(
        home.contains("Show us your look") && home.contains("/c/beauty-board/"),
        "the home page says what the board is for"
    );
    // …and shows the newest look's photo, linked to it, with its products.
    let featured = &home[home.find("class=\"welcome").expect("welcome")..];
    let featured = &featured[..featured.find("</div>").expect("end")];
    assert!(
        featured.contains("<img") && featured.contains("/uploads/"),
        "{featured}"
    );
    assert!(
        featured.contains(&format!("href=\"{SHOP}/LM-")),
        "{featured}"
    );
    let link = featured
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("/t/"))
        .expect("a link to the look");
    let path = &link[link.find("/t/").expect("path")..];
    let (status, _) = get(&app, path, None).await;
    assert!(
        status == StatusCode::OK || status.is_redirection(),
        "{path}: {status}"
    );
    let (key, _) = web
        .create_api_key(&Actor::System, None, "test")
        .expect("key");
    let (_, latest) = get(&app, "/latest.json", Some((&key, "anna_berg"))).await;
    assert!(latest.contains("Swap thread"), "members see the lounge");
    let (_, latest) = get(&app, "/latest.json", None).await;
    assert!(!latest.contains("Swap thread"), "guests do not");
}
