//! Bad input gets the right error variant and changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, CategoryKind, Error, NewCategory, NewCommunity, NewReply, NewTopic, NewUser, PostEdit,
    TopicFlag,
};

/// Runs `f`, checks its error with `check`, and asserts the database is
/// byte-for-byte the same afterwards.
fn unchanged(
    w: &World,
    what: &str,
    f: impl FnOnce() -> Result<(), Error>,
    check: impl Fn(&Error) -> bool,
) {
    let before = w.t.dump();
    match f() {
        Ok(()) => panic!("{what}: expected an error"),
        Err(e) => assert!(check(&e), "{what}: wrong error {e:?}"),
    }
    let after = w.t.dump();
    if before != after {
        let diff: Vec<String> = after
            .lines()
            .filter(|l| !before.lines().any(|b| b == *l))
            .map(str::to_string)
            .collect();
        panic!(
            "{what}: the database changed; new or changed rows:\n{}",
            diff.join("\n")
        );
    }
}

fn invalid(field: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Invalid { field: f, .. } if *f == field)
}

#[test]
fn content_limits() {
    let w = World::new();
    let f = w.forum();
    let topic = |title: &str, body: &str| NewTopic {
        category: w.public.id,
        title: title.into(),
        body: body.into(),
        tags: vec![],
    };
    unchanged(
        &w,
        "empty title",
        || {
            f.create_topic(&w.member, w.c, topic("   ", "body"))
                .map(|_| ())
        },
        invalid("title"),
    );
    unchanged(
        &w,
        "short title",
        || {
            f.create_topic(&w.member, w.c, topic(" ab ", "body"))
                .map(|_| ())
        },
        invalid("title"),
    );
    unchanged(
        &w,
        "long title",
        || {
            f.create_topic(&w.member, w.c, topic(&"x".repeat(256), "body"))
                .map(|_| ())
        },
        invalid("title"),
    );
    unchanged(
        &w,
        "empty body",
        || {
            f.create_topic(&w.member, w.c, topic("A fine title", "  \n "))
                .map(|_| ())
        },
        invalid("body"),
    );
    unchanged(
        &w,
        "oversized body",
        || {
            f.create_topic(&w.member, w.c, topic("A fine title", &"x".repeat(65_537)))
                .map(|_| ())
        },
        invalid("body"),
    );
    unchanged(
        &w,
        "too deep",
        || {
            f.create_topic(&w.member, w.c, topic("A fine title", &"> ".repeat(100)))
                .map(|_| ())
        },
        invalid("body"),
    );
    unchanged(
        &w,
        "bad tag",
        || {
            let mut t = topic("A fine title", "body");
            t.tags = vec!["<script>".into()];
            f.create_topic(&w.member, w.c, t).map(|_| ())
        },
        invalid("tags"),
    );
    unchanged(
        &w,
        "too many tags",
        || {
            let mut t = topic("A fine title", "body");
            t.tags = (0..6).map(|i| format!("t{i}")).collect();
            f.create_topic(&w.member, w.c, t).map(|_| ())
        },
        invalid("tags"),
    );
    unchanged(
        &w,
        "oversized reply",
        || {
            f.reply(
                &w.member,
                w.c,
                w.topics[0].0,
                NewReply {
                    body: "y".repeat(65_537),
                    reply_to: None,
                },
            )
            .map(|_| ())
        },
        invalid("body"),
    );
    // The limits are per community and configurable.
    let mut s = f.community(&w.admin, w.c).unwrap().settings;
    s.limits.body_max_bytes = 10;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    unchanged(
        &w,
        "community limit",
        || {
            f.reply(
                &w.member,
                w.c,
                w.topics[0].0,
                NewReply {
                    body: "eleven bytes".into(),
                    reply_to: None,
                },
            )
            .map(|_| ())
        },
        invalid("body"),
    );
    f.reply(
        &w.member,
        w.c,
        w.topics[0].0,
        NewReply {
            body: "ten bytes!".into(),
            reply_to: None,
        },
    )
    .unwrap();
}

