//! Private messages: only participants read them, on every read path;
//! moderators once a participant flags one; trust, blocks and limits at
//! their boundaries.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, CommunitySettings, Error, EventId, FlagKind, Mailbox, MessageSettings, NewMessage,
    NewReply, NotificationKind, PageRequest, Participant, Role, SearchQuery, TopicFilter, TopicId,
    TrustLevel, UserId,
};

const WORD: &str = "zanzibarsecret";

fn id(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

/// Lets the world's members message each other (they are at trust 0).
fn open_messages(w: &World, settings: MessageSettings) {
    let mut s = CommunitySettings::for_bulk_writes();
    s.messages = settings;
    w.forum()
        .update_community(&w.admin, w.c, "Acme", s)
        .unwrap();
}

fn everyone_may_message(w: &World) {
    open_messages(
        w,
        MessageSettings {
            min_trust: TrustLevel::New,
            ..MessageSettings::default()
        },
    );
}

fn send(w: &World, from: &Actor, users: &[&str], groups: &[&str]) -> Result<TopicId, Error> {
    w.forum()
        .send_message(
            from,
            w.c,
            NewMessage {
                title: format!("Private note about {WORD}"),
                body: format!("Only for you: {WORD} details."),
                users: users.iter().map(|s| s.to_string()).collect(),
                groups: groups.iter().map(|s| s.to_string()).collect(),
            },
        )
        .map(|(t, _)| t.id)
}

fn reads(w: &World, who: &Actor, topic: TopicId) -> bool {
    w.forum()
        .topic(who, w.c, topic, &PageRequest::first(20))
        .is_ok()
}

#[test]
fn only_participants_read_a_conversation_on_every_path() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    let other = Actor::User(w.t.user("other_otto"));
    f.add_member(&w.owner, w.c, id(&other), Role::Member)
        .unwrap();
    // member_mia writes to the owner by name and to the vendors group.
    let topic = send(&w, &w.member, &["olivia_owner"], &["vendors"]).unwrap();
    let first = f
        .topic(&w.member, w.c, topic, &PageRequest::first(5))
        .unwrap()
        .posts
        .items[0]
        .id;
    let points = |a: &Actor| {
        f.points(&w.admin, w.c, id(a), hearth::Period::AllTime)
            .unwrap()
    };
    let points_before = points(&w.group_member);
    let reply = f
        .reply(
            &w.group_member,
            w.c,
            topic,
            NewReply {
                body: format!("Got it, {WORD} noted. @other_otto"),
                reply_to: None,
            },
        )
        .unwrap();
    let participants = [&w.member, &w.owner, &w.group_member];
    let others = [
        &w.admin,
        &w.moderator,
        &other,
        &w.outsider,
        &Actor::Guest,
        &Actor::System,
    ];
    for p in participants {
        assert!(reads(&w, p, topic), "{p:?} takes part");
        f.post(p, w.c, reply.id).unwrap();
        let inbox = f
            .messages(p, w.c, Mailbox::Inbox, &PageRequest::first(10))
            .unwrap();
        assert_eq!(inbox.items.len(), 1, "{p:?}");
        assert_eq!(inbox.items[0].participants.users.len(), 2);
        assert_eq!(inbox.items[0].participants.groups[0].name, "vendors");
    }
    for o in others {
        assert!(!reads(&w, o, topic), "{o:?} must not read it");
        assert!(f.post(o, w.c, first).is_err(), "{o:?}");
        assert!(f.post(o, w.c, reply.id).is_err(), "{o:?}");
        assert!(f.message_participants(o, w.c, topic).is_err(), "{o:?}");
        assert!(
            f.reply(
                o,
                w.c,
                topic,
                NewReply {
                    body: "let me in".into(),
                    reply_to: None
                }
            )
            .is_err(),
            "{o:?}"
        );
        assert!(f.like(o, w.c, first).is_err(), "{o:?}");
        assert!(
            f.flag_post(o, w.c, first, FlagKind::Spam, "").is_err(),
            "{o:?}"
        );
        if let Ok(inbox) = f.messages(o, w.c, Mailbox::Inbox, &PageRequest::first(10)) {
            assert!(inbox.items.is_empty(), "{o:?}");
        }
    }
    // Lists, search, events, activity: nobody, participants included.
    for a in participants.iter().chain(others.iter()) {
        if let Ok(latest) = f.latest(a, w.c, &TopicFilter::default(), &PageRequest::first(50)) {
            assert!(latest.items.iter().all(|t| t.id != topic), "{a:?}: latest");
        }
        if let Ok(posts) = f.latest_posts(a, w.c, None, 50) {
            assert!(
                posts.iter().all(|p| p.topic != topic),
                "{a:?}: latest posts"
            );
        }
        if let Ok(found) = f.search(a, w.c, &SearchQuery::new(WORD)) {
            assert_eq!(found.total, 0, "{a:?}: search");
        }
        if let Ok(events) = f.events_after(a, w.c, EventId(0), 1000) {
            assert!(
                events.iter().all(|e| e.topic != Some(topic)),
                "{a:?}: events"
            );
        }
        if let Ok(actions) = f.user_actions(a, w.c, id(&w.member), &[], 0, 50) {
            assert!(actions.iter().all(|x| x.topic != topic), "{a:?}: activity");
        }
    }
    // The mention of a non-participant told nobody; participants were told.
    let told = |a: &Actor| {
        f.notifications(a, w.c, &PageRequest::first(50), false)
            .unwrap()
            .items
            .into_iter()
            .filter(|n| n.topic == Some(topic))
            .map(|n| n.kind)
            .collect::<Vec<_>>()
    };
    assert!(told(&other).is_empty());
    assert_eq!(told(&w.owner), [NotificationKind::PrivateMessage; 2]);
    assert_eq!(told(&w.member), [NotificationKind::PrivateMessage]);
    assert_eq!(told(&w.group_member), [NotificationKind::PrivateMessage]);
    assert!(told(&w.moderator).is_empty());
    // Messages earn no points.
    assert_eq!(points(&w.group_member), points_before);
}

