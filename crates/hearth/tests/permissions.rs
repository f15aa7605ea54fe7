//! The permission matrix: every role against every visibility, on every
//! read path. Nothing private may leak, counts included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ClockExt, WORDS, World};
use hearth::{Actor, CommunitySettings, Error, EventId, PageRequest, SearchQuery, TopicFilter};

/// Which of (public, members, groups) each actor may read.
fn expectations(w: &World) -> Vec<(&'static str, Actor, [bool; 3])> {
    vec![
        ("guest", Actor::Guest, [true, false, false]),
        ("outsider", w.outsider, [true, false, false]),
        ("member", w.member, [true, true, false]),
        ("group member", w.group_member, [true, true, true]),
        ("moderator", w.moderator, [true, true, true]),
        ("admin", w.admin, [true, true, true]),
        ("owner", w.owner, [true, true, true]),
        ("system", Actor::System, [true, true, true]),
    ]
}

#[test]
fn matrix_of_roles_and_visibilities() {
    let w = World::new();
    let f = w.forum();
    let cats = [&w.public, &w.members_only, &w.group_only];
    for (who, actor, can) in expectations(&w) {
        let readable = can.iter().filter(|b| **b).count();

        // Category list and single category.
        let listed = f.categories(&actor, w.c).unwrap();
        assert_eq!(listed.len(), readable, "{who}: categories");
        for (cat, ok) in cats.iter().zip(can) {
            let r = f.category(&actor, w.c, cat.id);
            assert_eq!(r.is_ok(), ok, "{who}: category {}", cat.slug);
            if !ok {
                assert!(
                    matches!(r, Err(Error::NotFound { .. })),
                    "{who}: not found, not forbidden"
                );
            }
        }

        // Latest list, overall and per category.
        let latest = f
            .latest(
                &actor,
                w.c,
                &TopicFilter::default(),
                &PageRequest::first(100),
            )
            .unwrap();
        assert_eq!(latest.items.len(), readable, "{who}: latest");

        // Groups, their members: members only (and the system).
        let member = !matches!(who, "guest" | "outsider");
        let by_name = f.group_by_name(&actor, w.c, "VENDORS");
        assert_eq!(by_name.is_ok(), member, "{who}: group by name");
        assert_eq!(
            f.group(&actor, w.c, w.group).is_ok(),
            member,
            "{who}: group"
        );
        match f.group_members(&actor, w.c, w.group, 0, 10) {
            Ok(list) => {
                assert!(member, "{who}: group members");
                let names: Vec<&str> = list.iter().map(|m| m.user.username.as_str()).collect();
                assert_eq!(names, ["vendor_vic"], "{who}: group members");
            }
            Err(e) => {
                assert!(!member, "{who}: group members: {e}");
                assert!(matches!(e, Error::Forbidden { .. }), "{who}: {e}");
            }
        }

        // The community's newest posts: a question and its answer per
        // readable category, nothing else; paging by `before`.
        let posts = f.latest_posts(&actor, w.c, None, 50).unwrap();
        assert_eq!(posts.len(), 2 * readable, "{who}: latest posts");
        let readable_topics: Vec<_> = w
            .topics
            .iter()
            .zip(can)
            .filter(|(_, ok)| *ok)
            .map(|((t, _), _)| *t)
            .collect();
        assert!(
            posts.iter().all(|p| readable_topics.contains(&p.topic)),
            "{who}: latest posts only from readable topics"
        );
        if let Some(newest) = posts.first() {
            let older = f.latest_posts(&actor, w.c, Some(newest.id), 50).unwrap();
            assert_eq!(older.len(), posts.len() - 1, "{who}: before");
        }

        // Tags: every topic carries "setup"; counted over what is read.
        let tags = f.tags(&actor, w.c, 100).unwrap();
        let setup = tags
            .iter()
            .find(|t| t.name == "setup")
            .map_or(0, |t| t.topic_count);
        assert_eq!(setup, readable as i64, "{who}: tags");

        // The about page's counts: only what the actor may read.
        let about = f.about(&actor, w.c).unwrap();
        assert_eq!(about.topic_count, readable as i64, "{who}: about topics");
        assert_eq!(
            about.post_count,
            latest.items.iter().map(|t| t.post_count).sum::<i64>(),
            "{who}: about posts"
        );
        assert_eq!(
            about.like_count,
            latest.items.iter().map(|t| t.like_count).sum::<i64>(),
            "{who}: about likes"
        );
        for (cat, ok) in cats.iter().zip(can) {
            let r = f.latest(
                &actor,
                w.c,
                &TopicFilter {
                    category: Some(cat.id),
                    tag: None,
                },
                &PageRequest::first(100),
            );
            assert_eq!(r.is_ok(), ok, "{who}: latest in {}", cat.slug);
        }

        // Topic, post and revisions reads.
        for ((topic, answer), ok) in w.topics.iter().zip(can) {
            let r = f.topic(&actor, w.c, *topic, &PageRequest::first(20));
            assert_eq!(r.is_ok(), ok, "{who}: topic");
            if !ok {
                assert!(
                    matches!(r, Err(Error::NotFound { .. })),
                    "{who}: topic is 404"
                );
            }
            assert_eq!(f.post(&actor, w.c, *answer).is_ok(), ok, "{who}: post");
            assert_eq!(
                f.replies(&actor, w.c, *answer).is_ok(),
                ok,
                "{who}: replies"
            );
            assert_eq!(
                f.revisions(&actor, w.c, *answer).is_ok(),
                ok,
                "{who}: revisions"
            );
        }

        // Search: results and the total.
        let all = f
            .search(&actor, w.c, &SearchQuery::new("configure"))
            .unwrap();
        assert_eq!(all.total as usize, readable * 2, "{who}: search total");
        assert_eq!(all.hits.len(), readable * 2, "{who}: search hits");
        for (word, ok) in WORDS.iter().zip(can) {
            let r = f.search(&actor, w.c, &SearchQuery::new(word)).unwrap();
            assert_eq!(r.total > 0, ok, "{who}: search {word}");
            assert_eq!(r.hits.is_empty(), !ok, "{who}: search {word} hits");
        }

        // Similar topics.
        for (word, ok) in WORDS.iter().zip(can) {
            let r = f
                .similar_topics(&actor, w.c, &format!("{word} problem"), 5)
                .unwrap();
            assert_eq!(!r.is_empty(), ok, "{who}: similar {word}");
        }

        // Events: none about an unreadable category, and the readable ones are there.
        let events = f.events_after(&actor, w.c, EventId(0), 1000).unwrap();
        for (cat, ok) in cats.iter().zip(can) {
            let about = events.iter().filter(|e| e.category == Some(cat.id)).count();
            assert_eq!(about > 0, ok, "{who}: events of {}", cat.slug);
        }
        let staff_events = events.iter().any(|e| e.audience == hearth::Audience::Staff);
        let is_staff = matches!(who, "moderator" | "admin" | "owner" | "system");
        assert_eq!(staff_events, is_staff, "{who}: staff-only events");
        if matches!(who, "guest" | "outsider") {
            assert!(
                events
                    .iter()
                    .all(|e| e.audience == hearth::Audience::Public),
                "{who}: only public events"
            );
        }
    }
}

