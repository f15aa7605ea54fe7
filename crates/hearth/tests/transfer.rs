//! Export → import → export is identical; imports are all or nothing;
//! private content keeps its place; nothing secret leaves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, BadgeTier, CategoryKind, Error, ExtOp, Forum, IdeaStatus, NewBadge, NewCategory,
    NewLogin, NewProduct, NewReply, NewUser, PageRequest, PostEdit, SearchQuery, WatchLevel,
};

/// A World with one of everything the export covers.
fn rich() -> World {
    let w = World::new();
    let f = w.forum();
    let (t0, a0) = w.topics[0];
    f.edit_post(
        &w.moderator,
        w.c,
        a0,
        PostEdit {
            body: "Configure it in Settings → Integrations.".into(),
            title: None,
            reason: Some("clearer".into()),
            base_version: None,
        },
    )
    .unwrap();
    let ideas = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("ideas", "Ideas", CategoryKind::Ideas),
        )
        .unwrap()
        .id;
    let (idea, _) = f
        .create_topic(
            &w.member,
            w.c,
            hearth::NewTopic {
                category: ideas,
                title: "Dark mode please".into(),
                body: "For the night owls.".into(),
                tags: vec!["dark-mode".into()],
            },
        )
        .unwrap();
    f.vote(&w.group_member, w.c, idea.id).unwrap();
    f.set_idea_status(&w.moderator, w.c, idea.id, IdeaStatus::Planned, "Spring.")
        .unwrap();
    let kb = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("kb", "KB", CategoryKind::KnowledgeBase),
        )
        .unwrap()
        .id;
    let article = f.promote_to_article(&w.admin, w.c, t0, kb).unwrap().id;
    f.publish_article(&w.admin, w.c, article, None).unwrap();
    f.rate_article(&w.member, w.c, article, true).unwrap();
    f.create_product(
        &w.admin,
        w.c,
        NewProduct {
            sku: "SKU-1".into(),
            name: "Widget".into(),
            url: "https://shop.example.com/w".into(),
            ..Default::default()
        },
    )
    .unwrap();
    f.tag_products(&w.moderator, w.c, a0, &["SKU-1"]).unwrap();
    f.create_badge(
        &w.admin,
        w.c,
        NewBadge {
            slug: "helper".into(),
            name: "Helper".into(),
            description: "Helps".into(),
            icon: "star".into(),
            tier: BadgeTier::Bronze,
            multiple: false,
        },
    )
    .unwrap();
    f.grant_badge(
        &w.admin,
        w.c,
        "helper",
        match w.moderator {
            Actor::User(u) => u,
            _ => unreachable!(),
        },
        Some(a0),
        "great answer",
    )
    .unwrap();
    f.award_points(
        &w.admin,
        w.c,
        match w.member {
            Actor::User(u) => u,
            _ => unreachable!(),
        },
        5,
        "welcome",
    )
    .unwrap();
    f.ext_apply(
        "leaderboard",
        Some(w.c),
        &[ExtOp::Put {
            key: "config".into(),
            value: vec![0, 159, 146, 150],
        }],
    )
    .unwrap();
    f.watch_topic(&w.member, w.c, t0, WatchLevel::Watching)
        .unwrap();
    f.reply(
        &w.member,
        w.c,
        t0,
        NewReply {
            body: "Thanks @mod_max, that worked!".into(),
            reply_to: Some(a0),
        },
    )
    .unwrap();
    // An image and a private conversation.
    f.create_upload(
        &w.member,
        w.c,
        hearth::NewUpload {
            filename: "shot.png".into(),
            bytes: png(300),
        },
    )
    .unwrap();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.messages.min_trust = hearth::TrustLevel::New;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    f.send_message(
        &w.member,
        w.c,
        hearth::NewMessage {
            title: "Between the two of us".into(),
            body: "A private question about zebrapublic.".into(),
            users: vec!["vendor_vic".into()],
            groups: vec!["vendors".into()],
        },
    )
    .unwrap();
    // An account with a password, to check that no hash leaves.
    let u = f
        .create_account(
            NewUser::new("with_password"),
            NewLogin {
                email: "pw@example.com".into(),
                password_hash: "$argon2id$v=19$SECRET".into(),
                confirmed: true,
            },
        )
        .unwrap()
        .id;
    f.join(&Actor::User(u), w.c).unwrap();
    w
}