#[test]
fn usernames() {
    let w = World::new();
    let f = w.forum();
    for bad in ["ab", "has space", "admin", "x..y", "-lead", "1234", "ünï"] {
        unchanged(
            &w,
            bad,
            || f.create_user(NewUser::new(bad)).map(|_| ()),
            invalid("username"),
        );
    }
    unchanged(
        &w,
        "case-insensitive duplicate",
        || f.create_user(NewUser::new("MEMBER_MIA")).map(|_| ()),
        |e| matches!(e, Error::Conflict { .. }),
    );
}

#[test]
fn likes_and_answers() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    unchanged(
        &w,
        "duplicate like",
        || f.like(&w.group_member, w.c, answer),
        |e| matches!(e, Error::Conflict { .. }),
    );
    unchanged(
        &w,
        "own post",
        || f.like(&w.moderator, w.c, answer),
        |e| matches!(e, Error::Forbidden { .. }),
    );
    unchanged(
        &w,
        "guest like",
        || f.like(&Actor::Guest, w.c, answer),
        |e| matches!(e, Error::Forbidden { .. }),
    );
    unchanged(
        &w,
        "unlike never liked",
        || f.unlike(&w.member, w.c, answer),
        |e| matches!(e, Error::Conflict { .. }),
    );
    unchanged(
        &w,
        "accept by stranger",
        || f.accept_answer(&w.member, w.c, answer),
        |e| matches!(e, Error::Conflict { .. } | Error::Forbidden { .. }),
    );
    let first = f
        .topic(&w.member, w.c, topic, &hearth::PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    unchanged(
        &w,
        "accept the question",
        || f.accept_answer(&w.group_member, w.c, first),
        invalid("post"),
    );
}