#[test]
fn a_flag_brings_the_conversation_to_moderators() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    let topic = send(&w, &w.group_member, &["member_mia"], &[]).unwrap();
    let first = f
        .topic(&w.member, w.c, topic, &PageRequest::first(5))
        .unwrap()
        .posts
        .items[0]
        .id;
    assert!(!reads(&w, &w.moderator, topic));
    // member_mia is at trust 0: flagging opens at 1.
    f.set_trust_level(&w.admin, w.c, id(&w.member), Some(TrustLevel::Basic), None)
        .unwrap();
    f.flag_post(&w.member, w.c, first, FlagKind::Inappropriate, "")
        .unwrap();
    assert!(
        reads(&w, &w.moderator, topic),
        "flagged: in review with its context"
    );
    assert!(reads(&w, &w.admin, topic));
    assert!(!reads(&w, &Actor::System, topic));
    let queue = f
        .review_queue(
            &w.moderator,
            w.c,
            &Default::default(),
            &PageRequest::first(10),
        )
        .unwrap();
    assert!(!queue.items.is_empty());
    // Still in no list, not even the moderator's.
    let latest = f
        .latest(
            &w.moderator,
            w.c,
            &TopicFilter::default(),
            &PageRequest::first(50),
        )
        .unwrap();
    assert!(latest.items.iter().all(|t| t.id != topic));
}

#[test]
fn new_members_message_staff_and_groups_until_they_are_trusted() {
    let w = World::new();
    let f = w.forum();
    open_messages(&w, MessageSettings::default());
    // member_mia is at trust 0.
    let refused = send(&w, &w.member, &["vendor_vic"], &[]);
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    send(&w, &w.member, &["mod_max"], &[]).unwrap();
    send(&w, &w.member, &[], &["vendors"]).unwrap();
    f.set_trust_level(&w.admin, w.c, id(&w.member), Some(TrustLevel::Basic), None)
        .unwrap();
    send(&w, &w.member, &["vendor_vic"], &[]).unwrap();
}

