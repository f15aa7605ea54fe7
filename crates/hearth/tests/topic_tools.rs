//! Staff tools on topics and posts: timers, tag groups, locked posts,
//! moving a topic in time, topics named by another system.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, AuditAction, Error, Forum, NewTagGroup, NewTopic, PageRequest, PostEdit, Target,
    TimerAction, TimerWhen, TopicFilter, TopicUpdate,
};
use time::Duration;

fn now(w: &World) -> time::OffsetDateTime {
    use hearth::Clock;
    w.t.clock.now()
}

fn is_closed(w: &World, topic: hearth::TopicId) -> bool {
    w.forum().topic_only(&w.admin, w.c, topic).unwrap().closed
}

fn read_latest(f: &Forum, who: &Actor, c: hearth::CommunityId) {
    f.latest(who, c, &TopicFilter::default(), &PageRequest::first(10))
        .unwrap();
}

fn new_topic(w: &World, title: &str, tags: &[&str]) -> NewTopic {
    NewTopic {
        category: w.public.id,
        title: title.into(),
        body: "A body long enough to post.".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

#[test]
fn a_close_timer_closes_the_topic_when_a_reader_comes_by() {
    let w = World::new();
    let f = w.forum();
    let topic = w.topics[0].0;
    let at = now(&w) + Duration::hours(2);
    let set = f
        .set_topic_timer(
            &w.moderator,
            w.c,
            topic,
            Some((TimerAction::Close, TimerWhen::At(at))),
        )
        .unwrap()
        .unwrap();
    assert_eq!((set.action, set.execute_at), (TimerAction::Close, at));
    // Anyone who reads the topic sees the timer; only moderators set one.
    assert_eq!(
        f.topic_timer(&Actor::Guest, w.c, topic)
            .unwrap()
            .map(|t| t.action),
        Some(TimerAction::Close)
    );
    for who in [&w.member, &w.group_member, &w.outsider] {
        assert!(matches!(
            f.set_topic_timer(who, w.c, topic, None),
            Err(Error::Forbidden { .. })
        ));
    }
    // A timer on a topic the caller can't read is not found.
    assert!(matches!(
        f.topic_timer(&w.member, w.c, w.topics[2].0),
        Err(Error::NotFound { .. })
    ));
    read_latest(f, &Actor::Guest, w.c);
    assert!(!is_closed(&w, topic), "not yet due");
    w.t.clock.advance(Duration::hours(2));
    read_latest(f, &Actor::Guest, w.c);
    assert!(is_closed(&w, topic), "a list read ran the due timer");
    assert_eq!(f.topic_timer(&w.admin, w.c, topic).unwrap(), None);
    assert_eq!(f.run_topic_timers().unwrap(), 0, "ran once only");
    let actions = w.audited(Target::Topic(topic));
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == AuditAction::TopicClosed)
            .count(),
        1
    );
    assert!(actions.contains(&AuditAction::TopicTimerSet));
}

#[test]
fn open_and_delete_timers_act_and_bad_times_are_refused() {
    let w = World::new();
    let f = w.forum();
    let (a, b) = (w.topics[0].0, w.topics[1].0);
    f.set_topic_flag(&w.moderator, w.c, a, hearth::TopicFlag::Closed, true, None)
        .unwrap();
    let soon = now(&w) + Duration::minutes(30);
    f.set_topic_timer(
        &w.admin,
        w.c,
        a,
        Some((TimerAction::Open, TimerWhen::At(soon))),
    )
    .unwrap();
    f.set_topic_timer(
        &w.admin,
        w.c,
        b,
        Some((TimerAction::Delete, TimerWhen::At(soon))),
    )
    .unwrap();
    for bad in [
        TimerWhen::At(now(&w)),
        TimerWhen::At(now(&w) + Duration::days(hearth::MAX_TIMER_DAYS + 1)),
        TimerWhen::AfterLastPost(Duration::ZERO),
    ] {
        let e = f.set_topic_timer(&w.admin, w.c, a, Some((TimerAction::Close, bad)));
        assert!(
            matches!(e, Err(Error::Invalid { field: "time", .. })),
            "{bad:?}: {e:?}"
        );
    }
    // Only a close timer counts from the last post.
    assert!(matches!(
        f.set_topic_timer(
            &w.admin,
            w.c,
            a,
            Some((
                TimerAction::Delete,
                TimerWhen::AfterLastPost(Duration::hours(1))
            ))
        ),
        Err(Error::Invalid {
            field: "based_on_last_post",
            ..
        })
    ));
    // A timer at the longest wait is accepted.
    let far = now(&w) + Duration::days(hearth::MAX_TIMER_DAYS);
    let c = w.topics[2].0;
    f.set_topic_timer(
        &w.admin,
        w.c,
        c,
        Some((TimerAction::Close, TimerWhen::At(far))),
    )
    .unwrap();
    w.t.clock.advance(Duration::minutes(30));
    assert_eq!(f.run_topic_timers().unwrap(), 2);
    assert!(!is_closed(&w, a));
    assert!(matches!(
        f.topic_only(&w.member, w.c, b),
        Err(Error::NotFound { .. })
    ));
    // Removing a timer: nothing runs later.
    f.set_topic_timer(&w.admin, w.c, c, None).unwrap();
    w.t.clock.advance(Duration::days(hearth::MAX_TIMER_DAYS));
    assert_eq!(f.run_topic_timers().unwrap(), 0);
    assert!(!is_closed(&w, c));
}

