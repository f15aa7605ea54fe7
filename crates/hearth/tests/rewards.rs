//! The points ledger and badges: awards, integrity rules, reversals, totals.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, BadgeTier, CategoryKind, Error, EventId, EventKind, NewBadge, NewCategory, NewReply,
    NewTopic, PageRequest, Period, Rule,
};

fn uid(a: Actor) -> hearth::UserId {
    match a {
        Actor::User(u) => u,
        _ => unreachable!(),
    }
}

fn reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
    }
}

#[test]
fn the_world_fixture_earned_what_the_rules_say() {
    // World: vendor_vic asked 3 questions (1 point each), mod_max answered
    // 3 (1 each), vic liked and accepted each answer (2 + 15 each).
    let w = World::new();
    let f = w.forum();
    assert_eq!(
        f.points(&w.member, w.c, uid(w.group_member), Period::AllTime)
            .unwrap(),
        3
    );
    assert_eq!(
        f.points(&w.member, w.c, uid(w.moderator), Period::AllTime)
            .unwrap(),
        3 * (1 + 2 + 15)
    );
    let board = f.leaderboard(&Actor::Guest, w.c, Period::Week, 10).unwrap();
    assert_eq!(board[0].user.username, "mod_max");
    assert_eq!(board[0].rank, 1);
    assert_eq!(board[1].points, 3);
}

#[test]
fn reversals_follow_their_cause() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    let max = uid(w.moderator);
    let before = f.points(&w.admin, w.c, max, Period::AllTime).unwrap();
    f.like(&w.member, w.c, answer).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, max, Period::AllTime).unwrap(),
        before + 2
    );
    f.unlike(&w.member, w.c, answer).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, max, Period::AllTime).unwrap(),
        before
    );
    // Un-accepting takes the 15 back; accepting another answer moves them.
    f.unaccept_answer(&w.group_member, w.c, topic).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, max, Period::AllTime).unwrap(),
        before - 15
    );
    let other = f
        .reply(&w.member, w.c, topic, reply("try turning it off and on"))
        .unwrap();
    f.accept_answer(&w.group_member, w.c, answer).unwrap();
    f.accept_answer(&w.group_member, w.c, other.id).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, max, Period::AllTime).unwrap(),
        before - 15
    );
    assert_eq!(
        f.points(&w.admin, w.c, uid(w.member), Period::AllTime)
            .unwrap(),
        1 + 15
    );
    // Deleting a post takes back everything it earned.
    f.delete_post(&w.moderator, w.c, other.id).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, uid(w.member), Period::AllTime)
            .unwrap(),
        0
    );
    // The ledger shows both sides; reversals name what they cancel.
    let ledger = f
        .point_entries(&w.member, w.c, uid(w.member), &PageRequest::first(50))
        .unwrap();
    assert!(
        ledger
            .items
            .iter()
            .any(|e| e.points < 0 && e.reverses.is_some() && e.rule == Rule::AnswerAccepted)
    );
    assert!(matches!(
        f.point_entries(&w.member, w.c, max, &PageRequest::first(5)),
        Err(Error::Forbidden { .. })
    ));
    // Events: earned and reversed.
    let kinds: Vec<EventKind> = f
        .events_after(&Actor::System, w.c, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&EventKind::RewardEarned) && kinds.contains(&EventKind::RewardReversed));
    // The per-day sums that totals read always equal the ledger.
    let mismatches = w.t.query_one::<i64>(
        "SELECT count(*) FROM (SELECT user_id, sum(points) s FROM point_entries GROUP BY user_id) e
         JOIN (SELECT user_id, sum(points) s FROM point_days GROUP BY user_id) d USING (user_id)
         WHERE e.s <> d.s",
    );
    assert_eq!(mismatches, 0);
}

