//! The first-party plugins end to end: built by `cargo xtask plugins`,
//! installed in a real host on a temporary SQLite file, driven by real
//! forum activity.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::World;
use hearth::{
    Actor, Decision, EventId, FlagKind, NewReply, NewTopic, Period, PostId, TopicId, TrustLevel,
};
use hearth_wasm::{Capability, PageContext, Slot};
use serde_json::json;

fn ask(w: &World, who: hearth::UserId, title: &str) -> (TopicId, PostId) {
    let (t, p) = w
        .forum
        .create_topic(
            &Actor::User(who),
            w.community,
            NewTopic {
                category: w.qa,
                title: title.into(),
                body: format!("{title}: what should I do about it?"),
                tags: vec![],
            },
        )
        .unwrap();
    (t.id, p.id)
}

fn answer(w: &World, who: hearth::UserId, topic: TopicId, body: &str) -> PostId {
    w.forum
        .reply(
            &Actor::User(who),
            w.community,
            topic,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap()
        .id
}

fn leaderboard_json(w: &World) -> serde_json::Value {
    let r = w
        .host
        .route(
            &Actor::Guest,
            w.community,
            "leaderboard",
            "/json",
            &[],
            &Default::default(),
        )
        .unwrap()
        .expect("the leaderboard answers /json");
    assert_eq!(r.content_type, "application/json");
    serde_json::from_str(&r.body).unwrap()
}

/// The engine's own ledger, in the shape of the plugin's JSON.
fn engine_board(w: &World, period: Period) -> Vec<(u32, i64, i64)> {
    w.forum
        .leaderboard(&Actor::System, w.community, period, 100)
        .unwrap()
        .into_iter()
        .map(|s| (s.rank, s.user.id.0, s.points))
        .collect()
}

fn plugin_board(doc: &serde_json::Value, period: &str) -> Vec<(u32, i64, i64)> {
    doc[period]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().unwrap() as u32,
                r["member"].as_i64().unwrap(),
                r["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn leaderboard_follows_the_ledger_and_survives_a_replay() {
    let w = World::new();
    w.install("leaderboard");
    w.host
        .enable(
            &Actor::System,
            w.community,
            "leaderboard",
            &[
                Capability::Kv,
                Capability::Read,
                Capability::Settings,
                Capability::Now,
                Capability::Log,
            ],
        )
        .unwrap();
    w.host
        .configure(
            &Actor::System,
            w.community,
            "leaderboard",
            BTreeMap::from([("top".to_string(), json!(100))]),
        )
        .unwrap();

    // Activity across two weeks: questions, answers, likes, an accepted
    // answer, and a like taken back (a reversal).
    let (t1, _) = ask(&w, w.bob, "Printer offline");
    let a1 = answer(&w, w.alice, t1, "Restart the spooler service.");
    w.forum.like(&Actor::User(w.bob), w.community, a1).unwrap();
    w.forum
        .accept_answer(&Actor::User(w.bob), w.community, a1)
        .unwrap();
    w.host.deliver_events().unwrap();
    w.clock.advance(time::Duration::days(8));
    let (t2, _) = ask(&w, w.alice, "Scanner slow");
    let a2 = answer(&w, w.bob, t2, "Lower the resolution to 300 dpi.");
    let a3 = answer(&w, w.moderator, t2, "Also update the driver.");
    w.forum
        .like(&Actor::User(w.alice), w.community, a2)
        .unwrap();
    w.forum
        .like(&Actor::User(w.alice), w.community, a3)
        .unwrap();
    w.forum
        .unlike(&Actor::User(w.alice), w.community, a3)
        .unwrap();
    let report = w.host.deliver_events().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    let doc = leaderboard_json(&w);
    for (period, name) in [
        (Period::Week, "week"),
        (Period::Month, "month"),
        (Period::AllTime, "all-time"),
    ] {
        let expected = engine_board(&w, period);
        assert!(!expected.is_empty() || period == Period::Week);
        assert_eq!(plugin_board(&doc, name), expected, "{name}");
    }

    // Replaying the whole log counts nothing twice...
    w.host
        .rewind(w.community, "leaderboard", EventId(0))
        .unwrap();
    w.host.deliver_events().unwrap();
    assert_eq!(leaderboard_json(&w), doc);
    // ...and rebuilding from nothing gives the same boards.
    w.host.clear_data(w.community, "leaderboard").unwrap();
    w.host.deliver_events().unwrap();
    assert_eq!(leaderboard_json(&w), doc);

    // The sidebar shows the week's board; staff can be left out.
    let sidebar = w.host.render(
        &Actor::Guest,
        w.community,
        Slot::Sidebar,
        &PageContext::default(),
    );
    assert_eq!(sidebar.len(), 1);
    assert!(sidebar[0].html.contains("Top contributors"));
    assert!(sidebar[0].html.contains("maria"), "{}", sidebar[0].html);
    w.host
        .configure(
            &Actor::System,
            w.community,
            "leaderboard",
            BTreeMap::from([("exclude-staff".to_string(), json!(true))]),
        )
        .unwrap();
    let doc = leaderboard_json(&w);
    let week: Vec<i64> = plugin_board(&doc, "week").iter().map(|r| r.1).collect();
    assert!(!week.contains(&w.moderator.0), "{week:?}");
    // And the HTML page.
    let page = w
        .host
        .route(
            &Actor::Guest,
            w.community,
            "leaderboard",
            "/",
            &[],
            &Default::default(),
        )
        .unwrap()
        .unwrap();
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("All time") && page.body.contains("alice"));
}

#[test]
fn badges_reward_answers_likes_articles_and_agreed_flags() {
    let w = World::new();
    w.install("badges");
    w.host
        .enable(
            &Actor::System,
            w.community,
            "badges",
            &[
                Capability::Kv,
                Capability::Read,
                Capability::Settings,
                Capability::Badges,
                Capability::StaffEvents,
                Capability::Log,
            ],
        )
        .unwrap();
    w.host
        .configure(
            &Actor::System,
            w.community,
            "badges",
            BTreeMap::from([("liked-post-likes".to_string(), json!(2))]),
        )
        .unwrap();
    // The manifest's badges now exist in the community.
    let defined: Vec<String> = w
        .forum
        .badges(&Actor::Guest, w.community)
        .unwrap()
        .into_iter()
        .map(|b| b.slug)
        .collect();
    assert!(
        defined.contains(&"first-solution".to_string()),
        "{defined:?}"
    );

    let (t1, _) = ask(&w, w.bob, "VPN drops");
    let a1 = answer(&w, w.alice, t1, "Switch the VPN to TCP mode.");
    w.forum
        .accept_answer(&Actor::User(w.bob), w.community, a1)
        .unwrap();
    w.forum.like(&Actor::User(w.bob), w.community, a1).unwrap();
    w.forum
        .like(&Actor::User(w.moderator), w.community, a1)
        .unwrap();
    // A knowledge-base article by the owner.
    let (_, article) = w
        .forum
        .create_topic(
            &Actor::User(w.owner),
            w.community,
            NewTopic {
                category: w.kb,
                title: "Setting up the VPN".into(),
                body: "Step one: install the client.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    // Bob flags a rude post; a moderator agrees.
    w.forum
        .set_trust_level(
            &Actor::System,
            w.community,
            w.bob,
            Some(TrustLevel::Basic),
            None,
        )
        .unwrap();
    let rude = answer(&w, w.alice, t1, "What a silly question, honestly.");
    let review = w
        .forum
        .flag_post(
            &Actor::User(w.bob),
            w.community,
            rude,
            FlagKind::Inappropriate,
            "",
        )
        .unwrap();
    w.forum
        .decide_review(
            &Actor::User(w.moderator),
            w.community,
            review,
            Decision::Reject {
                reason: "Be kind.".into(),
            },
        )
        .unwrap();

    let report = w.host.deliver_events().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Delivered twice (a replay): still one grant each.
    w.host.rewind(w.community, "badges", EventId(0)).unwrap();
    w.host.deliver_events().unwrap();

    let held = |who| {
        w.forum
            .member_badges(&Actor::System, w.community, who)
            .unwrap()
            .into_iter()
            .map(|g| (g.badge.slug, g.post))
            .collect::<Vec<_>>()
    };
    let alice = held(w.alice);
    assert!(
        alice.contains(&("first-solution".into(), Some(a1))),
        "{alice:?}"
    );
    assert!(
        alice.contains(&("liked-post".into(), Some(a1))),
        "{alice:?}"
    );
    assert_eq!(alice.len(), 2, "{alice:?}");
    assert_eq!(held(w.owner), [("first-article".into(), Some(article.id))]);
    assert_eq!(held(w.bob), [("helpful-flag".into(), None)]);
}

#[test]
fn escape_hatch_footer_and_still_stuck_link() {
    let w = World::new();
    w.enable_escape_hatch();
    // Without a contact it renders nothing.
    assert!(
        w.host
            .render(
                &Actor::Guest,
                w.community,
                Slot::PageFooter,
                &PageContext::default()
            )
            .is_empty()
    );
    w.host
        .configure(
            &Actor::System,
            w.community,
            "escape-hatch",
            BTreeMap::from([
                ("url".to_string(), json!("https://help.acme.test/ticket")),
                ("email".to_string(), json!("help@acme.test")),
                ("hours".to_string(), json!("Mon-Fri 9-17")),
                ("stuck-after-hours".to_string(), json!(24)),
                ("site-url".to_string(), json!("https://community.acme.test")),
            ]),
        )
        .unwrap();
    // A bad setting is refused with a typed error and changes nothing.
    let err = w
        .host
        .configure(
            &Actor::System,
            w.community,
            "escape-hatch",
            BTreeMap::from([("stuck-after-hours".to_string(), json!("soon"))]),
        )
        .unwrap_err();
    assert!(matches!(err, hearth_wasm::Error::Setting { .. }), "{err}");
    assert_eq!(
        w.host.settings(w.community, "escape-hatch").unwrap()["stuck-after-hours"],
        json!(24)
    );

    let footer = w.host.render(
        &Actor::Guest,
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(footer.len(), 1);
    let html = &footer[0].html;
    assert!(
        html.contains("https://help.acme.test/ticket") && html.contains("mailto:help@acme.test"),
        "{html}"
    );
    assert!(!html.contains("Still stuck"));

    let (topic, _) = ask(&w, w.bob, "Invoices missing");
    let page = PageContext {
        path: format!("/t/invoices-missing/{}", topic.0),
        topic: Some(topic),
        member: None,
        ..Default::default()
    };
    let fresh = w
        .host
        .render(&Actor::Guest, w.community, Slot::PageFooter, &page);
    assert!(!fresh[0].html.contains("Still stuck"));
    w.clock.advance(time::Duration::hours(25));
    let stuck = w
        .host
        .render(&Actor::Guest, w.community, Slot::PageFooter, &page);
    let html = &stuck[0].html;
    assert!(html.contains("Still stuck"), "{html}");
    let expected = format!(
        "topic=https%3A%2F%2Fcommunity.acme.test%2Ft%2Finvoices-missing%2F{}",
        topic.0
    );
    assert!(html.contains(&expected), "{html}");
    // Once answered and accepted, the prompt goes away.
    let a = answer(&w, w.alice, topic, "They are under Billing → History.");
    w.forum
        .accept_answer(&Actor::User(w.bob), w.community, a)
        .unwrap();
    let solved = w
        .host
        .render(&Actor::Guest, w.community, Slot::TopicFooter, &page);
    assert!(solved.is_empty(), "{solved:?}");
}
