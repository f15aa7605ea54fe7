//! Moderator actions and their audit entries; trust levels from activity.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ClockExt, World};
use hearth::{
    Actor, AuditAction, AuditFilter, CategoryKind, Error, NewCategory, NewReply, NewSplit,
    NewTopic, PageRequest, Pin, PostEdit, SearchQuery, Target, TopicFilter, TopicFlag, TopicUpdate,
    TrustLevel, UserId,
};

fn uid(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn latest(w: &World, who: &Actor, category: Option<hearth::CategoryId>) -> Vec<hearth::TopicId> {
    w.forum()
        .latest(
            who,
            w.c,
            &TopicFilter {
                category,
                ..TopicFilter::default()
            },
            &PageRequest::first(100),
        )
        .unwrap()
        .items
        .iter()
        .map(|t| t.id)
        .collect()
}

fn audit(w: &World, filter: AuditFilter) -> Vec<hearth::AuditEntry> {
    w.forum()
        .audit_log(&w.admin, w.c, &filter, &PageRequest::first(100))
        .unwrap()
        .items
}

fn actions_on(w: &World, target: Target) -> Vec<AuditAction> {
    audit(
        w,
        AuditFilter {
            target: Some(target),
            ..AuditFilter::default()
        },
    )
    .iter()
    .map(|e| e.action)
    .collect()
}

fn topic(
    w: &World,
    who: &Actor,
    cat: hearth::CategoryId,
    title: &str,
) -> (hearth::Topic, hearth::Post) {
    w.forum()
        .create_topic(
            who,
            w.c,
            NewTopic {
                category: cat,
                title: title.into(),
                body: format!("{title} body"),
                tags: vec![],
            },
        )
        .unwrap()
}

fn reply(w: &World, who: &Actor, t: hearth::TopicId, body: &str) -> hearth::Post {
    w.forum()
        .reply(
            who,
            w.c,
            t,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap()
}

#[test]
fn flags_are_audited_with_before_after_and_reason() {
    let w = World::new();
    let f = w.forum();
    let (t, _) = w.topics[0];
    f.set_topic_flag(
        &w.moderator,
        w.c,
        t,
        TopicFlag::Closed,
        true,
        Some("heated"),
    )
    .unwrap();
    f.set_topic_flag(&w.moderator, w.c, t, TopicFlag::Closed, false, None)
        .unwrap();
    f.set_topic_flag(&w.moderator, w.c, t, TopicFlag::Archived, true, None)
        .unwrap();
    f.set_topic_flag(&w.moderator, w.c, t, TopicFlag::Unlisted, true, None)
        .unwrap();
    assert_eq!(
        actions_on(&w, Target::Topic(t)),
        vec![
            AuditAction::TopicUnlisted,
            AuditAction::TopicArchived,
            AuditAction::TopicOpened,
            AuditAction::TopicClosed
        ]
    );
    let closed = audit(
        &w,
        AuditFilter {
            action: Some(AuditAction::TopicClosed),
            ..AuditFilter::default()
        },
    );
    assert_eq!(closed.len(), 1);
    let e = &closed[0];
    assert_eq!(e.actor, Some(uid(&w.moderator)));
    assert_eq!(e.reason.as_deref(), Some("heated"));
    assert_eq!(e.before, serde_json::json!({ "closed": false }));
    assert_eq!(e.after, serde_json::json!({ "closed": true }));
    // Unlisting takes the topic out of search at once (archived stays searchable).
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new(common::WORDS[0]))
            .unwrap()
            .total,
        0
    );
    // Only admins read the log; filters by actor work.
    assert!(matches!(
        f.audit_log(
            &w.moderator,
            w.c,
            &AuditFilter::default(),
            &PageRequest::first(10)
        ),
        Err(Error::Forbidden { .. })
    ));
    assert!(
        audit(
            &w,
            AuditFilter {
                actor: Some(uid(&w.admin)),
                target: Some(Target::Topic(t)),
                ..AuditFilter::default()
            }
        )
        .is_empty()
    );
    // Members may not moderate.
    assert!(matches!(
        f.set_topic_flag(&w.member, w.c, t, TopicFlag::Closed, true, None),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn pins_in_a_category_globally_and_until_a_time() {
    let w = World::new();
    let f = w.forum();
    let cat = w.public.id;
    let (a, _) = topic(&w, &w.member, cat, "Alpha topic");
    let (b, _) = topic(&w, &w.member, cat, "Beta topic");
    w.t.clock.advance(time::Duration::minutes(1));
    let (newest, _) = topic(&w, &w.member, cat, "Newest topic");
    f.pin_topic(&w.moderator, w.c, a.id, Some(Pin::default()), None)
        .unwrap();
    let until = w.t.clock.now_plus_days(2);
    let pinned = f
        .pin_topic(
            &w.moderator,
            w.c,
            b.id,
            Some(Pin {
                globally: true,
                until: Some(until),
            }),
            Some("launch week"),
        )
        .unwrap();
    assert!(pinned.pinned && pinned.pinned_globally);
    assert_eq!(pinned.pinned_until, Some(until));
    // The category list: both pins first. The community list: only the global one.
    let in_cat = latest(&w, &w.member, Some(cat));
    assert_eq!(&in_cat[..2], &[b.id, a.id]);
    let everywhere = latest(&w, &w.member, None);
    assert_eq!(everywhere[0], b.id);
    assert_eq!(everywhere[1], newest.id);
    // Past its time the pin lifts itself, audited as the system's doing.
    w.t.clock.advance(time::Duration::days(3));
    let everywhere = latest(&w, &w.member, None);
    assert_eq!(everywhere[0], newest.id);
    let t = f.topic_only(&w.member, w.c, b.id).unwrap();
    assert!(!t.pinned && !t.pinned_globally && t.pinned_until.is_none());
    let unpins = audit(
        &w,
        AuditFilter {
            action: Some(AuditAction::TopicUnpinned),
            ..AuditFilter::default()
        },
    );
    assert_eq!(unpins.len(), 1);
    assert_eq!(unpins[0].actor, None);
    assert_eq!(unpins[0].reason.as_deref(), Some("the pin expired"));
    // A pin ending in the past is refused.
    assert!(matches!(
        f.pin_topic(
            &w.moderator,
            w.c,
            a.id,
            Some(Pin {
                globally: false,
                until: Some(w.t.clock.now_plus_days(-1))
            }),
            None
        ),
        Err(Error::Invalid { .. })
    ));
    f.pin_topic(&w.moderator, w.c, a.id, None, None).unwrap();
    assert!(!f.topic_only(&w.member, w.c, a.id).unwrap().pinned);
}

#[test]
fn move_and_retitle_by_moderators_authors_and_regulars() {
    let w = World::new();
    let f = w.forum();
    let talk = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("talk", "Talk", CategoryKind::Discussion),
        )
        .unwrap();
    let more = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("more", "More", CategoryKind::Discussion),
        )
        .unwrap();
    let (t, first) = topic(&w, &w.member, talk.id, "Original title");
    // The author retitles and re-tags: not audited.
    let t2 = f
        .update_topic(
            &w.member,
            w.c,
            t.id,
            TopicUpdate {
                title: Some("Better title".into()),
                tags: Some(vec!["Setup".into()]),
                ..TopicUpdate::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(
        (t2.title.as_str(), t2.tags.clone()),
        ("Better title", vec!["setup".to_string()])
    );
    assert!(actions_on(&w, Target::Topic(t.id)).is_empty());
    let revs = f.revisions(&w.member, w.c, first.id).unwrap();
    assert_eq!(revs[0].new_title.as_deref(), Some("Better title"));
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("better"))
            .unwrap()
            .total,
        1
    );
    // Another member at level 0 may not; at level 3 they may, between
    // discussion categories.
    let other = &w.group_member;
    let update = TopicUpdate {
        category: Some(more.id),
        ..TopicUpdate::default()
    };
    assert!(matches!(
        f.update_topic(other, w.c, t.id, update.clone(), None),
        Err(Error::Forbidden { .. })
    ));
    f.set_trust_level(
        &w.moderator,
        w.c,
        uid(other),
        Some(TrustLevel::Regular),
        None,
    )
    .unwrap();
    let moved = f
        .update_topic(other, w.c, t.id, update, Some("belongs in more"))
        .unwrap();
    assert_eq!(moved.category, more.id);
    assert_eq!(latest(&w, &w.member, Some(more.id)), vec![t.id]);
    assert_eq!(
        actions_on(&w, Target::Topic(t.id)),
        vec![AuditAction::TopicMoved]
    );
    // Not into a Q&A category, though; a moderator may.
    let to_qa = TopicUpdate {
        category: Some(w.public.id),
        ..TopicUpdate::default()
    };
    assert!(matches!(
        f.update_topic(other, w.c, t.id, to_qa.clone(), None),
        Err(Error::Forbidden { .. })
    ));
    f.update_topic(&w.moderator, w.c, t.id, to_qa, None)
        .unwrap();
    // Moving a solved question out of Q&A withdraws the answer and its points.
    let (q, answer) = w.topics[0];
    let points = f
        .points(&w.admin, w.c, uid(&w.moderator), hearth::Period::AllTime)
        .unwrap();
    f.update_topic(
        &w.moderator,
        w.c,
        q,
        TopicUpdate {
            category: Some(talk.id),
            ..TopicUpdate::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(
        f.topic_only(&w.member, w.c, q).unwrap().accepted_answer,
        None
    );
    let after = f
        .points(&w.admin, w.c, uid(&w.moderator), hearth::Period::AllTime)
        .unwrap();
    assert!(after < points, "{after} < {points}");
    let _ = answer;
    // Moving into a category the viewer cannot read is "not found".
    assert!(matches!(
        f.update_topic(
            &w.member,
            w.c,
            t.id,
            TopicUpdate {
                category: Some(w.group_only.id),
                ..TopicUpdate::default()
            },
            None
        ),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn merge_moves_posts_and_leaves_a_redirect() {
    let w = World::new();
    let f = w.forum();
    let cat = w.public.id;
    let (a, a1) = topic(&w, &w.member, cat, "Printer jams");
    let a2 = reply(&w, &w.moderator, a.id, "check the tray");
    let (b, b1) = topic(&w, &w.group_member, cat, "Printer jams again");
    let b2 = reply(&w, &w.member, b.id, "same here");
    f.like(&w.member, w.c, a2.id).unwrap();
    assert!(matches!(
        f.merge_topics(&w.member, w.c, b.id, a.id, None),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.merge_topics(&w.moderator, w.c, a.id, a.id, None),
        Err(Error::Invalid { .. })
    ));
    let merged = f
        .merge_topics(&w.moderator, w.c, b.id, a.id, Some("duplicate"))
        .unwrap();
    assert_eq!(merged.post_count, 4);
    assert_eq!(merged.like_count, 1);
    let view = f
        .topic(&w.member, w.c, a.id, &PageRequest::first(10))
        .unwrap();
    let order: Vec<_> = view
        .posts
        .items
        .iter()
        .map(|p| (p.id, p.post_number))
        .collect();
    assert_eq!(order, vec![(a1.id, 1), (a2.id, 2), (b1.id, 3), (b2.id, 4)]);
    // The old topic redirects, to those who may read the target.
    assert!(matches!(
        f.topic_only(&w.member, w.c, b.id),
        Err(Error::Moved { topic }) if topic == a.id
    ));
    assert!(!latest(&w, &Actor::Guest, None).contains(&b.id));
    // Its title is no longer indexed; its posts are found in the target.
    let hits = f
        .search(&w.member, w.c, &SearchQuery::new("same here"))
        .unwrap();
    assert_eq!(hits.hits[0].topic, a.id);
    let again = f
        .search(&w.member, w.c, &SearchQuery::new("again"))
        .unwrap();
    assert_eq!(
        again.total, 1,
        "the old first post is found once, as a reply"
    );
    assert_eq!(again.hits[0].topic, a.id);
    assert_eq!(again.hits[0].title, "Printer jams");
    // Replying to the merged topic goes where it lives now.
    assert!(matches!(
        f.reply(
            &w.member,
            w.c,
            b.id,
            NewReply {
                body: "x".into(),
                reply_to: None
            }
        ),
        Err(Error::Moved { .. })
    ));
    let next = reply(&w, &w.member, a.id, "thanks all");
    assert_eq!(next.post_number, 5);
    assert_eq!(
        actions_on(&w, Target::Topic(b.id)),
        vec![AuditAction::TopicMerged]
    );
}

#[test]
fn split_moves_replies_into_a_new_topic() {
    let w = World::new();
    let f = w.forum();
    let cat = w.public.id;
    let (t, _) = topic(&w, &w.member, cat, "Billing questions");
    let r1 = reply(&w, &w.group_member, t.id, "about invoices");
    let r2 = reply(&w, &w.moderator, t.id, "off topic: my dog");
    let r3 = f
        .reply(
            &w.member,
            w.c,
            t.id,
            NewReply {
                body: "what breed?".into(),
                reply_to: Some(r2.id),
            },
        )
        .unwrap();
    let split = f
        .split_topic(
            &w.moderator,
            w.c,
            t.id,
            &[r3.id, r2.id],
            NewSplit {
                title: "Dogs of the office".into(),
                category: cat,
            },
            Some("off topic"),
        )
        .unwrap();
    assert_eq!(split.author.id, uid(&w.moderator));
    assert_eq!(split.post_count, 2);
    let view = f
        .topic(&w.member, w.c, split.id, &PageRequest::first(10))
        .unwrap();
    let posts: Vec<_> = view
        .posts
        .items
        .iter()
        .map(|p| (p.id, p.post_number, p.reply_to))
        .collect();
    assert_eq!(posts, vec![(r2.id, 1, None), (r3.id, 2, Some(r2.id))]);
    let old = f.topic_only(&w.member, w.c, t.id).unwrap();
    assert_eq!(old.post_count, 2);
    assert_eq!(old.last_poster.id, uid(&w.group_member));
    let _ = r1;
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("dogs office"))
            .unwrap()
            .hits[0]
            .topic,
        split.id
    );
    // The first post never moves; posts must be in the topic.
    assert!(matches!(
        f.split_topic(
            &w.moderator,
            w.c,
            t.id,
            &[w.topics[0].1],
            NewSplit {
                title: "Nope nope".into(),
                category: cat
            },
            None
        ),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(
        actions_on(&w, Target::Topic(t.id)),
        vec![AuditAction::TopicSplit]
    );
}

#[test]
fn deletes_edits_and_sanctions_by_moderators_are_audited() {
    let w = World::new();
    let f = w.forum();
    let (t, p) = topic(&w, &w.member, w.public.id, "Some topic");
    let own = reply(&w, &w.member, t.id, "my own reply");
    f.delete_post(&w.member, w.c, own.id).unwrap();
    assert!(
        actions_on(&w, Target::Post(own.id)).is_empty(),
        "authors are not audited"
    );
    f.edit_post(
        &w.moderator,
        w.c,
        p.id,
        PostEdit {
            body: "cleaned up".into(),
            reason: Some("removed a phone number".into()),
            ..PostEdit::default()
        },
    )
    .unwrap();
    f.delete_post(&w.moderator, w.c, p.id).unwrap();
    f.restore_post(&w.moderator, w.c, p.id).unwrap();
    assert_eq!(
        actions_on(&w, Target::Post(p.id)),
        vec![
            AuditAction::PostRestored,
            AuditAction::PostDeleted,
            AuditAction::PostEdited
        ]
    );
    let edit = &audit(
        &w,
        AuditFilter {
            action: Some(AuditAction::PostEdited),
            ..AuditFilter::default()
        },
    )[0];
    assert_eq!(edit.reason.as_deref(), Some("removed a phone number"));
    let mia = uid(&w.member);
    let until = w.t.clock.now_plus_days(3);
    assert!(matches!(
        f.silence_member(&w.moderator, w.c, mia, Some(until), ""),
        Err(Error::Invalid { .. })
    ));
    let m = f
        .silence_member(&w.moderator, w.c, mia, Some(until), "cool off")
        .unwrap();
    assert_eq!(m.silence_reason.as_deref(), Some("cool off"));
    f.suspend_member(&w.moderator, w.c, mia, Some(until), "spam wave")
        .unwrap();
    assert!(matches!(
        f.reply(
            &w.member,
            w.c,
            t.id,
            NewReply {
                body: "x".into(),
                reply_to: None
            }
        ),
        Err(Error::Forbidden { .. })
    ));
    f.suspend_member(&w.moderator, w.c, mia, None, "").unwrap();
    assert_eq!(
        actions_on(&w, Target::Member(mia)),
        vec![
            AuditAction::MemberSuspended,
            AuditAction::MemberSuspended,
            AuditAction::MemberSilenced
        ]
    );
    assert!(matches!(
        f.silence_member(&w.member, w.c, uid(&w.group_member), Some(until), "x"),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn trust_levels_rise_with_activity() {
    let w = World::new();
    let f = w.forum();
    let newcomer = w.t.user("newcomer");
    f.join(&Actor::User(newcomer), w.c).unwrap();
    let who = Actor::User(newcomer);
    let level = || f.trust(&w.moderator, w.c, newcomer).unwrap().level;
    assert_eq!(level(), TrustLevel::New);
    // Enter 5 topics, read 30 posts, spend 10 minutes.
    let cat = w.public.id;
    let mut topics = Vec::new();
    for i in 0..25 {
        let (t, _) = topic(&w, &w.moderator, cat, &format!("Reading material {i}"));
        for j in 0..5 {
            reply(&w, &w.moderator, t.id, &format!("post {j} of {i}"));
        }
        topics.push(t.id);
    }
    for t in &topics[..4] {
        f.record_reading(&who, w.c, *t, 6, Duration::from_secs(150))
            .unwrap();
    }
    assert_eq!(level(), TrustLevel::New, "4 topics, 24 posts");
    f.record_reading(&who, w.c, topics[4], 6, Duration::from_secs(150))
        .unwrap();
    assert_eq!(level(), TrustLevel::Basic);
    // Reading the same posts again counts nothing.
    f.record_reading(&who, w.c, topics[4], 6, Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        f.trust(&who, w.c, newcomer).unwrap().activity.posts_read,
        30
    );
    // Level 2: 15 days, 20 topics, 100 posts, an hour, a like each way,
    // replies in 3 topics.
    for (day, t) in topics[5..20].iter().enumerate() {
        w.t.clock.advance(time::Duration::days(1));
        f.record_visit(&who, w.c).unwrap();
        f.record_visit(&who, w.c).unwrap(); // once a day
        f.record_reading(&who, w.c, *t, 6, Duration::from_secs(240))
            .unwrap();
        let _ = day;
    }
    let a = f.trust(&who, w.c, newcomer).unwrap().activity;
    assert_eq!(a.days_visited, 16, "the first day of reading, then 15 more");
    assert_eq!(a.topics_entered, 20);
    assert_eq!(level(), TrustLevel::Basic, "no likes or replies yet");
    let mine = reply(&w, &who, topics[0], "thanks");
    reply(&w, &who, topics[1], "thanks again");
    f.like(&who, w.c, w.topics[0].1).unwrap();
    assert_eq!(level(), TrustLevel::Basic);
    f.like(&w.moderator, w.c, mine.id).unwrap();
    assert_eq!(level(), TrustLevel::Basic, "replied in 2 topics");
    reply(&w, &who, topics[2], "and more thanks");
    assert_eq!(level(), TrustLevel::Member);
    let events = f
        .events_after(&w.admin, w.c, hearth::EventId(0), 1000)
        .unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.kind == hearth::EventKind::TrustChanged && e.subject == Some(newcomer))
        .map(|e| e.data["to"].as_u64().unwrap())
        .collect();
    assert_eq!(changes, vec![1, 2]);
    // Level 4 only by staff, and a set level stays put.
    f.set_trust_level(
        &w.moderator,
        w.c,
        newcomer,
        Some(TrustLevel::Leader),
        Some("community hero"),
    )
    .unwrap();
    let t = f.trust(&w.moderator, w.c, newcomer).unwrap();
    assert!(t.locked && t.level == TrustLevel::Leader);
    assert!(matches!(
        f.set_trust_level(&w.member, w.c, newcomer, Some(TrustLevel::Leader), None),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        actions_on(&w, Target::Member(newcomer)),
        vec![AuditAction::TrustLevelSet]
    );
}

#[test]
fn regulars_are_reviewed_daily_over_a_window() {
    let w = World::new();
    let f = w.forum();
    let mut settings = f.community(&w.admin, w.c).unwrap().settings;
    // A small window so the test stays small; the logic is the same.
    let r = &mut settings.trust.regular;
    r.window_days = 10;
    r.days_visited = 5;
    r.topics_replied_to = 2;
    r.topics_viewed_all_time = 3;
    r.posts_read_all_time = 5;
    r.likes_given = 1;
    r.likes_received = 1;
    r.min_days_before_demotion = 3;
    f.update_community(&w.admin, w.c, "Acme", settings).unwrap();
    let u = w.t.user("steady");
    let who = Actor::User(u);
    f.join(&who, w.c).unwrap();
    f.set_trust_level(&w.moderator, w.c, u, Some(TrustLevel::Member), None)
        .unwrap();
    f.set_trust_level(&w.moderator, w.c, u, None, None).unwrap(); // unlocked, stays 2
    let level = || f.trust(&w.moderator, w.c, u).unwrap().level;
    assert_eq!(level(), TrustLevel::Member);
    let cat = w.public.id;
    let mut ts = Vec::new();
    for i in 0..4 {
        let (t, _) = topic(&w, &w.moderator, cat, &format!("Window topic {i}"));
        reply(&w, &w.moderator, t.id, "more");
        ts.push(t.id);
    }
    for (i, t) in ts.iter().enumerate() {
        w.t.clock.advance(time::Duration::days(1));
        f.record_visit(&who, w.c).unwrap();
        f.record_reading(&who, w.c, *t, 2, Duration::from_secs(60))
            .unwrap();
        if i < 2 {
            let p = reply(&w, &who, *t, &format!("my reply {i}"));
            if i == 0 {
                f.like(&w.moderator, w.c, p.id).unwrap();
                f.like(&who, w.c, w.topics[0].1).unwrap();
            }
        }
    }
    assert_eq!(level(), TrustLevel::Member, "4 days visited of 5");
    w.t.clock.advance(time::Duration::days(1));
    f.record_visit(&who, w.c).unwrap();
    assert_eq!(level(), TrustLevel::Regular);
    // Gone quiet: after the window passes, the next visit demotes.
    w.t.clock.advance(time::Duration::days(20));
    f.record_visit(&who, w.c).unwrap();
    assert_eq!(level(), TrustLevel::Member);
}