#[test]
fn integrity_rules() {
    let w = World::new();
    let f = w.forum();
    // Accepting your own answer earns nothing.
    let (q, _) = f
        .create_topic(
            &w.member,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "Self answered question".into(),
                body: "q".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let mine = f
        .reply(&w.member, w.c, q.id, reply("found it myself"))
        .unwrap();
    let mia = uid(w.member);
    let before = f.points(&w.admin, w.c, mia, Period::AllTime).unwrap();
    f.accept_answer(&w.member, w.c, mine.id).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, mia, Period::AllTime).unwrap(),
        before
    );
    // Categories that opt out earn nothing.
    let mut lounge = NewCategory::new("lounge", "Lounge", CategoryKind::QuestionAndAnswer);
    lounge.rewards = false;
    let lounge = f.create_category(&w.admin, w.c, lounge).unwrap();
    f.create_topic(
        &w.member,
        w.c,
        NewTopic {
            category: lounge.id,
            title: "Casual question".into(),
            body: "q".into(),
            tags: vec![],
        },
    )
    .unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, mia, Period::AllTime).unwrap(),
        before
    );
    // The daily cap holds per rule: 2 points a like, cap 5 → 2, 2, 1, 0.
    let mut s = f.community(&w.admin, w.c).unwrap().settings;
    s.rewards.daily_cap = 5;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    let likers: Vec<Actor> = (0..4)
        .map(|i| {
            let u = w.t.user(&format!("liker{i}"));
            f.join(&Actor::User(u), w.c).unwrap();
            Actor::User(u)
        })
        .collect();
    let before = f.points(&w.admin, w.c, mia, Period::Day).unwrap();
    let mut seen = Vec::new();
    for l in &likers {
        f.like(l, w.c, mine.id).unwrap();
        seen.push(f.points(&w.admin, w.c, mia, Period::Day).unwrap() - before);
    }
    assert_eq!(seen, vec![2, 4, 5, 5]);
    // A new day, a new cap.
    w.t.clock.advance(time::Duration::days(1));
    let (t2, _) = f
        .create_topic(
            &likers[0],
            w.c,
            NewTopic {
                category: w.public.id,
                title: "Next day question".into(),
                body: "q".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let r = f.reply(&w.member, w.c, t2.id, reply("answer")).unwrap();
    f.like(&likers[0], w.c, r.id).unwrap();
    assert_eq!(f.points(&w.admin, w.c, mia, Period::Day).unwrap(), 1 + 2);
    assert!(f.points(&w.admin, w.c, mia, Period::Week).unwrap() >= 3);
}

#[test]
fn manual_awards_and_ties() {
    let w = World::new();
    let f = w.forum();
    assert!(matches!(
        f.award_points(&w.member, w.c, uid(w.member), 5, "nice"),
        Err(Error::Forbidden { .. })
    ));
    f.award_points(&w.admin, w.c, uid(w.member), 3, "helped at the meetup")
        .unwrap();
    // vendor_vic has 3 too: a shared rank.
    let board = f.leaderboard(&w.member, w.c, Period::AllTime, 10).unwrap();
    let ranks: Vec<(String, u32, i64)> = board
        .iter()
        .map(|s| (s.user.username.clone(), s.rank, s.points))
        .collect();
    assert_eq!(ranks[1].1, 2);
    assert_eq!(ranks[2].1, 2);
    assert_eq!(ranks[1].2, ranks[2].2);
    assert!(matches!(
        f.award_points(&w.admin, w.c, uid(w.outsider), 3, "x"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn badges_are_idempotent_and_private_posts_stay_private() {
    let w = World::new();
    let f = w.forum();
    let nb = |slug: &str, multiple: bool| NewBadge {
        slug: slug.into(),
        name: slug.into(),
        description: String::new(),
        icon: String::new(),
        tier: BadgeTier::Bronze,
        multiple,
    };
    assert!(matches!(
        f.create_badge(&w.member, w.c, nb("x", false)),
        Err(Error::Forbidden { .. })
    ));
    f.create_badge(&w.admin, w.c, nb("first-answer", false))
        .unwrap();
    f.create_badge(&Actor::System, w.c, nb("great-answer", true))
        .unwrap();
    assert!(matches!(
        f.create_badge(&w.admin, w.c, nb("first-answer", false)),
        Err(Error::Conflict { .. })
    ));
    let max = uid(w.moderator);
    let (_, public_answer) = w.topics[0];
    let (_, group_answer) = w.topics[2];
    assert!(
        f.grant_badge(
            &Actor::System,
            w.c,
            "first-answer",
            max,
            Some(public_answer),
            "first accepted answer"
        )
        .unwrap()
    );
    assert!(
        !f.grant_badge(
            &Actor::System,
            w.c,
            "first-answer",
            max,
            Some(group_answer),
            "again"
        )
        .unwrap(),
        "once only"
    );
    assert!(
        f.grant_badge(
            &Actor::System,
            w.c,
            "great-answer",
            max,
            Some(public_answer),
            "10 likes"
        )
        .unwrap()
    );
    assert!(
        !f.grant_badge(
            &Actor::System,
            w.c,
            "great-answer",
            max,
            Some(public_answer),
            "10 likes"
        )
        .unwrap(),
        "same post"
    );
    assert!(
        f.grant_badge(
            &Actor::System,
            w.c,
            "great-answer",
            max,
            Some(group_answer),
            "10 likes"
        )
        .unwrap()
    );
    assert!(matches!(
        f.grant_badge(&w.member, w.c, "great-answer", max, None, ""),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.grant_badge(&Actor::System, w.c, "nope", max, None, ""),
        Err(Error::NotFound { .. })
    ));
    // A member who cannot read the group category sees the badge, not the post.
    let seen = f.member_badges(&w.member, w.c, max).unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|g| g.post != Some(group_answer)));
    assert!(
        f.member_badges(&w.group_member, w.c, max)
            .unwrap()
            .iter()
            .any(|g| g.post == Some(group_answer))
    );
    // Revoking, then granting again.
    assert!(
        f.revoke_badge(&w.admin, w.c, "first-answer", max, None)
            .unwrap()
    );
    assert!(
        !f.revoke_badge(&w.admin, w.c, "first-answer", max, None)
            .unwrap()
    );
    assert!(
        f.grant_badge(&Actor::System, w.c, "first-answer", max, None, "restored")
            .unwrap()
    );
    let granted = f
        .events_after(&Actor::System, w.c, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::BadgeGranted)
        .count();
    assert_eq!(granted, 4);
    assert_eq!(f.badges(&Actor::Guest, w.c).unwrap().len(), 2);
}

#[test]
fn badges_are_changed_counted_and_deleted_by_admins_with_their_grants() {
    use hearth::{AuditAction, AuditFilter, BadgeChange, Target};
    let w = World::new();
    let f = w.forum();
    let new = |slug: &str, multiple| NewBadge {
        slug: slug.into(),
        name: slug.into(),
        description: String::new(),
        icon: "star".into(),
        tier: BadgeTier::Bronze,
        multiple,
    };
    let helper = f.create_badge(&w.admin, w.c, new("helper", true)).unwrap();
    let kept = f.create_badge(&w.admin, w.c, new("kept", false)).unwrap();
    let (mia, max) = (uid(w.member), uid(w.moderator));
    let answers: Vec<_> = w.topics.iter().map(|(_, a)| *a).collect();
    for (who, post) in [(max, answers[0]), (max, answers[1]), (mia, answers[0])] {
        f.grant_badge(&w.admin, w.c, "helper", who, Some(post), "helped")
            .unwrap();
    }
    f.grant_badge(&w.admin, w.c, "kept", mia, None, "").unwrap();
    f.revoke_badge(&w.admin, w.c, "helper", mia, None).unwrap();
    let counts = |actor: &Actor| -> Vec<(String, i64)> {
        f.badge_counts(actor, w.c)
            .unwrap()
            .into_iter()
            .map(|c| (c.badge.slug, c.grants))
            .collect()
    };
    // Revoked grants are not counted; every reader sees the counts.
    assert_eq!(
        counts(&Actor::Guest),
        [("helper".into(), 2), ("kept".into(), 1)]
    );

    // Only admins change; the slug stays, unnamed fields are kept.
    let rename = BadgeChange {
        name: Some(" Great helper ".into()),
        tier: Some(BadgeTier::Gold),
        ..Default::default()
    };
    for who in [Actor::Guest, w.member, w.moderator] {
        assert!(matches!(
            f.update_badge(&who, w.c, helper.id, &rename),
            Err(Error::Forbidden { .. }) | Err(Error::NotFound { .. })
        ));
    }
    let bad = BadgeChange {
        name: Some(String::new()),
        ..Default::default()
    };
    assert!(matches!(
        f.update_badge(&w.admin, w.c, helper.id, &bad),
        Err(Error::Invalid { .. })
    ));
    let changed = f.update_badge(&w.admin, w.c, helper.id, &rename).unwrap();
    assert_eq!(
        (
            changed.slug.as_str(),
            changed.name.as_str(),
            changed.tier,
            changed.icon.as_str()
        ),
        ("helper", "Great helper", BadgeTier::Gold, "star")
    );
    assert_eq!(
        f.member_badges(&w.member, w.c, max).unwrap()[0].badge,
        changed
    );

    // Deleting takes the grants with it, and says how many in the log.
    assert!(matches!(
        f.delete_badge(&w.moderator, w.c, helper.id),
        Err(Error::Forbidden { .. })
    ));
    f.delete_badge(&w.admin, w.c, helper.id).unwrap();
    assert_eq!(counts(&w.admin), [("kept".into(), 1)]);
    assert!(f.member_badges(&w.admin, w.c, max).unwrap().is_empty());
    assert!(matches!(
        f.grant_badge(&w.admin, w.c, "helper", max, None, ""),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.delete_badge(&w.admin, w.c, helper.id),
        Err(Error::NotFound { .. })
    ));
    let log = f
        .audit_log(
            &w.admin,
            w.c,
            &AuditFilter {
                target: Some(Target::Badge(helper.id)),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .unwrap();
    let actions: Vec<AuditAction> = log.items.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [AuditAction::BadgeDeleted, AuditAction::BadgeUpdated]
    );
    assert_eq!(log.items[0].before["grants"], 2);
    assert_eq!(kept.slug, "kept");
}

#[test]
fn the_system_user_is_made_once_acts_as_an_admin_and_earns_nothing() {
    use hearth::{CommunitySettings, NewCommunity, Period, Role, SYSTEM_USERNAME};
    let w = World::new();
    let f = w.forum();
    let system = f.system_user(w.c).unwrap();
    assert_eq!(system.username, SYSTEM_USERNAME);
    assert_eq!(f.system_user(w.c).unwrap().id, system.id);
    assert_eq!(
        f.member(&w.admin, w.c, system.id).unwrap().role,
        Role::Admin
    );
    // One account, a membership per community.
    let other = f
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "other".into(),
                name: "Other".into(),
                owner: None,
                settings: CommunitySettings::for_bulk_writes(),
            },
        )
        .unwrap()
        .id;
    assert_eq!(f.system_user(other).unwrap().id, system.id);
    assert!(matches!(
        f.system_user(hearth::CommunityId(999_999)),
        Err(Error::NotFound { .. })
    ));
    // Nobody else can be called that.
    assert!(matches!(
        f.create_user(hearth::NewUser::new("System")),
        Err(Error::Invalid { .. })
    ));

    // It posts (in a read-only place too, as an admin) and earns nothing,
    // not even when its post is liked or accepted.
    let me = Actor::User(system.id);
    let (topic, _) = f
        .create_topic(
            &me,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "Scheduled maintenance on Sunday".into(),
                body: "The community will be read-only for an hour.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let answer = f
        .reply(&me, w.c, w.topics[0].0, reply("An answer from the system."))
        .unwrap();
    f.like(&w.member, w.c, answer.id).unwrap();
    assert_eq!(
        f.points(&w.admin, w.c, system.id, Period::AllTime).unwrap(),
        0
    );
    assert_eq!(topic.author.username, SYSTEM_USERNAME);
}
