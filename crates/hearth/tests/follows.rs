//! Following members: what notifies a follower (only what they may read),
//! who sees the lists, and the limit.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, Error, NewMessage, NewReply, NewTopic, NotificationKind, PageRequest, TopicId, UserId,
};

fn id(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn kinds_about(w: &World, who: &Actor, topic: TopicId) -> Vec<NotificationKind> {
    w.forum()
        .notifications(who, w.c, &PageRequest::first(50), false)
        .unwrap()
        .items
        .into_iter()
        .filter(|n| n.topic == Some(topic))
        .map(|n| n.kind)
        .collect()
}

fn topic_in(w: &World, who: &Actor, category: hearth::CategoryId, title: &str) -> TopicId {
    w.forum()
        .create_topic(
            who,
            w.c,
            NewTopic {
                category,
                title: title.into(),
                body: "What do you all think about this?".into(),
                tags: vec![],
            },
        )
        .unwrap()
        .0
        .id
}

#[test]
fn followers_hear_of_what_they_may_read() {
    let w = World::new();
    let f = w.forum();
    let vic = &w.group_member;
    f.follow(&w.member, id(vic), false).unwrap();
    assert_eq!(f.follows(&w.member, id(vic)).unwrap(), Some(false));
    let public = topic_in(&w, vic, w.public.id, "Vic's public question here");
    assert_eq!(
        kinds_about(&w, &w.member, public),
        [NotificationKind::FollowingCreatedTopic]
    );
    // A category mia cannot read: nothing.
    let vendors = topic_in(&w, vic, w.group_only.id, "Vic's vendors-only question");
    assert!(kinds_about(&w, &w.member, vendors).is_empty());
    // Replies only when asked for.
    let reply = |body: &str| {
        f.reply(
            vic,
            w.c,
            w.topics[0].0,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap();
    };
    reply("A reply nobody following hears about.");
    assert!(kinds_about(&w, &w.member, w.topics[0].0).is_empty());
    f.follow(&w.member, id(vic), true).unwrap();
    reply("A reply the follower hears about.");
    assert_eq!(
        kinds_about(&w, &w.member, w.topics[0].0),
        [NotificationKind::FollowingReplied]
    );
    // A private message to someone else: the follower hears nothing.
    let mut s = hearth::CommunitySettings::for_bulk_writes();
    s.messages.min_trust = hearth::TrustLevel::New;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    let (pm, _) = f
        .send_message(
            vic,
            w.c,
            NewMessage {
                title: "Just between us two".into(),
                body: "A private word.".into(),
                users: vec!["admin_ann".into()],
                groups: vec![],
            },
        )
        .unwrap();
    assert!(kinds_about(&w, &w.member, pm.id).is_empty());
    // Unfollowed: silence.
    f.unfollow(&w.member, id(vic)).unwrap();
    assert_eq!(f.follows(&w.member, id(vic)).unwrap(), None);
    let later = topic_in(&w, vic, w.public.id, "Vic's later public question");
    assert!(kinds_about(&w, &w.member, later).is_empty());
    // Not yourself, not as a guest.
    assert!(matches!(
        f.follow(vic, id(vic), false),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        f.follow(&Actor::Guest, id(vic), false),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn follow_lists_show_members_unless_hidden() {
    let w = World::new();
    let f = w.forum();
    let vic = id(&w.group_member);
    f.follow(&w.member, vic, false).unwrap();
    f.follow(&w.moderator, vic, false).unwrap();
    // The outsider follows vic too, but is no member here: not listed.
    f.follow(&w.outsider, vic, false).unwrap();
    let names = |list: Vec<hearth::UserRef>| {
        let mut n: Vec<String> = list.into_iter().map(|u| u.username).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(f.followers(&w.admin, w.c, vic).unwrap()),
        ["member_mia", "mod_max"]
    );
    assert_eq!(
        names(f.following(&w.admin, w.c, id(&w.member)).unwrap()),
        ["vendor_vic"]
    );
    f.set_follows_hidden(&w.group_member, true).unwrap();
    assert!(f.follows_hidden(vic).unwrap());
    assert!(matches!(
        f.followers(&w.member, w.c, vic),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.followers(&Actor::Guest, w.c, vic),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(f.followers(&w.group_member, w.c, vic).unwrap().len(), 2);
    assert_eq!(f.followers(&w.moderator, w.c, vic).unwrap().len(), 2);
    f.set_follows_hidden(&w.group_member, false).unwrap();
    assert_eq!(f.followers(&w.member, w.c, vic).unwrap().len(), 2);
}

#[test]
fn a_member_follows_at_most_the_limit() {
    let w = World::new();
    let f = w.forum();
    let me = &w.member;
    for i in 0..hearth::MAX_FOLLOWING {
        let u = w.t.user(&format!("followed_{i}"));
        f.follow(me, u, false).unwrap();
    }
    let one_more = w.t.user("one_too_many");
    assert!(matches!(
        f.follow(me, one_more, false),
        Err(Error::Invalid { .. })
    ));
    // Changing an existing follow is not a new one.
    let first = f.user_by_username("followed_0").unwrap().id;
    f.follow(me, first, true).unwrap();
    f.unfollow(me, first).unwrap();
    f.follow(me, one_more, false).unwrap();
}