#[test]
fn private_community_is_invisible_to_non_members() {
    let w = World::new();
    let f = w.forum();
    let settings = CommunitySettings {
        public_access: false,
        ..CommunitySettings::default()
    };
    f.update_community(&w.admin, w.c, "Acme", settings).unwrap();
    for actor in [Actor::Guest, w.outsider] {
        assert!(matches!(
            f.community(&actor, w.c),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.latest(
                &actor,
                w.c,
                &TopicFilter::default(),
                &PageRequest::first(10)
            ),
            Err(Error::NotFound { .. })
        ));
        assert!(
            f.search(&actor, w.c, &SearchQuery::new("configure"))
                .is_err()
        );
        assert!(
            f.similar_topics(&actor, w.c, "configure zebrapublic", 5)
                .is_err()
        );
        assert!(f.events_after(&actor, w.c, EventId(0), 10).is_err());
        assert!(
            f.topic(&actor, w.c, w.topics[0].0, &PageRequest::first(5))
                .is_err()
        );
        assert!(f.categories(&actor, w.c).is_err());
        assert!(f.member_by_username(&actor, w.c, "member_mia").is_err());
    }
    // Members still see public and member categories.
    let latest = f
        .latest(
            &w.member,
            w.c,
            &TopicFilter::default(),
            &PageRequest::first(10),
        )
        .unwrap();
    assert_eq!(latest.items.len(), 2);
}