#[test]
fn replies_to_deleted_closed_archived_topics() {
    let w = World::new();
    let f = w.forum();
    let reply = || NewReply {
        body: "me too".into(),
        reply_to: None,
    };
    let (t0, _) = w.topics[0];
    let (t1, _) = w.topics[1];
    let (t2, a2) = w.topics[2];
    f.set_topic_flag(&w.moderator, w.c, t0, TopicFlag::Closed, true, None)
        .unwrap();
    unchanged(
        &w,
        "closed",
        || f.reply(&w.member, w.c, t0, reply()).map(|_| ()),
        |e| matches!(e, Error::Forbidden { .. }),
    );
    // moderators may still reply to closed topics
    f.reply(&w.moderator, w.c, t0, reply()).unwrap();
    f.set_topic_flag(&w.moderator, w.c, t1, TopicFlag::Archived, true, None)
        .unwrap();
    unchanged(
        &w,
        "archived",
        || f.reply(&w.moderator, w.c, t1, reply()).map(|_| ()),
        |e| matches!(e, Error::Forbidden { .. }),
    );
    unchanged(
        &w,
        "edit in archived",
        || {
            let post = f
                .topic(&w.member, w.c, t1, &hearth::PageRequest::first(1))
                .unwrap()
                .posts
                .items[0]
                .id;
            f.edit_post(
                &w.group_member,
                w.c,
                post,
                PostEdit {
                    body: "new".into(),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        |e| matches!(e, Error::Forbidden { .. }),
    );
    let first = f
        .topic(&w.group_member, w.c, t2, &hearth::PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    f.delete_post(&w.group_member, w.c, first).unwrap();
    unchanged(
        &w,
        "deleted topic",
        || f.reply(&w.group_member, w.c, t2, reply()).map(|_| ()),
        |e| matches!(e, Error::NotFound { .. }),
    );
    unchanged(
        &w,
        "reply to a post of another topic",
        || {
            f.reply(
                &w.moderator,
                w.c,
                w.topics[0].0,
                NewReply {
                    body: "x".into(),
                    reply_to: Some(a2),
                },
            )
            .map(|_| ())
        },
        invalid("reply_to"),
    );
    unchanged(
        &w,
        "reply to no post",
        || {
            f.reply(
                &w.moderator,
                w.c,
                w.topics[0].0,
                NewReply {
                    body: "x".into(),
                    reply_to: Some(hearth::PostId(987_654)),
                },
            )
            .map(|_| ())
        },
        invalid("reply_to"),
    );
}

#[test]
fn ids_from_another_community() {
    let w = World::new();
    let f = w.forum();
    let boss = w.t.user("boss_b");
    let other = f
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "other".into(),
                name: "Other".into(),
                owner: Some(boss),
                ..Default::default()
            },
        )
        .unwrap();
    let boss = Actor::User(boss);
    let (topic, answer) = w.topics[0];
    let not_found = |e: &Error| matches!(e, Error::NotFound { .. });
    unchanged(
        &w,
        "topic in other community's category",
        || {
            f.create_topic(
                &boss,
                other.id,
                NewTopic {
                    category: w.public.id,
                    title: "Cross post".into(),
                    body: "x".into(),
                    tags: vec![],
                },
            )
            .map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "reply across",
        || {
            f.reply(
                &boss,
                other.id,
                topic,
                NewReply {
                    body: "x".into(),
                    reply_to: None,
                },
            )
            .map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "like across",
        || f.like(&boss, other.id, answer),
        not_found,
    );
    unchanged(
        &w,
        "edit across",
        || {
            f.edit_post(
                &boss,
                other.id,
                answer,
                PostEdit {
                    body: "x".into(),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "delete across",
        || f.delete_post(&boss, other.id, answer),
        not_found,
    );
    unchanged(
        &w,
        "accept across",
        || f.accept_answer(&boss, other.id, answer),
        not_found,
    );
    unchanged(
        &w,
        "group across",
        || {
            let Actor::User(b) = boss else { unreachable!() };
            f.add_to_group(&boss, other.id, w.group, b).map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "group renamed across",
        || {
            f.update_group(&boss, other.id, w.group, "taken over", "")
                .map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "group deleted across",
        || f.delete_group(&boss, other.id, w.group),
        not_found,
    );
    let badge = f
        .create_badge(
            &w.admin,
            w.c,
            hearth::NewBadge {
                slug: "ours".into(),
                name: "Ours".into(),
                description: String::new(),
                icon: String::new(),
                tier: hearth::BadgeTier::Bronze,
                multiple: false,
            },
        )
        .unwrap();
    unchanged(
        &w,
        "badge changed across",
        || {
            let change = hearth::BadgeChange {
                name: Some("Theirs".into()),
                ..Default::default()
            };
            f.update_badge(&boss, other.id, badge.id, &change)
                .map(|_| ())
        },
        not_found,
    );
    unchanged(
        &w,
        "badge deleted across",
        || f.delete_badge(&boss, other.id, badge.id),
        not_found,
    );
    unchanged(
        &w,
        "category with another community's group",
        || {
            f.create_category(
                &boss,
                other.id,
                NewCategory::new("v", "v", CategoryKind::Discussion).groups(&[w.group]),
            )
            .map(|_| ())
        },
        not_found,
    );
}

#[test]
fn stale_edit_is_a_conflict() {
    let w = World::new();
    let f = w.forum();
    let (_, answer) = w.topics[0];
    f.edit_post(
        &w.moderator,
        w.c,
        answer,
        PostEdit {
            body: "v2".into(),
            base_version: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    unchanged(
        &w,
        "stale",
        || {
            f.edit_post(
                &w.moderator,
                w.c,
                answer,
                PostEdit {
                    body: "v2 from an old tab".into(),
                    base_version: Some(1),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        |e| matches!(e, Error::Conflict { .. }),
    );
    unchanged(
        &w,
        "title on a reply",
        || {
            f.edit_post(
                &w.moderator,
                w.c,
                answer,
                PostEdit {
                    body: "v3".into(),
                    title: Some("New title".into()),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        invalid("title"),
    );
    unchanged(
        &w,
        "someone else's post",
        || {
            f.edit_post(
                &w.member,
                w.c,
                answer,
                PostEdit {
                    body: "mine now".into(),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        |e| matches!(e, Error::Forbidden { .. }),
    );
}

#[test]
fn permissions_on_writes() {
    let w = World::new();
    let f = w.forum();
    let forbidden = |e: &Error| matches!(e, Error::Forbidden { .. });
    unchanged(
        &w,
        "member creates category",
        || {
            f.create_category(
                &w.member,
                w.c,
                NewCategory::new("x", "x", CategoryKind::Discussion),
            )
            .map(|_| ())
        },
        forbidden,
    );
    let kb = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("kb", "KB", CategoryKind::KnowledgeBase),
        )
        .unwrap();
    unchanged(
        &w,
        "kb topic by member",
        || {
            f.create_topic(
                &w.member,
                w.c,
                NewTopic {
                    category: kb.id,
                    title: "My article".into(),
                    body: "x".into(),
                    tags: vec![],
                },
            )
            .map(|_| ())
        },
        forbidden,
    );
    unchanged(
        &w,
        "outsider posts",
        || {
            f.reply(
                &w.outsider,
                w.c,
                w.topics[0].0,
                NewReply {
                    body: "hi".into(),
                    reply_to: None,
                },
            )
            .map(|_| ())
        },
        forbidden,
    );
    unchanged(
        &w,
        "member pins",
        || {
            f.set_topic_flag(&w.member, w.c, w.topics[0].0, TopicFlag::Pinned, true, None)
                .map(|_| ())
        },
        forbidden,
    );
    unchanged(
        &w,
        "admin makes owner",
        || {
            let Actor::User(mia) = w.member else {
                unreachable!()
            };
            f.set_role(&w.admin, w.c, mia, hearth::Role::Owner)
                .map(|_| ())
        },
        forbidden,
    );
    unchanged(
        &w,
        "last owner demoted",
        || {
            let Actor::User(o) = w.owner else {
                unreachable!()
            };
            f.set_role(&w.owner, w.c, o, hearth::Role::Admin)
                .map(|_| ())
        },
        |e| matches!(e, Error::Conflict { .. }),
    );
    unchanged(
        &w,
        "only the system creates communities",
        || {
            f.create_community(
                &w.owner,
                NewCommunity {
                    slug: "mine".into(),
                    name: "Mine".into(),
                    ..Default::default()
                },
            )
            .map(|_| ())
        },
        forbidden,
    );
    unchanged(
        &w,
        "bad cursor",
        || {
            f.latest(
                &w.member,
                w.c,
                &hearth::TopicFilter::default(),
                &hearth::PageRequest::after(hearth::Cursor("garbage".into()), 10),
            )
            .map(|_| ())
        },
        invalid("cursor"),
    );
}

/// Text is text: every one-line field refuses every control character and
/// bidirectional override; multi-line fields and bodies keep tab and line
/// breaks only; nothing is written on refusal.
#[test]
fn control_characters_in_every_text_field() {
    let w = World::new();
    let f = w.forum();
    let one_line_bad = [
        "\0",
        "\u{1}",
        "\u{7}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{85}",
        "\u{9b}",
        "\n",
        "\r",
        "\t",
        "\u{202e}",
        "\u{2066}",
        "\u{fdd0}",
        "\u{ffff}",
    ];
    let body_bad = [
        "\0",
        "\u{1}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{85}",
        "\u{fdd0}",
        "\u{10fffe}",
    ];
    for bad in one_line_bad {
        let v = format!("Name {bad} here");
        let what = format!("{bad:?}");
        if !["\n", "\r", "\t", "\u{85}"].contains(&bad) {
            // Titles fold whitespace (line breaks too) into spaces.
            unchanged(
                &w,
                &format!("title {what}"),
                || {
                    f.create_topic(
                        &w.member,
                        w.c,
                        NewTopic {
                            category: w.public.id,
                            title: v.clone(),
                            body: "a body".into(),
                            tags: vec![],
                        },
                    )
                    .map(|_| ())
                },
                invalid("title"),
            );
        }
        unchanged(
            &w,
            &format!("category name {what}"),
            || {
                f.create_category(
                    &w.owner,
                    w.c,
                    NewCategory::new("evil", &v, CategoryKind::Discussion),
                )
                .map(|_| ())
            },
            invalid("name"),
        );
        unchanged(
            &w,
            &format!("group name {what}"),
            || f.create_group(&w.owner, w.c, &v, "").map(|_| ()),
            invalid("name"),
        );
        unchanged(
            &w,
            &format!("display name {what}"),
            || {
                f.update_profile(
                    &Actor::System,
                    f.user_by_username("olivia_owner").unwrap().id,
                    hearth::ProfileUpdate {
                        display_name: Some(v.clone()),
                        bio: None,
                        ..Default::default()
                    },
                )
                .map(|_| ())
            },
            invalid("display_name"),
        );
        unchanged(
            &w,
            &format!("location {what}"),
            || {
                f.update_profile(
                    &Actor::System,
                    f.user_by_username("olivia_owner").unwrap().id,
                    hearth::ProfileUpdate {
                        location: Some(v.clone()),
                        ..Default::default()
                    },
                )
                .map(|_| ())
            },
            invalid("location"),
        );
        unchanged(
            &w,
            &format!("community name {what}"),
            || {
                f.create_community(
                    &Actor::System,
                    NewCommunity {
                        slug: "evil".into(),
                        name: v.clone(),
                        ..Default::default()
                    },
                )
                .map(|_| ())
            },
            invalid("name"),
        );
        unchanged(
            &w,
            &format!("e-mail sender {what}"),
            || {
                let mut s = f.community(&Actor::System, w.c).unwrap().settings;
                s.email.from = format!("Acme {bad}<a@b.c>");
                f.update_community(&w.owner, w.c, "Acme", s).map(|_| ())
            },
            invalid("email_from"),
        );
    }
    for bad in body_bad {
        unchanged(
            &w,
            &format!("body {bad:?}"),
            || {
                f.create_topic(
                    &w.member,
                    w.c,
                    NewTopic {
                        category: w.public.id,
                        title: "A fine title".into(),
                        body: format!("body {bad} here"),
                        tags: vec![],
                    },
                )
                .map(|_| ())
            },
            invalid("body"),
        );
    }
    // What bodies and multi-line fields keep.
    f.create_topic(
        &w.member,
        w.c,
        NewTopic {
            category: w.public.id,
            title: "Tabs and lines".into(),
            body: "col\tcol\r\nnext line\n\nparagraph \u{202e}rtl".into(),
            tags: vec![],
        },
    )
    .unwrap();
    f.update_profile(
        &Actor::System,
        f.user_by_username("olivia_owner").unwrap().id,
        hearth::ProfileUpdate {
            display_name: None,
            bio: Some("line one\nline two\ttab".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

/// A body with nothing visible once rendered is refused, whatever hides it.
#[test]
fn bodies_with_nothing_visible() {
    let w = World::new();
    let f = w.forum();
    for blank in [
        "<script>alert(1)</script>",
        "\u{200b}\u{200c}\u{200d}\u{2060}",
        "<p></p><div></div>",
        "&nbsp;",
        "<style>p{}</style>\u{feff}",
        "<!-- x -->",
    ] {
        unchanged(
            &w,
            &format!("{blank:?}"),
            || {
                f.reply(
                    &w.member,
                    w.c,
                    w.topics[0].0,
                    NewReply {
                        body: blank.into(),
                        reply_to: None,
                    },
                )
                .map(|_| ())
            },
            invalid("body"),
        );
    }
}

/// Everyone, staff included, has per-post caps for mentions, links and
/// images; a mention storm is refused whole, so it notifies no one.
#[test]
fn per_post_caps_for_everyone() {
    let w = World::new();
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.limits.max_mentions = 3;
    s.limits.max_links = 4;
    s.limits.max_images = 2;
    f.update_community(&w.owner, w.c, "Acme", s).unwrap();
    let names: Vec<String> = (0..5)
        .map(|i| {
            let u = w.t.user(&format!("fan_{i}"));
            f.add_member(&w.owner, w.c, u, hearth::Role::Member)
                .unwrap();
            format!("@fan_{i}")
        })
        .collect();
    for (who, actor) in [("admin", &w.admin), ("member", &w.member)] {
        for (what, body, rule) in [
            ("mentions", names[..4].join(" "), "post_mentions"),
            ("links", "[a](https://a.example/) ".repeat(5), "post_links"),
            (
                "images",
                "![i](https://a.example/i.png) ".repeat(3),
                "post_images",
            ),
        ] {
            unchanged(
                &w,
                &format!("{who}: {what}"),
                || {
                    f.reply(
                        actor,
                        w.c,
                        w.topics[0].0,
                        NewReply {
                            body: body.clone(),
                            reply_to: None,
                        },
                    )
                    .map(|_| ())
                },
                |e| matches!(e, Error::Blocked { rule: r, .. } if r == rule),
            );
        }
    }
    // At the cap: posted, and each mentioned member notified once.
    f.reply(
        &w.admin,
        w.c,
        w.topics[0].0,
        NewReply {
            body: names[..3].join(" "),
            reply_to: None,
        },
    )
    .unwrap();
    for i in 0..5 {
        let fan = Actor::User(f.user_by_username(&format!("fan_{i}")).unwrap().id);
        let n = f
            .notifications(&fan, w.c, &hearth::PageRequest::first(50), false)
            .unwrap()
            .items
            .len();
        assert_eq!(n, usize::from(i < 3), "fan_{i}");
    }
}

/// Liking and unliking one post is rate-limited per member and post.
#[test]
fn like_toggling_is_rate_limited() {
    let w = World::new();
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.moderation.rate_limits.like_toggles_per_post_per_hour = 4;
    f.update_community(&w.owner, w.c, "Acme", s).unwrap();
    let (topic, answer) = w.topics[0];
    let (_, other) = {
        let p = f
            .reply(
                &w.moderator,
                w.c,
                topic,
                NewReply {
                    body: "another answer".into(),
                    reply_to: None,
                },
            )
            .unwrap();
        (topic, p.id)
    };
    for _ in 0..2 {
        f.like(&w.member, w.c, answer).unwrap();
        f.unlike(&w.member, w.c, answer).unwrap();
    }
    unchanged(
        &w,
        "fifth toggle",
        || f.like(&w.member, w.c, answer),
        |e| matches!(e, Error::RateLimited { retry_after } if retry_after.as_secs() > 0 && retry_after.as_secs() <= 3600),
    );
    // Another post, and another member, are not affected.
    f.like(&w.member, w.c, other).unwrap();
    let other_member = w.t.user("other_member");
    f.add_member(&w.owner, w.c, other_member, hearth::Role::Member)
        .unwrap();
    f.like(&Actor::User(other_member), w.c, answer).unwrap();
    // An hour later the member may change their mind again.
    w.t.clock.advance(time::Duration::minutes(61));
    f.like(&w.member, w.c, answer).unwrap();
}

/// The home page's welcome text: up to `MAX_WELCOME_CHARS` characters
/// (counted as characters, not bytes), one more is refused and changes
/// nothing; control characters are refused like in any text.
#[test]
fn welcome_text_at_its_bound() {
    let w = World::new();
    let f = &w.t.forum;
    let with = |text: String| {
        let mut s = f.community(&Actor::System, w.c).unwrap().settings;
        s.welcome = Some(text);
        s
    };
    let at = "é".repeat(hearth::MAX_WELCOME_CHARS);
    f.update_community(&w.owner, w.c, "Acme", with(at.clone()))
        .unwrap();
    assert_eq!(
        f.community(&Actor::System, w.c).unwrap().settings.welcome,
        Some(at)
    );
    unchanged(
        &w,
        "welcome one character over",
        || {
            let over = "é".repeat(hearth::MAX_WELCOME_CHARS + 1);
            f.update_community(&w.owner, w.c, "Acme", with(over))
                .map(|_| ())
        },
        invalid("welcome"),
    );
    unchanged(
        &w,
        "welcome with a control character",
        || {
            f.update_community(&w.owner, w.c, "Acme", with("Hi\u{7}".into()))
                .map(|_| ())
        },
        invalid("welcome"),
    );
}