fn export(f: &Forum, c: hearth::CommunityId) -> String {
    let mut out = Vec::new();
    let mut calls = 0;
    f.export_community(&Actor::System, c, &mut out, &mut |done, total| {
        calls += 1;
        assert!(done <= total);
    })
    .unwrap();
    assert!(calls > 0, "progress is reported");
    String::from_utf8(out).unwrap()
}

fn body(export: &str) -> Vec<&str> {
    export.lines().skip(1).collect()
}

#[test]
fn export_import_export_is_identical() {
    let w = rich();
    let first = export(w.forum(), w.c);
    assert!(first.lines().next().unwrap().contains("\"version\":1"));
    assert!(
        !first.contains("SECRET") && !first.contains("argon2"),
        "no password hashes"
    );
    assert!(
        first.contains("pw@example.com"),
        "addresses are the company's data"
    );
    for kind in [
        "users",
        "posts",
        "post_revisions",
        "likes",
        "badges",
        "badge_grants",
        "point_entries",
        "extension_data",
        "ideas",
        "kb_revisions",
        "products",
        "post_products",
        "uploads",
        "message_users",
        "message_groups",
    ] {
        assert!(
            first.contains(&format!("\"type\":\"{kind}\"")),
            "{kind} exported"
        );
    }
    // Into another database.
    let dir = tempfile::tempdir().unwrap();
    let other = Forum::open(common::test_database(dir.path(), "copy")).unwrap();
    let copy = other
        .import_community(first.as_bytes(), "acme", &mut |_, _| {})
        .unwrap();
    let second = export(&other, copy);
    assert_eq!(body(&first), body(&second));
    assert_eq!(
        first.lines().next(),
        second.lines().next(),
        "same slug, same header"
    );
    // The copy works: content reads, search finds, private stays private.
    let (t0, _) = w.topics[0];
    let view = other
        .latest(
            &Actor::Guest,
            copy,
            &hearth::TopicFilter::default(),
            &PageRequest::first(50),
        )
        .unwrap();
    assert!(
        view.items
            .iter()
            .any(|t| t.title == "Question about zebrapublic setup")
    );
    assert!(
        !view.items.iter().any(|t| t.title.contains("zebragroups")),
        "the vendors' topic stays hidden"
    );
    let hits = other
        .search(&Actor::Guest, copy, &SearchQuery::new("Integrations"))
        .unwrap();
    assert_eq!(
        hits.total, 2,
        "re-indexed: the edited answer and the article"
    );
    let solved = view
        .items
        .iter()
        .filter(|t| t.title == "Question about zebrapublic setup")
        .any(|t| t.accepted_answer.is_some());
    assert!(solved, "forward references (the accepted answer) restored");
    // Tags are numbered again (a tag without its number is not listed).
    let tags = other.tags(&Actor::System, copy, 10).unwrap();
    assert!(
        tags.iter()
            .any(|t| t.name == "dark-mode" && t.topic_count == 1),
        "{tags:?}"
    );
    let _ = t0;
    assert_eq!(
        other.ext_get("leaderboard", Some(copy), "config").unwrap(),
        Some(vec![0, 159, 146, 150])
    );
    // The image came along, byte for byte.
    let line = first
        .lines()
        .find(|l| l.contains("\"type\":\"uploads\""))
        .unwrap();
    let row: serde_json::Value = serde_json::from_str(line).unwrap();
    let sha = row["row"]["sha256"]
        .as_str()
        .or(row["sha256"].as_str())
        .unwrap_or_else(|| panic!("no sha256 in {row}"))
        .to_string();
    let (_, bytes) = other.upload(&Actor::System, copy, &sha).unwrap();
    let (_, stored) = w.forum().upload(&Actor::System, w.c, &sha).unwrap();
    assert_eq!(bytes, stored);
    // The conversation stays between its participants.
    let mia = Actor::User(other.user_by_username("member_mia").unwrap().id);
    let max = Actor::User(other.user_by_username("mod_max").unwrap().id);
    let inbox = other
        .messages(&mia, copy, hearth::Mailbox::Inbox, &PageRequest::first(10))
        .unwrap();
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.items[0].participants.groups[0].name, "vendors");
    let pm = inbox.items[0].topic.id;
    assert!(other.topic(&max, copy, pm, &PageRequest::first(5)).is_err());
    assert!(
        other
            .search(&mia, copy, &SearchQuery::new("private question"))
            .unwrap()
            .total
            == 0
    );
    // Into the same database, as a second community: users are shared.
    let twin = w
        .forum()
        .import_community(first.as_bytes(), "acme-twin", &mut |_, _| {})
        .unwrap();
    let third = export(w.forum(), twin);
    assert_eq!(body(&first), body(&third));
}

