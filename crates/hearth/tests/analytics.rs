//! Analytics on a seeded fixture, against figures computed by hand.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, CategoryKind, Error, NewArticle, NewCategory, NewProduct, NewReply, NewTopic, NewUser,
};
use time::Duration;
use time::macros::datetime;

#[test]
fn a_week_of_activity_matches_hand_computed_figures() {
    // Monday 5 January 2026, 09:00: World makes 5 members, 3 questions
    // (vic) each answered (max), liked and accepted (vic) at once.
    let w = World::new();
    let f = w.forum();
    let clock = &w.t.clock;
    // Tuesday: mia asks; max answers half an hour later.
    clock.set(datetime!(2026-01-06 09:00 UTC));
    let (q4, _) = f
        .create_topic(
            &w.member,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "How do exports work?".into(),
                body: "I need a CSV of all invoices.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    clock.advance(Duration::minutes(30));
    let answer = f
        .reply(
            &w.moderator,
            w.c,
            q4.id,
            NewReply {
                body: "Use Reports, then Export.".into(),
                reply_to: None,
            },
        )
        .unwrap();
    // Wednesday 09:30: mia accepts (24 hours after asking... and 30 minutes).
    clock.set(datetime!(2026-01-07 09:30 UTC));
    f.accept_answer(&w.member, w.c, answer.id).unwrap();
    // Thursday: a newcomer joins and asks (no reply); an article is
    // published and found helpful; a product link is clicked.
    clock.set(datetime!(2026-01-08 09:00 UTC));
    let newbie = f.create_user(NewUser::new("newbie_nia")).unwrap().id;
    f.join(&Actor::User(newbie), w.c).unwrap();
    f.create_topic(
        &Actor::User(newbie),
        w.c,
        NewTopic {
            category: w.public.id,
            title: "Where is the API reference?".into(),
            body: "I cannot find it anywhere.".into(),
            tags: vec![],
        },
    )
    .unwrap();
    let kb = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("kb", "KB", CategoryKind::KnowledgeBase),
        )
        .unwrap()
        .id;
    let article = f
        .create_article(
            &w.admin,
            w.c,
            NewArticle {
                category: kb,
                title: "Exporting invoices".into(),
                body: "Reports, then Export.".into(),
            },
        )
        .unwrap()
        .id;
    f.publish_article(&w.admin, w.c, article, None).unwrap();
    f.rate_article(&w.member, w.c, article, true).unwrap();
    f.create_product(
        &w.admin,
        w.c,
        NewProduct {
            sku: "CSV-1".into(),
            name: "CSV add-on".into(),
            url: "https://shop.example.com/csv".into(),
            ..Default::default()
        },
    )
    .unwrap();
    f.record_product_click(&w.member, w.c, "CSV-1", None)
        .unwrap();
    clock.set(datetime!(2026-01-12 10:00 UTC));

    let week = f
        .analytics(
            &w.moderator,
            w.c,
            datetime!(2026-01-05 00:00 UTC),
            datetime!(2026-01-12 00:00 UTC),
        )
        .unwrap();
    assert_eq!((week.members, week.new_members), (6, 6));
    // 3 World topics + q4 + newbie's + the article's topic.
    assert_eq!(week.topics, 6);
    // 6 on Monday, 2 on Tuesday, 1 + 1 on Thursday.
    assert_eq!(week.posts, 10);
    // Q&A topics: the 3 World ones, q4, newbie's; solved: 4.
    assert_eq!((week.questions, week.solved), (5, 4));
    assert!((week.solved_share - 0.8).abs() < 1e-9);
    // Solution times 0, 0, 0 and 24.5 hours: the median is 0.
    assert_eq!(week.median_solution_hours, Some(0.0));
    // Active per day: Mon {owner, ann, max, vic}, Tue {mia, max},
    // Wed {mia}, Thu {nia, ann} (a helpful vote and a click are not
    // events), then nobody.
    let active: Vec<i64> = week.daily.iter().map(|d| d.active).collect();
    assert_eq!(active, vec![4, 2, 1, 2, 0, 0, 0]);
    let posts: Vec<i64> = week.daily.iter().map(|d| d.posts).collect();
    assert_eq!(posts, vec![6, 2, 0, 2, 0, 0, 0]);
    let joins: Vec<i64> = week.daily.iter().map(|d| d.new_members).collect();
    assert_eq!(joins, vec![5, 0, 0, 1, 0, 0, 0]);
    assert!((week.daily_active - 9.0 / 7.0).abs() < 1e-9);
    assert_eq!((week.weekly_active, week.monthly_active), (6, 6));
    assert_eq!(week.inactive_90_days_share, 0.0);
    // Top contributors: max (4 posts, 4 solutions, 3 likes), vic (3 posts),
    // then one post each, by id: ann, mia, nia.
    let top: Vec<(&str, i64, i64, i64)> = week
        .top_contributors
        .iter()
        .map(|c| {
            (
                c.user.username.as_str(),
                c.posts,
                c.solutions,
                c.likes_received,
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("mod_max", 4, 4, 3),
            ("vendor_vic", 3, 0, 0),
            ("admin_ann", 1, 0, 0),
            ("member_mia", 1, 0, 0),
            ("newbie_nia", 1, 0, 0),
        ]
    );
    assert_eq!(week.helpful_articles.len(), 1);
    assert_eq!(
        (
            week.helpful_articles[0].title.as_str(),
            week.helpful_articles[0].helpful
        ),
        ("Exporting invoices", 1)
    );
    assert_eq!(
        (
            week.product_clicks[0].clicks,
            week.product_clicks[0].members
        ),
        (1, 1)
    );

    // From Tuesday: q4, newbie's question and the article's topic.
    let later = f
        .analytics(
            &w.admin,
            w.c,
            datetime!(2026-01-06 00:00 UTC),
            datetime!(2026-01-12 00:00 UTC),
        )
        .unwrap();
    assert_eq!((later.topics, later.questions, later.solved), (3, 2, 1));
    assert_eq!(later.median_solution_hours, Some(24.5));
    assert_eq!(later.median_first_reply_minutes, Some(30.0));
    assert!((later.replied_share - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(later.new_members, 1);

    // A quarter later nobody has been back: everyone is inactive.
    clock.set(datetime!(2026-04-20 10:00 UTC));
    let spring = f
        .analytics(
            &w.admin,
            w.c,
            datetime!(2026-04-13 00:00 UTC),
            datetime!(2026-04-20 00:00 UTC),
        )
        .unwrap();
    assert_eq!(spring.inactive_90_days_share, 1.0);
    assert_eq!((spring.posts, spring.weekly_active), (0, 0));
}

#[test]
fn only_staff_read_analytics_and_periods_are_bounded() {
    let w = World::new();
    let f = w.forum();
    let now = f.now();
    assert!(matches!(
        f.analytics(&w.member, w.c, now - Duration::days(7), now),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.analytics(&Actor::Guest, w.c, now - Duration::days(7), now),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.analytics(&w.admin, w.c, now, now - Duration::days(1)),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        f.analytics(&w.admin, w.c, now - Duration::days(800), now),
        Err(Error::Invalid { .. })
    ));
}
