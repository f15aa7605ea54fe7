//! A member's activity stream, as each reader may see it.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{ActionKind, Actor, Error, UserId};

fn uid(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn kinds(w: &World, reader: &Actor, of: &Actor, only: &[ActionKind]) -> Vec<ActionKind> {
    w.forum()
        .user_actions(reader, w.c, uid(of), only, 0, 100)
        .unwrap()
        .iter()
        .map(|a| a.kind)
        .collect()
}

fn count(list: &[ActionKind], kind: ActionKind) -> usize {
    list.iter().filter(|k| **k == kind).count()
}

#[test]
fn each_reader_sees_only_the_activity_in_places_they_may_read() {
    let w = World::new();
    // vendor_vic started a topic in each category (public, members,
    // vendors) and liked each answer; mod_max answered each.
    let all = kinds(&w, &w.admin, &w.group_member, &[]);
    assert_eq!(count(&all, ActionKind::NewTopic), 3);
    assert_eq!(count(&all, ActionKind::Like), 3);
    let member = kinds(&w, &w.member, &w.group_member, &[]);
    assert_eq!(
        count(&member, ActionKind::NewTopic),
        2,
        "not the vendors' topic"
    );
    assert_eq!(count(&member, ActionKind::Like), 2);
    let answers = kinds(&w, &w.member, &w.moderator, &[]);
    assert_eq!(count(&answers, ActionKind::Reply), 2);
    assert_eq!(count(&answers, ActionKind::WasLiked), 2);
    // Outsiders and guests see the public category only (this community
    // is open to read).
    for reader in [&w.outsider, &Actor::Guest] {
        assert_eq!(
            kinds(&w, reader, &w.moderator, &[ActionKind::Reply]).len(),
            1
        );
        assert_eq!(
            kinds(&w, reader, &w.group_member, &[ActionKind::Like]).len(),
            1
        );
    }
    // Filtered by kind.
    assert_eq!(
        kinds(&w, &w.admin, &w.moderator, &[ActionKind::Reply]),
        [ActionKind::Reply; 3]
    );
    // Who acted: the liker, on the author's post.
    let liked = w
        .forum()
        .user_actions(
            &w.admin,
            w.c,
            uid(&w.moderator),
            &[ActionKind::WasLiked],
            0,
            1,
        )
        .unwrap();
    assert_eq!(liked.len(), 1);
    assert_eq!(liked[0].acting.id, uid(&w.group_member));
    assert_eq!(liked[0].author.id, uid(&w.moderator));
    // A deleted topic leaves every stream.
    w.forum()
        .delete_post(&w.admin, w.c, {
            let t = w
                .forum()
                .topic(&w.admin, w.c, w.topics[0].0, &hearth::PageRequest::first(1))
                .unwrap();
            t.posts.items[0].id
        })
        .unwrap();
    let after = kinds(&w, &w.admin, &w.group_member, &[]);
    assert_eq!(count(&after, ActionKind::NewTopic), 2);
    // Pages: newest first, by offset.
    let page = |offset| {
        w.forum()
            .user_actions(&w.admin, w.c, uid(&w.moderator), &[], offset, 1)
            .unwrap()
    };
    let (first, second) = (page(0), page(1));
    assert!(first[0].at >= second[0].at);
    assert_ne!(
        (first[0].post, first[0].kind),
        (second[0].post, second[0].kind)
    );
    assert!(matches!(
        w.forum().user_actions(
            &w.admin,
            hearth::CommunityId(999),
            uid(&w.moderator),
            &[],
            0,
            10
        ),
        Err(Error::NotFound { .. })
    ));
}