#[test]
fn nothing_crosses_communities() {
    let w = World::new();
    let f = w.forum();
    let other_owner = w.t.user("other_owner");
    let other = f
        .create_community(
            &Actor::System,
            hearth::NewCommunity {
                slug: "other".into(),
                name: "Other".into(),
                owner: Some(other_owner),
                ..Default::default()
            },
        )
        .unwrap();
    let oo = Actor::User(other_owner);
    // Ids of community A used through community B are not found.
    let (topic, answer) = w.topics[0];
    assert!(matches!(
        f.topic(&oo, other.id, topic, &PageRequest::first(5)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.post(&oo, other.id, answer),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.category(&oo, other.id, w.public.id),
        Err(Error::NotFound { .. })
    ));
    assert!(
        f.latest(
            &oo,
            other.id,
            &TopicFilter::default(),
            &PageRequest::first(10)
        )
        .unwrap()
        .items
        .is_empty()
    );
    assert_eq!(
        f.search(&oo, other.id, &SearchQuery::new("configure"))
            .unwrap()
            .total,
        0
    );
    assert!(
        f.events_after(&oo, other.id, EventId(0), 1000)
            .unwrap()
            .iter()
            .all(|e| e.community == other.id)
    );
    // Owning A gives no power in B.
    assert!(
        f.create_category(
            &w.owner,
            other.id,
            hearth::NewCategory::new("x", "x", hearth::CategoryKind::Discussion)
        )
        .is_err()
    );
    assert!(matches!(
        f.member_by_username(&oo, other.id, "member_mia"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn visibility_changes_apply_at_once() {
    let w = World::new();
    let f = w.forum();
    let mut update =
        hearth::NewCategory::new("public", "public", hearth::CategoryKind::QuestionAndAnswer)
            .visibility(hearth::Visibility::Members);
    update.position = None;
    f.update_category(&w.admin, w.c, w.public.id, update)
        .unwrap();
    assert!(
        f.latest(
            &Actor::Guest,
            w.c,
            &TopicFilter::default(),
            &PageRequest::first(10)
        )
        .unwrap()
        .items
        .is_empty()
    );
    assert_eq!(
        f.search(&Actor::Guest, w.c, &SearchQuery::new("configure"))
            .unwrap()
            .total,
        0
    );
    assert!(
        f.events_after(&Actor::Guest, w.c, EventId(0), 1000)
            .unwrap()
            .iter()
            .all(|e| e.category.is_none())
    );
}

#[test]
fn suspended_members_are_guests_and_silenced_members_cannot_post() {
    let w = World::new();
    let f = w.forum();
    let Actor::User(mia) = w.member else {
        unreachable!()
    };
    let later = w.t.clock.now_plus_days(3);
    f.set_member_state(&w.moderator, w.c, mia, Some(later), None)
        .unwrap();
    let r = f.reply(
        &w.member,
        w.c,
        w.topics[0].0,
        hearth::NewReply {
            body: "hi".into(),
            reply_to: None,
        },
    );
    assert!(matches!(r, Err(Error::Forbidden { .. })));
    // still reads members-only content
    assert!(
        f.topic(&w.member, w.c, w.topics[1].0, &PageRequest::first(5))
            .is_ok()
    );
    f.set_member_state(&w.moderator, w.c, mia, None, Some(later))
        .unwrap();
    assert!(
        f.topic(&w.member, w.c, w.topics[1].0, &PageRequest::first(5))
            .is_err()
    );
    // the suspension ends by itself
    w.t.clock.advance(time::Duration::days(4));
    assert!(
        f.topic(&w.member, w.c, w.topics[1].0, &PageRequest::first(5))
            .is_ok()
    );
    // moderators cannot be silenced by moderators
    let Actor::User(max) = w.moderator else {
        unreachable!()
    };
    assert!(matches!(
        f.set_member_state(&w.moderator, w.c, max, Some(later), None),
        Err(Error::Forbidden { .. })
    ));
    // members cannot moderate
    assert!(matches!(
        f.set_member_state(&w.member, w.c, max, Some(later), None),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn about_lists_staff_and_counts_members_who_acted_in_the_window() {
    let w = World::new();
    let f = w.forum();
    let names = |users: &[hearth::UserRef]| -> Vec<String> {
        users.iter().map(|u| u.username.clone()).collect()
    };
    let about = f.about(&Actor::Guest, w.c).unwrap();
    assert_eq!(names(&about.admins), ["admin_ann", "olivia_owner"]);
    assert_eq!(names(&about.moderators), ["mod_max"]);
    assert_eq!(about.member_count, 5);
    // The owner, the admin, the moderator and the vendor acted while the
    // world was built; member_mia has not done anything yet.
    assert_eq!(
        (about.active_members_7_days, about.active_members_30_days),
        (4, 4)
    );

    // A week and a day later only today's activity is within 7 days.
    w.t.clock.advance(time::Duration::days(8));
    let (topic, _) = w.topics[0];
    f.reply(
        &w.member,
        w.c,
        topic,
        hearth::NewReply {
            body: "Thanks, that worked for me too.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    let about = f.about(&w.member, w.c).unwrap();
    assert_eq!(
        (about.active_members_7_days, about.active_members_30_days),
        (1, 5)
    );

    // The 30-day window: the reply's day is in it 29 days later, not 30.
    w.t.clock.advance(time::Duration::days(29));
    assert_eq!(f.about(&w.member, w.c).unwrap().active_members_30_days, 1);
    w.t.clock.advance(time::Duration::days(1));
    assert_eq!(f.about(&w.member, w.c).unwrap().active_members_30_days, 0);
}

#[test]
fn group_members_say_when_they_were_added_and_page_by_offset() {
    use hearth::Clock;
    let w = World::new();
    let f = w.forum();
    let added = w.t.clock.now();
    let list = f.group_members(&w.member, w.c, w.group, 0, 10).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].added_at, added);
    // Later additions page after the first, by username.
    w.t.clock.advance(time::Duration::hours(1));
    let Actor::User(mia) = w.member else {
        unreachable!()
    };
    f.add_to_group(&w.admin, w.c, w.group, mia).unwrap();
    let all = f.group_members(&w.member, w.c, w.group, 0, 10).unwrap();
    let names: Vec<&str> = all.iter().map(|m| m.user.username.as_str()).collect();
    assert_eq!(names, ["member_mia", "vendor_vic"]);
    assert_eq!(all[0].added_at, added + time::Duration::hours(1));
    let second = f.group_members(&w.member, w.c, w.group, 1, 1).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].user.username, "vendor_vic");
    assert!(
        f.group_members(&w.member, w.c, w.group, 2, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.group_by_name(&w.member, w.c, "vendors")
            .unwrap()
            .member_count,
        2
    );

    // vic writes in the group-only category: a member who can't read it
    // (mia, out of the group again) does not learn when.
    f.remove_from_group(&w.admin, w.c, w.group, mia).unwrap();
    let vic_last = |actor: &Actor| {
        f.group_members(actor, w.c, w.group, 0, 10)
            .unwrap()
            .into_iter()
            .find(|m| m.user.username == "vendor_vic")
            .and_then(|m| m.last_posted_at)
    };
    let before = vic_last(&w.member);
    w.t.clock.advance(time::Duration::hours(1));
    let (group_topic, _) = w.topics[2];
    f.reply(
        &w.group_member,
        w.c,
        group_topic,
        hearth::NewReply {
            body: "Vendor-only follow-up.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    assert_eq!(vic_last(&w.member), before);
    assert_eq!(vic_last(&w.admin), Some(w.t.clock.now()));
}

#[test]
fn groups_are_renamed_batched_and_deleted_by_admins_without_changing_who_sees_what() {
    use hearth::{AuditAction, AuditFilter, MAX_GROUP_CHANGE, Target};
    let w = World::new();
    let f = w.forum();
    let user = |a: Actor| match a {
        Actor::User(u) => u,
        _ => unreachable!(),
    };
    let (mia, vic, oz) = (user(w.member), user(w.group_member), user(w.outsider));

    // Only admins manage groups.
    for who in [
        Actor::Guest,
        w.outsider,
        w.member,
        w.group_member,
        w.moderator,
    ] {
        let r = f.update_group(&who, w.c, w.group, "renamed", "");
        assert!(matches!(
            r,
            Err(Error::Forbidden { .. }) | Err(Error::NotFound { .. })
        ));
        let r = f.add_group_members(&who, w.c, w.group, &[mia]);
        assert!(matches!(
            r,
            Err(Error::Forbidden { .. }) | Err(Error::NotFound { .. })
        ));
        let r = f.delete_group(&who, w.c, w.group);
        assert!(matches!(
            r,
            Err(Error::Forbidden { .. }) | Err(Error::NotFound { .. })
        ));
    }

    // All or none: someone outside the community fails the whole call.
    let r = f.add_group_members(&w.admin, w.c, w.group, &[mia, oz]);
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    assert_eq!(f.group(&w.admin, w.c, w.group).unwrap().member_count, 1);
    // Only the newly added are reported, each once.
    assert_eq!(
        f.add_group_members(&w.admin, w.c, w.group, &[mia, vic, mia])
            .unwrap(),
        [mia]
    );
    assert!(
        f.group_members(&w.member, w.c, w.group, 0, 10)
            .unwrap()
            .len()
            == 2
    );
    // The limit, at its boundary.
    let many = vec![mia; MAX_GROUP_CHANGE];
    assert!(
        f.add_group_members(&w.admin, w.c, w.group, &many)
            .unwrap()
            .is_empty()
    );
    let too_many = vec![mia; MAX_GROUP_CHANGE + 1];
    let r = f.remove_group_members(&w.admin, w.c, w.group, &too_many);
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    assert_eq!(
        f.remove_group_members(&w.admin, w.c, w.group, &[mia, oz])
            .map_err(|e| e.to_string()),
        Err(f
            .remove_group_members(&w.admin, w.c, w.group, &[oz])
            .unwrap_err()
            .to_string())
    );
    assert_eq!(
        f.remove_group_members(&w.admin, w.c, w.group, &[mia])
            .unwrap(),
        [mia]
    );

    // Renaming keeps members and access; names stay unique.
    let other = f.create_group(&w.admin, w.c, "helpers", "").unwrap();
    let r = f.update_group(&w.admin, w.c, w.group, "Helpers", "");
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    let renamed = f
        .update_group(&w.admin, w.c, w.group, " Partners ", "Our partners")
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.member_count),
        ("Partners", 1)
    );
    assert!(matches!(
        f.group_by_name(&w.member, w.c, "vendors"),
        Err(Error::NotFound { .. })
    ));
    let (group_topic, _) = w.topics[2];
    assert!(
        f.topic(&w.group_member, w.c, group_topic, &PageRequest::default())
            .is_ok()
    );

    // A group that guards a category is not deleted: that would change
    // who may read it as a side effect.
    let r = f.delete_group(&w.admin, w.c, w.group);
    match r {
        Err(Error::Conflict { reason }) => assert!(reason.contains("vendors"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        f.topic(&w.group_member, w.c, group_topic, &PageRequest::default())
            .is_ok()
    );
    assert!(
        f.topic(&w.member, w.c, group_topic, &PageRequest::default())
            .is_err()
    );

    // Any other group goes, with its memberships, and the log says so.
    f.add_group_members(&w.admin, w.c, other.id, &[mia, vic])
        .unwrap();
    f.delete_group(&w.admin, w.c, other.id).unwrap();
    assert!(matches!(
        f.group(&w.admin, w.c, other.id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(f.own_groups(&w.member, w.c).unwrap(), []);
    assert_eq!(f.own_groups(&w.group_member, w.c).unwrap(), [w.group]);
    let log = f
        .audit_log(
            &w.admin,
            w.c,
            &AuditFilter {
                target: Some(Target::Group(other.id)),
                ..Default::default()
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].action, AuditAction::GroupDeleted);
    assert_eq!(log.items[0].before["members"], 2);
}

#[test]
fn staff_list_members_by_filter_and_order_and_find_one_by_email() {
    use hearth::{
        Clock, MAX_MEMBER_LIST, MemberFilter, MemberOrder, MemberQuery, NewLogin, NewUser, Role,
        TrustLevel,
    };
    let w = World::new();
    let f = w.forum();
    let names = |q: &MemberQuery| -> Vec<String> {
        f.member_list(&w.moderator, w.c, q)
            .unwrap()
            .into_iter()
            .map(|m| m.user.username)
            .collect()
    };
    let q = |filter, order, ascending| MemberQuery {
        filter,
        order,
        ascending,
        limit: 100,
        ..Default::default()
    };
    // Only staff.
    for who in [Actor::Guest, w.outsider, w.member, w.group_member] {
        let r = f.member_list(&who, w.c, &q(MemberFilter::All, MemberOrder::Joined, false));
        assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
    }
    let everyone = [
        "admin_ann",
        "member_mia",
        "mod_max",
        "olivia_owner",
        "vendor_vic",
    ];
    assert_eq!(
        names(&q(MemberFilter::All, MemberOrder::Username, true)),
        everyone
    );
    let mut reversed = everyone;
    reversed.reverse();
    assert_eq!(
        names(&q(MemberFilter::All, MemberOrder::Username, false)),
        reversed
    );
    // Joined newest first by default; ties (one frozen clock) by id.
    assert_eq!(
        names(&MemberQuery {
            limit: 2,
            ..Default::default()
        }),
        ["vendor_vic", "member_mia"]
    );
    assert_eq!(
        names(&MemberQuery {
            limit: 2,
            offset: 4,
            ..Default::default()
        }),
        ["olivia_owner"]
    );
    assert_eq!(
        names(&q(MemberFilter::Staff, MemberOrder::Username, true)),
        ["admin_ann", "mod_max", "olivia_owner"]
    );

    // Seen: never seen last, whichever the direction.
    let Actor::User(vic) = w.group_member else {
        unreachable!()
    };
    let Actor::User(mia) = w.member else {
        unreachable!()
    };
    f.touch_last_seen(mia).unwrap();
    w.t.clock.advance(time::Duration::hours(1));
    f.touch_last_seen(vic).unwrap();
    let seen = |asc| names(&q(MemberFilter::All, MemberOrder::Seen, asc))[..2].to_vec();
    assert_eq!(seen(false), ["vendor_vic", "member_mia"]);
    assert_eq!(seen(true), ["member_mia", "vendor_vic"]);

    // Trust levels and sanctions.
    f.set_trust_level(&w.admin, w.c, mia, Some(TrustLevel::New), None)
        .unwrap();
    f.set_trust_level(&w.admin, w.c, vic, Some(TrustLevel::Regular), None)
        .unwrap();
    assert!(
        names(&q(MemberFilter::New, MemberOrder::Username, true)).contains(&"member_mia".into())
    );
    assert!(
        !names(&q(MemberFilter::New, MemberOrder::Username, true)).contains(&"vendor_vic".into())
    );
    assert_eq!(
        names(&q(MemberFilter::All, MemberOrder::TrustLevel, false))[0],
        "vendor_vic"
    );
    let week = w.t.clock.now() + time::Duration::days(7);
    f.silence_member(&w.moderator, w.c, mia, Some(week), "Spam")
        .unwrap();
    f.suspend_member(&w.moderator, w.c, vic, Some(week), "Abuse")
        .unwrap();
    assert_eq!(
        names(&q(MemberFilter::Silenced, MemberOrder::Joined, false)),
        ["member_mia"]
    );
    assert_eq!(
        names(&q(MemberFilter::Suspended, MemberOrder::Joined, false)),
        ["vendor_vic"]
    );
    // A sanction that ended is not listed.
    w.t.clock.advance(time::Duration::days(8));
    assert!(names(&q(MemberFilter::Suspended, MemberOrder::Joined, false)).is_empty());

    // By e-mail, in any letter case; an address nobody has finds nobody.
    let eve = f
        .create_account(
            NewUser::new("eve_email"),
            NewLogin {
                email: "Eve@Example.com".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                confirmed: true,
            },
        )
        .unwrap();
    f.add_member(&w.owner, w.c, eve.id, Role::Member).unwrap();
    let by_email = |email: &str| -> Vec<String> {
        let q = MemberQuery {
            email: Some(email.into()),
            limit: 10,
            ..Default::default()
        };
        f.member_list(&w.admin, w.c, &q)
            .unwrap()
            .into_iter()
            .map(|m| m.user.username)
            .collect()
    };
    assert_eq!(by_email(" eve@example.COM "), ["eve_email"]);
    // …and only for admins: moderators may not probe addresses.
    let probe = MemberQuery {
        email: Some("eve@example.com".into()),
        limit: 10,
        ..Default::default()
    };
    assert!(matches!(
        f.member_list(&w.moderator, w.c, &probe),
        Err(Error::Forbidden { .. })
    ));
    assert!(by_email("nobody@example.com").is_empty());

    // The page size is capped.
    assert_eq!(
        f.member_list(
            &w.admin,
            w.c,
            &MemberQuery {
                limit: MAX_MEMBER_LIST + 1,
                ..Default::default()
            }
        )
        .unwrap()
        .len(),
        6
    );
    // A member's groups, for members.
    let groups = f.member_groups(&w.member, w.c, vic).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id, w.group);
    assert!(f.member_groups(&w.member, w.c, mia).unwrap().is_empty());
    assert!(f.member_groups(&w.outsider, w.c, vic).is_err());
}

#[test]
fn top_topics_rank_recent_activity_and_show_only_what_the_reader_may_read() {
    use hearth::{MAX_TOP_TOPICS, NewReply, NewTopic, TopPeriod};
    let w = World::new();
    let f = w.forum();
    let titles = |actor: &Actor, period, offset, limit| -> Vec<String> {
        f.top_topics(actor, w.c, period, offset, limit)
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect()
    };
    // Each role sees its readable categories' topics only.
    for (who, actor, can) in expectations(&w) {
        let shown = titles(&actor, TopPeriod::All, 0, MAX_TOP_TOPICS);
        for (i, word) in WORDS.iter().enumerate() {
            let listed = shown.iter().any(|t| t.contains(word));
            assert_eq!(listed, can[i], "{who}: {word} in {shown:?}");
        }
    }
    // A busier, newer topic ranks first; the window is rolling.
    w.t.clock.advance(time::Duration::days(3));
    let (busy, _) = f
        .create_topic(
            &w.member,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "A busy question about exports".into(),
                body: "How do exports work?".into(),
                tags: vec![],
            },
        )
        .unwrap();
    for body in [
        "First answer here.",
        "Second answer here.",
        "Third answer here.",
    ] {
        f.reply(
            &w.moderator,
            w.c,
            busy.id,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap();
    }
    assert_eq!(
        titles(&w.admin, TopPeriod::All, 0, 1),
        ["A busy question about exports"]
    );
    assert_eq!(titles(&w.admin, TopPeriod::Daily, 0, 10).len(), 1);
    assert_eq!(titles(&w.admin, TopPeriod::Weekly, 0, 10).len(), 4);
    assert_eq!(titles(&w.admin, TopPeriod::All, 1, 10).len(), 3);
    w.t.clock.advance(time::Duration::days(2));
    assert!(titles(&w.admin, TopPeriod::Daily, 0, 10).is_empty());
    // The page size is capped.
    assert_eq!(
        f.top_topics(&w.admin, w.c, TopPeriod::All, 0, MAX_TOP_TOPICS + 50)
            .unwrap()
            .len(),
        4
    );
    assert_eq!(TopPeriod::parse("quarterly"), Some(TopPeriod::Quarterly));
    assert_eq!(TopPeriod::parse("hourly"), None);
}