#[test]
fn recipients_are_checked_and_limited() {
    let w = World::new();
    let f = w.forum();
    open_messages(
        &w,
        MessageSettings {
            min_trust: TrustLevel::New,
            per_day: 2,
            max_recipients: 2,
        },
    );
    for (users, groups, field) in [
        (vec![], vec![], "users"),
        (vec!["member_mia"], vec![], "users"),
        (vec!["nobody_here"], vec![], "users"),
        (vec!["outsider_oz"], vec![], "users"),
        (vec![], vec!["no-such-group"], "groups"),
        (vec!["admin_ann", "mod_max"], vec!["vendors"], "users"),
    ] {
        match send(&w, &w.member, &users, &groups) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{users:?} {groups:?}"),
            other => panic!("{users:?} {groups:?}: {other:?}"),
        }
    }
    // Two recipients is the limit, not over it.
    send(&w, &w.member, &["admin_ann", "mod_max"], &[]).unwrap();
    send(&w, &w.member, &["vendor_vic"], &[]).unwrap();
    let third = send(&w, &w.member, &["vendor_vic"], &[]);
    assert!(matches!(third, Err(Error::RateLimited { .. })), "{third:?}");
    w.t.clock.advance(time::Duration::hours(25));
    send(&w, &w.member, &["vendor_vic"], &[]).unwrap();
    // Staff are not counted.
    for _ in 0..3 {
        send(&w, &w.moderator, &["vendor_vic"], &[]).unwrap();
    }
    // Settings out of bounds are refused.
    for bad in [
        MessageSettings {
            per_day: 0,
            ..MessageSettings::default()
        },
        MessageSettings {
            max_recipients: hearth::MAX_MESSAGE_RECIPIENTS + 1,
            ..MessageSettings::default()
        },
    ] {
        let s = CommunitySettings {
            messages: bad,
            ..CommunitySettings::default()
        };
        assert!(matches!(
            f.update_community(&w.admin, w.c, "Acme", s),
            Err(Error::Invalid { .. })
        ));
    }
}