#[test]
fn bad_files_are_refused_and_leave_nothing() {
    let w = rich();
    let good = export(w.forum(), w.c);
    let dir = tempfile::tempdir().unwrap();
    let other = Forum::open(common::test_database(dir.path(), "copy")).unwrap();
    let newer = good.replacen("\"version\":1", "\"version\":99", 1);
    assert!(matches!(
        other.import_community(newer.as_bytes(), "x", &mut |_, _| {}),
        Err(Error::Invalid { .. })
    ));
    let mut lines: Vec<&str> = good.lines().collect();
    let broken_at = lines.len() / 2;
    lines[broken_at] = "{\"type\":\"posts\", this is not json";
    let broken = lines.join("\n");
    let err = other
        .import_community(broken.as_bytes(), "x", &mut |_, _| {})
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("line {}", broken_at + 1)),
        "{err}"
    );
    assert!(matches!(
        other.import_community(&b""[..], "x", &mut |_, _| {}),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        other.import_community(&b"{\"type\":\"header\"}\n"[..], "x", &mut |_, _| {}),
        Err(Error::Invalid { .. })
    ));
    assert!(
        other.community_by_slug(&Actor::System, "x").is_err(),
        "nothing half-imported"
    );
    // A slug already taken.
    assert!(
        w.forum()
            .import_community(good.as_bytes(), "acme", &mut |_, _| {})
            .is_err()
    );
}

#[test]
fn only_admins_export() {
    let w = rich();
    let mut out = Vec::new();
    for who in [&w.member, &w.moderator, &Actor::Guest] {
        assert!(
            w.forum()
                .export_community(who, w.c, &mut out, &mut |_, _| {})
                .is_err()
        );
    }
    assert!(
        w.forum()
            .export_community(&w.admin, w.c, &mut out, &mut |_, _| {})
            .is_ok()
    );
}

/// A whole database copies into an empty one with every row and id — on
/// the PostgreSQL run (`HEARTH_TEST_BACKEND=postgres`) from PostgreSQL
/// into a SQLite file; `tests/postgres.rs` copies the other way.
#[test]
fn a_whole_database_copies_into_an_empty_one() {
    let w = rich();
    let f = w.forum();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let target = Forum::open(&path).unwrap();
    let mut last = (String::new(), 0, 0);
    let report = f
        .copy_to(&target, &mut |table, done, total| {
            assert!(done <= total);
            last = (table.to_string(), done, total);
        })
        .unwrap();
    assert_eq!(last.1, last.2, "progress ends at the total");
    assert_eq!(report.rows(), last.2);
    for table in [
        "users",
        "logins",
        "posts",
        "events",
        "point_entries",
        "search_index",
    ] {
        assert!(
            report.tables.iter().any(|(t, n)| t == table && *n > 0),
            "{table}: {:?}",
            report.tables
        );
    }
    drop(target);
    let copy = Forum::open(&path).unwrap();
    assert_eq!(export(f, w.c), export(&copy, w.c));
    let search = |forum: &Forum| {
        forum
            .search(&w.admin, w.c, &SearchQuery::new("configure"))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.post)
            .collect::<Vec<_>>()
    };
    assert_eq!(search(f), search(&copy));
    // Into a database that has data: refused, nothing written.
    assert!(matches!(
        f.copy_to(&copy, &mut |_, _, _| {}),
        Err(Error::Conflict { .. })
    ));
    // The copy goes on with ids after the copied ones.
    let before = f.user_by_username("member_mia").unwrap().id;
    let newcomer = copy.create_user(NewUser::new("newcomer")).unwrap().id;
    assert!(newcomer.0 > before.0);
}