#[test]
fn a_close_timer_after_the_last_post_waits_for_quiet() {
    let w = World::new();
    let f = w.forum();
    let topic = w.topics[0].0;
    f.set_topic_timer(
        &w.moderator,
        w.c,
        topic,
        Some((
            TimerAction::Close,
            TimerWhen::AfterLastPost(Duration::hours(24)),
        )),
    )
    .unwrap();
    w.t.clock.advance(Duration::hours(20));
    f.reply(
        &w.member,
        w.c,
        topic,
        hearth::NewReply {
            body: "Still happening for me.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    w.t.clock.advance(Duration::hours(5));
    assert_eq!(f.run_topic_timers().unwrap(), 0, "the reply put it off");
    assert!(!is_closed(&w, topic));
    let t = f.topic_timer(&w.member, w.c, topic).unwrap().unwrap();
    assert_eq!(t.execute_at, now(&w) + Duration::hours(19));
    w.t.clock.advance(Duration::hours(19));
    f.topic(&w.member, w.c, topic, &PageRequest::first(5))
        .unwrap();
    assert!(is_closed(&w, topic), "a topic read ran it");
}

#[test]
fn tag_groups_keep_their_rules() {
    let w = World::new();
    let f = w.forum();
    let status = f
        .create_tag_group(
            &w.admin,
            w.c,
            NewTagGroup {
                name: "Status".into(),
                tags: vec!["Open".into(), "in progress".into(), "done".into()],
                one_per_topic: true,
                ..NewTagGroup::default()
            },
        )
        .unwrap();
    let names: Vec<&str> = status.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["done", "in-progress", "open"]);
    // Tags that stay in a group keep their ids.
    let renamed = f
        .update_tag_group(
            &w.admin,
            w.c,
            status.id,
            NewTagGroup {
                name: "Status".into(),
                tags: vec!["open".into(), "done".into(), "wont-fix".into()],
                one_per_topic: true,
                ..NewTagGroup::default()
            },
        )
        .unwrap();
    let id_of = |g: &hearth::TagGroup, n: &str| g.tags.iter().find(|t| t.name == n).map(|t| t.id);
    assert_eq!(id_of(&renamed, "open"), id_of(&status, "open"));
    assert_eq!(id_of(&renamed, "in-progress"), None);
    f.create_tag_group(
        &w.admin,
        w.c,
        NewTagGroup {
            name: "iOS versions".into(),
            tags: vec!["ios-17".into(), "ios-18".into()],
            parent_tag: Some("ios".into()),
            ..NewTagGroup::default()
        },
    )
    .unwrap();
    let official = f
        .create_tag_group(
            &w.admin,
            w.c,
            NewTagGroup {
                name: "Official".into(),
                tags: vec!["official".into()],
                staff_only: true,
                ..NewTagGroup::default()
            },
        )
        .unwrap();
    let refused = |who: &Actor, tags: &[&str]| {
        let e = f.create_topic(who, w.c, new_topic(&w, "A topic with tags", tags));
        assert!(
            matches!(e, Err(Error::Invalid { field: "tags", .. })),
            "{tags:?}: {e:?}"
        );
    };
    refused(&w.member, &["open", "done"]);
    refused(&w.member, &["ios-17"]);
    refused(&w.member, &["official"]);
    let (t, _) = f
        .create_topic(
            &w.member,
            w.c,
            new_topic(&w, "Crash on start", &["ios", "ios-17", "open"]),
        )
        .unwrap();
    let (o, _) = f
        .create_topic(
            &w.moderator,
            w.c,
            new_topic(&w, "Release notes", &["official"]),
        )
        .unwrap();
    // Re-tagging keeps the rules; a staff-only tag already there may stay.
    let retag = |who: &Actor, topic: &hearth::Topic, tags: &[&str]| {
        f.update_topic(
            who,
            w.c,
            topic.id,
            TopicUpdate {
                tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                ..TopicUpdate::default()
            },
            None,
        )
    };
    assert!(matches!(
        retag(&w.member, &t, &["ios", "ios-17", "open", "done"]),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        retag(&w.member, &t, &["ios", "official"]),
        Err(Error::Invalid { .. })
    ));
    retag(&w.member, &t, &["ios", "ios-18", "done"]).unwrap();
    retag(&w.moderator, &t, &["official", "done"]).unwrap();
    retag(&w.admin, &o, &["official", "release"]).unwrap();
    // Only staff manage them: moderators read, admins change.
    assert_eq!(f.tag_groups(&w.moderator, w.c).unwrap().len(), 3);
    for who in [&w.member, &Actor::Guest] {
        assert!(f.tag_groups(who, w.c).is_err());
    }
    assert!(matches!(
        f.create_tag_group(
            &w.moderator,
            w.c,
            NewTagGroup {
                name: "X".into(),
                ..NewTagGroup::default()
            }
        ),
        Err(Error::Forbidden { .. })
    ));
    // Names are unique (any case); a parent can't be one of the tags.
    assert!(matches!(
        f.create_tag_group(
            &w.admin,
            w.c,
            NewTagGroup {
                name: "status".into(),
                ..NewTagGroup::default()
            }
        ),
        Err(Error::Invalid { field: "name", .. })
    ));
    assert!(matches!(
        f.update_tag_group(
            &w.admin,
            w.c,
            official.id,
            NewTagGroup {
                name: "Official".into(),
                tags: vec!["official".into()],
                parent_tag: Some("official".into()),
                ..NewTagGroup::default()
            }
        ),
        Err(Error::Invalid {
            field: "parent_tag",
            ..
        })
    ));
    // Lifting a rule frees the tag.
    f.update_tag_group(
        &w.admin,
        w.c,
        official.id,
        NewTagGroup {
            name: "Official".into(),
            tags: vec!["official".into()],
            ..NewTagGroup::default()
        },
    )
    .unwrap();
    f.create_topic(
        &w.member,
        w.c,
        new_topic(&w, "Now anyone may", &["official"]),
    )
    .unwrap();
    f.delete_tag_group(&w.admin, w.c, status.id).unwrap();
    f.create_topic(
        &w.member,
        w.c,
        new_topic(&w, "Open and done at once", &["open", "done"]),
    )
    .unwrap();
    assert!(matches!(
        f.tag_group(&w.admin, w.c, status.id),
        Err(Error::NotFound { .. })
    ));
    assert!(
        w.audited(Target::TagGroup(status.id))
            .contains(&AuditAction::TagGroupDeleted)
    );
}

#[test]
fn a_locked_post_is_edited_by_moderators_only() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = f
        .create_topic(&w.member, w.c, new_topic(&w, "My question here", &[]))
        .unwrap();
    let first = f
        .topic(&w.member, w.c, topic.id, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    let edit = |who: &Actor, body: &str| {
        f.edit_post(
            who,
            w.c,
            first,
            PostEdit {
                body: body.into(),
                ..PostEdit::default()
            },
        )
    };
    assert!(matches!(
        f.lock_post(&w.member, w.c, first, true),
        Err(Error::Forbidden { .. })
    ));
    assert!(f.lock_post(&w.moderator, w.c, first, true).unwrap());
    assert!(matches!(
        edit(&w.member, "Changed my mind entirely."),
        Err(Error::Forbidden { .. })
    ));
    edit(&w.moderator, "Tidied by a moderator.").unwrap();
    assert!(!f.lock_post(&w.admin, w.c, first, false).unwrap());
    edit(&w.member, "My own words again.").unwrap();
    assert_eq!(
        w.audited(Target::Post(first))
            .iter()
            .filter(|a| **a == AuditAction::PostLocked)
            .count(),
        2
    );
}

#[test]
fn a_topic_moves_in_time_with_its_posts() {
    let w = World::new();
    let f = w.forum();
    let topic = w.topics[0].0;
    let before = f
        .topic(&w.admin, w.c, topic, &PageRequest::first(10))
        .unwrap();
    let at = now(&w) - Duration::days(30);
    assert!(matches!(
        f.change_topic_timestamp(&w.member, w.c, topic, at),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.change_topic_timestamp(&w.moderator, w.c, topic, now(&w) + Duration::minutes(1)),
        Err(Error::Invalid {
            field: "timestamp",
            ..
        })
    ));
    let moved = f
        .change_topic_timestamp(&w.moderator, w.c, topic, at)
        .unwrap();
    assert_eq!(moved.created_at, at);
    let after = f
        .topic(&w.admin, w.c, topic, &PageRequest::first(10))
        .unwrap();
    let shift = at - before.posts.items[0].created_at;
    for (b, a) in before.posts.items.iter().zip(&after.posts.items) {
        assert_eq!(a.created_at, b.created_at + shift);
    }
    assert_eq!(
        after.topic.bumped_at,
        after.posts.items.last().unwrap().created_at
    );
    // Moving forward again: no post lands in the future.
    f.change_topic_timestamp(&w.moderator, w.c, topic, now(&w))
        .unwrap();
    let again = f
        .topic(&w.admin, w.c, topic, &PageRequest::first(10))
        .unwrap();
    assert!(again.posts.items.iter().all(|p| p.created_at <= now(&w)));
    assert!(
        w.audited(Target::Topic(topic))
            .contains(&AuditAction::TopicTimestampChanged)
    );
}

#[test]
fn a_topic_is_found_by_its_external_id_where_the_reader_may_read_it() {
    let w = World::new();
    let f = w.forum();
    let (t, _) = f
        .create_external_topic(
            &w.admin,
            w.c,
            new_topic(&w, "Imported thread one", &[]),
            "zd-1001",
        )
        .unwrap();
    assert_eq!(
        f.topic_by_external_id(&Actor::Guest, w.c, "zd-1001")
            .unwrap(),
        t.id
    );
    let e = f.create_external_topic(
        &w.admin,
        w.c,
        new_topic(&w, "Imported again", &[]),
        "zd-1001",
    );
    assert!(
        matches!(
            e,
            Err(Error::Invalid {
                field: "external_id",
                ..
            })
        ),
        "{e:?}"
    );
    for bad in ["", " zd", &"x".repeat(hearth::MAX_EXTERNAL_ID + 1), "a\nb"] {
        let e = f.create_external_topic(&w.admin, w.c, new_topic(&w, "Bad external id", &[]), bad);
        assert!(
            matches!(
                e,
                Err(Error::Invalid {
                    field: "external_id",
                    ..
                })
            ),
            "{bad:?}: {e:?}"
        );
    }
    let longest = "x".repeat(hearth::MAX_EXTERNAL_ID);
    f.create_external_topic(
        &w.admin,
        w.c,
        new_topic(&w, "Longest external id", &[]),
        &longest,
    )
    .unwrap();
    let private = NewTopic {
        category: w.group_only.id,
        ..new_topic(&w, "Vendor-only import", &[])
    };
    let (p, _) = f
        .create_external_topic(&w.admin, w.c, private, "zd-1002")
        .unwrap();
    assert_eq!(
        f.topic_by_external_id(&w.group_member, w.c, "zd-1002")
            .unwrap(),
        p.id
    );
    for who in [&Actor::Guest, &w.member, &w.outsider] {
        assert!(matches!(
            f.topic_by_external_id(who, w.c, "zd-1002"),
            Err(Error::NotFound { .. })
        ));
    }
    assert!(matches!(
        f.topic_by_external_id(&w.admin, w.c, "zd-404"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn tags_are_numbered_for_good() {
    let w = World::new();
    let f = w.forum();
    let tags_of = |topic: hearth::TopicId| -> Vec<(String, i64)> {
        f.topic(&w.member, w.c, topic, &PageRequest::first(5))
            .unwrap()
            .tags
            .into_iter()
            .map(|t| (t.name, t.id))
            .collect()
    };
    let (first, _) = f
        .create_topic(
            &w.member,
            w.c,
            new_topic(&w, "Numbered tags", &["Printers", "wifi"]),
        )
        .unwrap();
    let numbered = tags_of(first.id);
    let names: Vec<&str> = numbered.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["printers", "wifi"], "in the topic's order");
    let (printers, wifi) = (numbered[0].1, numbered[1].1);
    assert_ne!(printers, wifi);
    // Another topic with a known tag shares its number; a new tag gets a new one.
    let (second, _) = f
        .create_topic(
            &w.member,
            w.c,
            new_topic(&w, "More numbered tags", &["dns", "wifi"]),
        )
        .unwrap();
    let more = tags_of(second.id);
    assert_eq!(more[1], ("wifi".to_string(), wifi));
    assert!(![printers, wifi].contains(&more[0].1));
    // A tag no topic carries any more keeps its number for when it returns.
    let retag = |tags: &[&str]| {
        f.update_topic(
            &w.admin,
            w.c,
            first.id,
            TopicUpdate {
                tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                ..TopicUpdate::default()
            },
            None,
        )
        .unwrap();
    };
    retag(&["wifi"]);
    let listed = f.tags(&w.member, w.c, 100).unwrap();
    assert!(listed.iter().all(|t| t.name != "printers"));
    assert!(
        listed
            .iter()
            .any(|t| t.name == "wifi" && t.id == wifi && t.topic_count == 2)
    );
    retag(&["printers", "wifi"]);
    assert_eq!(tags_of(first.id), numbered);
}