#[test]
fn a_blocked_sender_cannot_message_but_moderators_can() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    f.block_messages(&w.group_member, id(&w.member)).unwrap();
    f.block_messages(&w.group_member, id(&w.member)).unwrap();
    f.block_messages(&w.group_member, id(&w.moderator)).unwrap();
    assert_eq!(f.message_blocks(&w.group_member).unwrap().len(), 2);
    let refused = send(&w, &w.member, &["vendor_vic"], &[]);
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    send(&w, &w.moderator, &["vendor_vic"], &[]).unwrap();
    // Nor add them to a conversation.
    let topic = send(&w, &w.member, &["admin_ann"], &[]).unwrap();
    assert!(matches!(
        f.add_message_participant(
            &w.member,
            w.c,
            topic,
            Participant::User(id(&w.group_member))
        ),
        Err(Error::Forbidden { .. })
    ));
    f.unblock_messages(&w.group_member, id(&w.member)).unwrap();
    send(&w, &w.member, &["vendor_vic"], &[]).unwrap();
    assert!(matches!(
        f.block_messages(&w.member, id(&w.member)),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn participants_come_and_go() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    let topic = send(&w, &w.member, &["admin_ann"], &[]).unwrap();
    assert!(!reads(&w, &w.group_member, topic));
    // Only participants add people.
    assert!(
        f.add_message_participant(
            &w.moderator,
            w.c,
            topic,
            Participant::User(id(&w.moderator))
        )
        .is_err()
    );
    f.add_message_participant(&w.admin, w.c, topic, Participant::User(id(&w.group_member)))
        .unwrap();
    assert!(reads(&w, &w.group_member, topic));
    let invited = f
        .notifications(&w.group_member, w.c, &PageRequest::first(10), false)
        .unwrap();
    assert_eq!(invited.items[0].kind, NotificationKind::InvitedToMessage);
    // Only the one who started it removes others; anyone may leave.
    assert!(matches!(
        f.remove_message_participant(&w.admin, w.c, topic, Participant::User(id(&w.group_member))),
        Err(Error::Forbidden { .. })
    ));
    f.remove_message_participant(
        &w.group_member,
        w.c,
        topic,
        Participant::User(id(&w.group_member)),
    )
    .unwrap();
    assert!(!reads(&w, &w.group_member, topic));
    // Notifications about it are gone from their list with the access.
    let after = f
        .notifications(&w.group_member, w.c, &PageRequest::first(10), false)
        .unwrap();
    assert!(after.items.iter().all(|n| n.topic != Some(topic)));
    f.add_message_participant(&w.member, w.c, topic, Participant::Group(w.group))
        .unwrap();
    assert!(reads(&w, &w.group_member, topic), "by group");
    f.remove_message_participant(&w.member, w.c, topic, Participant::Group(w.group))
        .unwrap();
    assert!(!reads(&w, &w.group_member, topic));
    let who = f.message_participants(&w.member, w.c, topic).unwrap();
    assert_eq!(who.users.len(), 2);
    assert!(who.groups.is_empty());
}

#[test]
fn the_inbox_counts_what_is_unread_and_sent_lists_what_i_started() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    let mine = send(&w, &w.member, &["admin_ann"], &[]).unwrap();
    w.t.clock.advance(time::Duration::minutes(1));
    let theirs = send(&w, &w.admin, &["member_mia"], &[]).unwrap();
    w.t.clock.advance(time::Duration::minutes(1));
    assert_eq!(f.unread_messages(&w.member, w.c).unwrap(), 1, "the admin's");
    assert_eq!(f.unread_messages(&w.admin, w.c).unwrap(), 1, "mia's");
    f.reply(
        &w.admin,
        w.c,
        mine,
        NewReply {
            body: "Thanks, on it.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    assert_eq!(f.unread_messages(&w.member, w.c).unwrap(), 2);
    let inbox = f
        .messages(&w.member, w.c, Mailbox::Inbox, &PageRequest::first(1))
        .unwrap();
    assert_eq!(inbox.items[0].topic.id, mine, "most recent activity first");
    assert_eq!(inbox.items[0].unread_posts, 1);
    assert_eq!(inbox.items[0].highest_post_number, 2);
    let rest = f
        .messages(
            &w.member,
            w.c,
            Mailbox::Inbox,
            &PageRequest {
                after: inbox.next.clone(),
                ..PageRequest::first(1)
            },
        )
        .unwrap();
    assert_eq!(rest.items[0].topic.id, theirs);
    f.record_reading(&w.member, w.c, mine, 2, std::time::Duration::from_secs(5))
        .unwrap();
    f.record_reading(&w.member, w.c, theirs, 1, std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(f.unread_messages(&w.member, w.c).unwrap(), 0);
    let sent = f
        .messages(&w.member, w.c, Mailbox::Sent, &PageRequest::first(10))
        .unwrap();
    assert_eq!(
        sent.items.iter().map(|m| m.topic.id).collect::<Vec<_>>(),
        [mine]
    );
}

/// How many posts `who` finds for `text` in their own messages, or the
/// error.
fn found_in_messages(w: &World, who: &Actor, text: &str) -> Result<u64, Error> {
    let q = SearchQuery {
        messages: true,
        ..SearchQuery::new(text)
    };
    w.forum().search(who, w.c, &q).map(|r| r.total)
}

#[test]
fn members_search_their_own_conversations_and_no_one_else_s() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    // Nothing to search before the first message: no inbox yet.
    assert_eq!(found_in_messages(&w, &w.member, WORD).unwrap(), 0);
    // member_mia writes to the owner by name and to the vendors group.
    let topic = send(&w, &w.member, &["olivia_owner"], &["vendors"]).unwrap();
    f.reply(
        &w.owner,
        w.c,
        topic,
        NewReply {
            body: format!("Answering about {WORD} here."),
            reply_to: None,
        },
    )
    .unwrap();
    // The sender, the named recipient and the group's member find both
    // posts; nobody else finds any.
    for who in [&w.member, &w.owner, &w.group_member] {
        assert_eq!(found_in_messages(&w, who, WORD).unwrap(), 2, "{who:?}");
        assert_eq!(found_in_messages(&w, who, "answering").unwrap(), 1);
    }
    for who in [&w.moderator, &w.admin] {
        assert_eq!(found_in_messages(&w, who, WORD).unwrap(), 0, "{who:?}");
    }
    // Only members have messages.
    for who in [&w.outsider, &Actor::Guest, &Actor::System] {
        assert!(
            matches!(
                found_in_messages(&w, who, WORD),
                Err(Error::Forbidden { .. })
            ),
            "{who:?}"
        );
    }
    // A flag lets moderators read it in review, not search for it.
    f.set_trust_level(&w.admin, w.c, id(&w.member), Some(TrustLevel::Basic), None)
        .unwrap();
    let answer = f
        .topic(&w.member, w.c, topic, &PageRequest::first(5))
        .unwrap()
        .posts
        .items[1]
        .id;
    f.flag_post(&w.member, w.c, answer, FlagKind::Inappropriate, "")
        .unwrap();
    assert!(reads(&w, &w.moderator, topic));
    assert_eq!(found_in_messages(&w, &w.moderator, WORD).unwrap(), 0);
    // The ordinary search still finds no message, for anyone.
    for who in [&w.member, &w.owner, &w.moderator] {
        assert_eq!(
            f.search(who, w.c, &SearchQuery::new(WORD)).unwrap().total,
            0,
            "{who:?}"
        );
    }
    // Someone removed from the conversation stops finding it.
    f.remove_message_participant(&w.member, w.c, topic, Participant::User(id(&w.owner)))
        .unwrap();
    assert_eq!(found_in_messages(&w, &w.owner, WORD).unwrap(), 0);
}

/// The system's trusted consumers (plugins granted `private-messages`)
/// read conversations only through the two calls made for them, and only
/// as the system; the system's ordinary reads never include them.
#[test]
fn conversations_reach_the_system_only_when_it_asks_for_them() {
    let w = World::new();
    let f = w.forum();
    everyone_may_message(&w);
    let topic = send(&w, &w.member, &["olivia_owner"], &[]).unwrap();
    let first = f
        .topic(&w.member, w.c, topic, &PageRequest::first(5))
        .unwrap()
        .posts
        .items[0]
        .id;
    let ordinary = f
        .events_after(&Actor::System, w.c, EventId(0), 1000)
        .unwrap();
    assert!(ordinary.iter().all(|e| e.topic != Some(topic)));
    let all = f
        .events_after_with_conversations(&Actor::System, w.c, EventId(0), 1000)
        .unwrap();
    let theirs: Vec<_> = all.iter().filter(|e| e.topic == Some(topic)).collect();
    assert!(
        theirs
            .iter()
            .any(|e| e.post == Some(first) && e.data["message"] == true),
        "{theirs:?}"
    );
    // Everything else is the same stream, in the same order.
    let rest: Vec<_> = all
        .iter()
        .filter(|e| e.topic != Some(topic))
        .map(|e| e.id)
        .collect();
    assert_eq!(rest, ordinary.iter().map(|e| e.id).collect::<Vec<_>>());

    let post = f.conversation_post(&Actor::System, w.c, first).unwrap();
    assert!(post.source.contains(WORD));
    assert!(matches!(
        f.post(&Actor::System, w.c, first),
        Err(Error::NotFound { .. })
    ));
    // A post outside a conversation is not one.
    let public = w.topics[0].1;
    assert!(matches!(
        f.conversation_post(&Actor::System, w.c, public),
        Err(Error::NotFound { .. })
    ));
    // Nobody else may ask, participants and admins included.
    for a in [&w.member, &w.owner, &w.admin, &Actor::Guest] {
        assert!(matches!(
            f.events_after_with_conversations(a, w.c, EventId(0), 10),
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(
            f.conversation_post(a, w.c, first),
            Err(Error::Forbidden { .. })
        ));
    }
    // A deleted message is gone for the system too.
    let reply = f
        .reply(
            &w.owner,
            w.c,
            topic,
            NewReply {
                body: format!("Thanks, {WORD} received."),
                reply_to: None,
            },
        )
        .unwrap();
    assert!(f.conversation_post(&Actor::System, w.c, reply.id).is_ok());
    f.delete_post(&w.owner, w.c, reply.id).unwrap();
    assert!(matches!(
        f.conversation_post(&Actor::System, w.c, reply.id),
        Err(Error::NotFound { .. })
    ));
}
