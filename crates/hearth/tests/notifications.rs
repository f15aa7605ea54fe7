//! Notifications: who hears about what, watch levels, preferences, and
//! that nobody is told about content they may not read.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, BadgeTier, Delivery, Error, NewBadge, NewReply, NewTopic, NotificationKind, PageRequest,
    TopicId, UserId, WatchLevel,
};

fn uid(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn kinds(w: &World, who: &Actor) -> Vec<(NotificationKind, Option<TopicId>)> {
    w.forum()
        .notifications(who, w.c, &PageRequest::first(100), false)
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.kind, n.topic))
        .collect()
}

fn reply(w: &World, who: &Actor, topic: TopicId, body: &str) -> hearth::Post {
    w.forum()
        .reply(
            who,
            w.c,
            topic,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap()
}

#[test]
fn replies_likes_answers_and_badges_reach_their_people() {
    let w = World::new();
    // The fixture: vic asked three questions, max answered each, vic liked
    // and accepted each answer.
    let vic = kinds(&w, &w.group_member);
    assert_eq!(
        vic.iter()
            .filter(|(k, _)| *k == NotificationKind::Replied)
            .count(),
        3,
        "{vic:?}"
    );
    let max = kinds(&w, &w.moderator);
    for k in [NotificationKind::Liked, NotificationKind::Accepted] {
        assert_eq!(max.iter().filter(|(x, _)| *x == k).count(), 3, "{max:?}");
    }
    // Nobody hears about their own doing.
    assert!(!vic.iter().any(|(k, _)| *k == NotificationKind::Liked));
    // Badges.
    w.forum()
        .create_badge(
            &w.admin,
            w.c,
            NewBadge {
                slug: "helper".into(),
                name: "Helper".into(),
                description: "Answered a question".into(),
                icon: "star".into(),
                tier: BadgeTier::Bronze,
                multiple: false,
            },
        )
        .unwrap();
    w.forum()
        .grant_badge(&w.admin, w.c, "helper", uid(&w.member), None, "welcome")
        .unwrap();
    let mia = w
        .forum()
        .notifications(&w.member, w.c, &PageRequest::first(10), false)
        .unwrap();
    assert_eq!(mia.items[0].kind, NotificationKind::BadgeGranted);
    assert_eq!(mia.items[0].data["badge"], "helper");
}

#[test]
fn mentions_only_reach_members_who_can_read_the_topic() {
    let w = World::new();
    let (group_topic, _) = w.topics[2];
    // mia (a member, not a vendor) is mentioned in the vendors' category.
    reply(
        &w,
        &w.group_member,
        group_topic,
        "Ping @member_mia and @mod_max and @outsider_oz about this",
    );
    assert!(kinds(&w, &w.member).is_empty(), "mia cannot read it");
    assert!(
        kinds(&w, &w.moderator)
            .iter()
            .any(|(k, t)| *k == NotificationKind::Mentioned && *t == Some(group_topic))
    );
    // Outsiders are not members: no notifications, and they cannot list any.
    assert!(matches!(
        w.forum()
            .notifications(&w.outsider, w.c, &PageRequest::first(10), false),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.forum()
            .notifications(&Actor::Guest, w.c, &PageRequest::first(10), false),
        Err(Error::Forbidden { .. })
    ));
    // A public mention does reach mia.
    let (public_topic, _) = w.topics[0];
    reply(
        &w,
        &w.group_member,
        public_topic,
        "@member_mia what do you think?",
    );
    assert_eq!(
        kinds(&w, &w.member),
        vec![(NotificationKind::Mentioned, Some(public_topic))]
    );
}

#[test]
fn losing_access_hides_what_was_said_there() {
    let w = World::new();
    let vic = uid(&w.group_member);
    let (group_topic, _) = w.topics[2];
    let before = kinds(&w, &w.group_member);
    assert!(before.iter().any(|(_, t)| *t == Some(group_topic)));
    let unread = w
        .forum()
        .unread_notifications(&w.group_member, w.c)
        .unwrap();
    w.forum()
        .remove_from_group(&w.admin, w.c, w.group, vic)
        .unwrap();
    let after = kinds(&w, &w.group_member);
    assert!(
        !after.iter().any(|(_, t)| *t == Some(group_topic)),
        "{after:?}"
    );
    assert_eq!(after.len(), before.len() - 1);
    assert_eq!(
        w.forum()
            .unread_notifications(&w.group_member, w.c)
            .unwrap(),
        unread - 1
    );
    // Deleted posts drop out too.
    let (public_topic, answer) = w.topics[0];
    w.forum().delete_post(&w.moderator, w.c, answer).unwrap();
    assert!(
        !kinds(&w, &w.group_member)
            .iter()
            .any(|(_, t)| *t == Some(public_topic))
    );
}

#[test]
fn watch_levels_decide_who_hears_about_new_posts() {
    let w = World::new();
    let f = w.forum();
    let (public_topic, _) = w.topics[0];
    // mia watches the public category: new topics and every post.
    f.watch_category(&w.member, w.c, w.public.id, WatchLevel::Watching)
        .unwrap();
    let (fresh, _) = f
        .create_topic(
            &w.group_member,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "A brand new question here".into(),
                body: "With a body long enough.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    reply(
        &w,
        &w.moderator,
        public_topic,
        "A follow-up answer for everyone",
    );
    assert_eq!(
        kinds(&w, &w.member),
        vec![
            (NotificationKind::Posted, Some(public_topic)),
            (NotificationKind::NewTopic, Some(fresh.id)),
        ]
    );
    // A topic's own level overrides its category's.
    f.watch_topic(&w.member, w.c, public_topic, WatchLevel::Normal)
        .unwrap();
    assert_eq!(
        f.watch_level(&w.member, w.c, None, Some(public_topic))
            .unwrap(),
        WatchLevel::Normal
    );
    assert_eq!(
        f.watch_level(&w.member, w.c, None, Some(fresh.id)).unwrap(),
        WatchLevel::Watching
    );
    reply(
        &w,
        &w.moderator,
        public_topic,
        "Another follow-up answer here",
    );
    assert_eq!(kinds(&w, &w.member).len(), 2);
    // Muting a topic silences even replies and mentions for its author.
    f.watch_topic(&w.group_member, w.c, fresh.id, WatchLevel::Muted)
        .unwrap();
    let n = kinds(&w, &w.group_member).len();
    reply(
        &w,
        &w.moderator,
        fresh.id,
        "Hey @vendor_vic, here is the answer",
    );
    assert_eq!(kinds(&w, &w.group_member).len(), n);
    // Without muting, the author hears about the reply.
    f.watch_topic(&w.group_member, w.c, fresh.id, WatchLevel::Tracking)
        .unwrap();
    reply(&w, &w.admin, fresh.id, "One more answer from the admin");
    assert_eq!(
        kinds(&w, &w.group_member)[0],
        (NotificationKind::Replied, Some(fresh.id))
    );
    // Watching what you cannot read is refused (404: it does not exist for you).
    assert!(matches!(
        f.watch_category(&w.member, w.c, w.group_only.id, WatchLevel::Watching),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn preferences_turn_kinds_off_and_reading_marks_them() {
    let w = World::new();
    let f = w.forum();
    let prefs = f.notification_preferences(&w.member, w.c).unwrap();
    // Every kind but extensions' (chosen per source and kind).
    assert_eq!(prefs.len(), NotificationKind::ALL.len() - 1);
    assert!(prefs.contains(&(NotificationKind::Mentioned, Delivery::Email)));
    f.set_notification_preference(&w.member, w.c, NotificationKind::Mentioned, Delivery::Off)
        .unwrap();
    let (public_topic, _) = w.topics[0];
    reply(
        &w,
        &w.moderator,
        public_topic,
        "Thanks @member_mia for asking",
    );
    assert!(kinds(&w, &w.member).is_empty());
    f.set_notification_preference(&w.member, w.c, NotificationKind::Mentioned, Delivery::InApp)
        .unwrap();
    reply(
        &w,
        &w.moderator,
        public_topic,
        "Again, @member_mia, thank you",
    );
    assert_eq!(f.unread_notifications(&w.member, w.c).unwrap(), 1);

    // Marking one read, then all.
    let unread = f
        .notifications(&w.group_member, w.c, &PageRequest::first(50), true)
        .unwrap();
    assert!(unread.items.len() >= 3);
    let first = unread.items[0].id;
    assert_eq!(
        f.mark_notifications_read(&w.group_member, w.c, Some(first))
            .unwrap(),
        1
    );
    assert_eq!(
        f.mark_notifications_read(&w.group_member, w.c, Some(first))
            .unwrap(),
        0,
        "already read"
    );
    // Someone else's notification is not found, and stays unread.
    assert!(matches!(
        f.mark_notifications_read(&w.member, w.c, Some(first + 1)),
        Err(Error::NotFound { .. })
    ));
    let left = f.unread_notifications(&w.group_member, w.c).unwrap();
    assert_eq!(left as usize, unread.items.len() - 1);
    assert_eq!(
        f.mark_notifications_read(&w.group_member, w.c, None)
            .unwrap(),
        left
    );
    assert_eq!(f.unread_notifications(&w.group_member, w.c).unwrap(), 0);
    assert!(
        f.notifications(&w.group_member, w.c, &PageRequest::first(50), false)
            .unwrap()
            .items
            .iter()
            .all(|n| n.read)
    );
}

#[test]
fn notifications_page_newest_first() {
    let w = World::new();
    let (public_topic, _) = w.topics[0];
    for i in 0..7 {
        reply(
            &w,
            &w.moderator,
            public_topic,
            &format!("@member_mia update number {i}"),
        );
    }
    let f = w.forum();
    let mut ids = Vec::new();
    let mut page = f
        .notifications(&w.member, w.c, &PageRequest::first(3), false)
        .unwrap();
    loop {
        ids.extend(page.items.iter().map(|n| n.id));
        let Some(next) = page.next else { break };
        page = f
            .notifications(&w.member, w.c, &PageRequest::after(next, 3), false)
            .unwrap();
    }
    assert_eq!(ids.len(), 7);
    assert!(ids.windows(2).all(|p| p[0] > p[1]));
}

#[test]
fn reading_a_topic_reads_its_notifications() {
    let w = World::new();
    let (public_topic, _) = w.topics[0];
    let (members_topic, _) = w.topics[1];
    let f = w.forum();
    let before = f.unread_notifications(&w.group_member, w.c).unwrap();
    f.record_view(&w.group_member, w.c, public_topic).unwrap();
    assert_eq!(
        f.unread_notifications(&w.group_member, w.c).unwrap(),
        before - 1
    );
    // Through the batched path the web layer uses, too.
    f.record_views(w.c, &[(w.group_member, members_topic)])
        .unwrap();
    assert_eq!(
        f.unread_notifications(&w.group_member, w.c).unwrap(),
        before - 2
    );
}

#[test]
fn a_member_invites_another_who_may_read_the_topic() {
    let w = World::new();
    let f = w.forum();
    let (public, vendors) = (w.topics[0].0, w.topics[2].0);
    f.invite_to_topic(&w.member, w.c, public, uid(&w.moderator))
        .unwrap();
    assert!(kinds(&w, &w.moderator).contains(&(NotificationKind::InvitedToTopic, Some(public))));
    // Not to a topic the invitee can't read (mia is not a vendor), nor
    // one the inviter can't, nor oneself, nor as a guest.
    assert!(matches!(
        f.invite_to_topic(&w.group_member, w.c, vendors, uid(&w.member)),
        Err(Error::Invalid { field: "user", .. })
    ));
    assert!(matches!(
        f.invite_to_topic(&w.member, w.c, vendors, uid(&w.group_member)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.invite_to_topic(&w.member, w.c, public, uid(&w.member)),
        Err(Error::Invalid { field: "user", .. })
    ));
    assert!(matches!(
        f.invite_to_topic(&Actor::Guest, w.c, public, uid(&w.member)),
        Err(Error::Forbidden { .. })
    ));
    // Someone outside the community is not a member who may read it.
    assert!(matches!(
        f.invite_to_topic(&w.member, w.c, public, uid(&w.outsider)),
        Err(Error::Invalid { field: "user", .. })
    ));
}

/// The bell's count (`unread_notifications_up_to`) at its cap's boundary,
/// and like the exact count it leaves out what the member may no longer
/// read (a post deleted since).
#[test]
fn the_capped_count_stops_at_its_cap_and_counts_only_readable_ones() {
    let w = World::new();
    let f = w.forum();
    let who = &w.group_member;
    let n = f.unread_notifications(who, w.c).unwrap();
    assert!(n >= 3, "the world gives the member a few: {n}");
    let up_to = |cap| f.unread_notifications_up_to(who, w.c, cap).unwrap();
    assert_eq!(up_to(0), 0);
    assert_eq!(up_to(n - 1), n - 1);
    assert_eq!(up_to(n), n);
    assert_eq!(up_to(n + 1), n);
    assert_eq!(up_to(u64::MAX), n);
    // A notified post deleted: neither count shows it any more.
    let unread = f
        .notifications(who, w.c, &PageRequest::first(50), true)
        .unwrap();
    let post = unread
        .items
        .iter()
        .filter_map(|x| x.post)
        .find(|p| {
            f.post(&Actor::System, w.c, *p)
                .is_ok_and(|p| p.post_number > 1)
        })
        .expect("a notification about a reply");
    let about = unread.items.iter().filter(|x| x.post == Some(post)).count() as u64;
    f.delete_post(&Actor::System, w.c, post).unwrap();
    assert_eq!(f.unread_notifications(who, w.c).unwrap(), n - about);
    assert_eq!(up_to(n + 1), n - about);
    assert_eq!(up_to(n - about), n - about);
    // Guests and non-members have none.
    assert_eq!(
        f.unread_notifications_up_to(&Actor::Guest, w.c, 10)
            .unwrap(),
        0
    );
}
