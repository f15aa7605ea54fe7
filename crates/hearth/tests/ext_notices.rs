//! Notifications sent by extensions (`Forum::ext_apply_with_notices`):
//! the engine's rules apply to them — who may read what they are about,
//! the actor, muting, members' choices per kind — each is sent at most
//! once per dedupe key, a source is capped per hour, and they commit with
//! the extension's writes or not at all.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, Delivery, Error, ExtNotice, ExtOp, NotificationKind, PageRequest, PostId, TopicId,
    UserId, WatchLevel,
};

fn uid(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn notice(to: &Actor, post: Option<PostId>, key: &str) -> ExtNotice {
    ExtNotice {
        source: "reactions".into(),
        kind: "reacted".into(),
        default_delivery: Delivery::InApp,
        recipient: uid(to),
        actor: None,
        topic: None,
        post,
        text: format!("Someone reacted 🎉 ({key})"),
        dedupe_key: key.into(),
    }
}

/// The extension notices `who` sees: (text, topic).
fn seen(w: &World, who: &Actor) -> Vec<(String, Option<TopicId>)> {
    w.forum()
        .notifications(who, w.c, &PageRequest::first(100), false)
        .unwrap()
        .items
        .into_iter()
        .filter(|n| n.kind == NotificationKind::Custom)
        .map(|n| (n.sentence(), n.topic))
        .collect()
}

#[test]
fn only_members_who_may_read_the_post_are_told() {
    let w = World::new();
    let f = w.forum();
    // (category index, actor, told?) — the group's topic, the members'
    // topic and the public topic, to every kind of actor.
    let everyone = [
        (&w.admin, "admin"),
        (&w.moderator, "moderator"),
        (&w.member, "member"),
        (&w.group_member, "group member"),
        (&w.outsider, "outsider"),
    ];
    let expect = |cat: usize, who: &str| !matches!((cat, who), (_, "outsider") | (2, "member"));
    for (cat, (topic, answer)) in w.topics.iter().enumerate() {
        let notices: Vec<ExtNotice> = everyone
            .iter()
            .map(|(a, _)| notice(a, Some(*answer), &format!("c{cat}")))
            .collect();
        let tally = f.ext_apply_with_notices(w.c, &[], &notices, 1000).unwrap();
        let told = everyone.iter().filter(|(_, n)| expect(cat, n)).count() as u32;
        assert_eq!(tally.sent, told, "category {cat}: {tally:?}");
        assert_eq!(tally.skipped, everyone.len() as u32 - told);
        for (a, name) in everyone {
            if name == "outsider" {
                assert!(
                    f.notifications(a, w.c, &PageRequest::first(5), false)
                        .is_err()
                );
                continue;
            }
            let got = seen(&w, a);
            let has = got
                .iter()
                .any(|(text, t)| text.ends_with(&format!("(c{cat})")) && *t == Some(*topic));
            assert_eq!(has, expect(cat, name), "{name} in category {cat}: {got:?}");
        }
    }
    // Losing access hides what was sent: the group member leaves the group.
    f.remove_from_group(&w.admin, w.c, w.group, uid(&w.group_member))
        .unwrap();
    let got = seen(&w, &w.group_member);
    assert!(!got.iter().any(|(t, _)| t.ends_with("(c2)")), "{got:?}");
    assert_eq!(got.len(), 2);
}

#[test]
fn once_per_key_never_to_the_actor_and_not_from_muted_topics() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    let first = notice(&w.member, Some(answer), "react/1/ann/party");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], std::slice::from_ref(&first), 1000)
            .unwrap()
            .sent,
        1
    );
    let again = f.ext_apply_with_notices(w.c, &[], &[first], 1000).unwrap();
    assert_eq!((again.sent, again.duplicates), (0, 1));
    // Another key about the same post is another notice (two members'
    // reactions), unlike the engine's one-per-post kinds.
    let other = notice(&w.member, Some(answer), "react/1/bob/party");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[other], 1000)
            .unwrap()
            .sent,
        1
    );
    // The same key from another source is its own.
    let mut elsewhere = notice(&w.member, Some(answer), "react/1/ann/party");
    elsewhere.source = "polls".into();
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[elsewhere], 1000)
            .unwrap()
            .sent,
        1
    );
    assert_eq!(seen(&w, &w.member).len(), 3);
    // Nobody is told about their own action.
    let mut own = notice(&w.member, Some(answer), "own");
    own.actor = Some(uid(&w.member));
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[own], 1000)
            .unwrap()
            .skipped,
        1
    );
    // A muted topic tells nothing.
    f.watch_topic(&w.member, w.c, topic, WatchLevel::Muted)
        .unwrap();
    let muted = notice(&w.member, Some(answer), "muted");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[muted], 1000)
            .unwrap()
            .skipped,
        1
    );
    // A notice about a deleted post is not sent.
    let (_, deleted) = w.topics[1];
    f.delete_post(&w.admin, w.c, deleted).unwrap();
    let gone = notice(&w.admin, Some(deleted), "gone");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[gone], 1000)
            .unwrap()
            .skipped,
        1
    );
}

#[test]
fn members_choose_per_kind_and_the_declared_default_applies_until_then() {
    let w = World::new();
    let f = w.forum();
    let kinds = [
        ("reactions", "reacted", Delivery::InApp),
        ("polls", "closed", Delivery::Email),
    ];
    assert_eq!(
        f.ext_notice_preferences(&w.member, w.c, &kinds).unwrap(),
        vec![Delivery::InApp, Delivery::Email]
    );
    f.set_ext_notice_preference(&w.member, w.c, "reactions", "reacted", Delivery::Off)
        .unwrap();
    f.set_ext_notice_preference(&w.member, w.c, "polls", "closed", Delivery::InApp)
        .unwrap();
    assert_eq!(
        f.ext_notice_preferences(&w.member, w.c, &kinds).unwrap(),
        vec![Delivery::Off, Delivery::InApp]
    );
    let off = notice(&w.member, None, "off");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[off], 1000)
            .unwrap()
            .skipped,
        1
    );
    // Another member keeps the default.
    let on = notice(&w.group_member, None, "on");
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[on], 1000)
            .unwrap()
            .sent,
        1
    );
    // The engine's own list of kinds leaves extensions' out, and the kind
    // as a whole cannot be set.
    let own = f.notification_preferences(&w.member, w.c).unwrap();
    assert!(own.iter().all(|(k, _)| *k != NotificationKind::Custom));
    assert!(matches!(
        f.set_notification_preference(&w.member, w.c, NotificationKind::Custom, Delivery::Off),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        f.set_ext_notice_preference(&w.member, w.c, "Reactions", "reacted", Delivery::Off),
        Err(Error::Invalid { .. })
    ));
    // Guests and outsiders have no preferences to set.
    assert!(
        f.set_ext_notice_preference(&w.outsider, w.c, "polls", "closed", Delivery::Off)
            .is_err()
    );
}

#[test]
fn a_source_is_capped_per_hour_at_the_boundary() {
    let w = World::new();
    let f = w.forum();
    let batch = |from: usize, n: usize| -> Vec<ExtNotice> {
        (from..from + n)
            .map(|i| notice(&w.member, None, &format!("storm-{i}")))
            .collect()
    };
    let t = f.ext_apply_with_notices(w.c, &[], &batch(0, 5), 5).unwrap();
    assert_eq!((t.sent, t.capped), (5, 0));
    let t = f.ext_apply_with_notices(w.c, &[], &batch(5, 3), 5).unwrap();
    assert_eq!((t.sent, t.capped), (0, 3));
    // Another source has its own cap.
    let mut other = notice(&w.member, None, "other");
    other.source = "polls".into();
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[other], 5)
            .unwrap()
            .sent,
        1
    );
    // An hour later the source may send again.
    w.t.clock.advance(time::Duration::minutes(61));
    let t = f.ext_apply_with_notices(w.c, &[], &batch(8, 7), 5).unwrap();
    assert_eq!((t.sent, t.capped), (5, 2));
    assert_eq!(seen(&w, &w.member).len(), 11);
}

#[test]
fn notices_and_writes_commit_together_or_not_at_all() {
    let w = World::new();
    let f = w.forum();
    let put = ExtOp::Put {
        key: "k".into(),
        value: b"v".to_vec(),
    };
    let mut bad = notice(&w.member, None, "bad");
    bad.text = "x".repeat(hearth::MAX_NOTICE_TEXT + 1);
    let good = notice(&w.member, None, "good");
    let err = f
        .ext_apply_with_notices(
            w.c,
            &[("plugin:reactions", std::slice::from_ref(&put))],
            &[good.clone(), bad],
            1000,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "text", .. }), "{err}");
    assert_eq!(f.ext_get("plugin:reactions", Some(w.c), "k").unwrap(), None);
    assert!(seen(&w, &w.member).is_empty());
    let t = f
        .ext_apply_with_notices(w.c, &[("plugin:reactions", &[put])], &[good], 1000)
        .unwrap();
    assert_eq!(t.sent, 1);
    assert_eq!(
        f.ext_get("plugin:reactions", Some(w.c), "k").unwrap(),
        Some(b"v".to_vec())
    );
    // A notice naming a post of another community is not sent.
    let (other_c, other_cat) = one_category(f, uid(&w.owner), "elsewhere");
    let (t2, _) = f
        .create_topic(
            &w.owner,
            other_c,
            hearth::NewTopic {
                category: other_cat,
                title: "Another community's topic".into(),
                body: "Not yours to hear about.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let mut foreign = notice(&w.member, None, "foreign");
    foreign.topic = Some(t2.id);
    assert_eq!(
        f.ext_apply_with_notices(w.c, &[], &[foreign], 1000)
            .unwrap()
            .skipped,
        1
    );
}
