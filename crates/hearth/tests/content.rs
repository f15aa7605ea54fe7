//! Topics, posts and everything around them, end to end through the engine.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::{TestForum, World};
use hearth::{
    Actor, CategoryKind, Error, Event, EventId, EventKind, HookError, Hooks, NewCategory, NewReply,
    NewTopic, PageRequest, PostDraft, PostEdit, PostFilter, SearchQuery, TopicFilter, TopicFlag,
};

fn reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
    }
}

fn topic_in(cat: hearth::CategoryId, title: &str, body: &str) -> NewTopic {
    NewTopic {
        category: cat,
        title: title.into(),
        body: body.into(),
        tags: vec![],
    }
}

#[test]
fn edits_keep_revisions_and_update_search() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    let first = f
        .topic(&w.member, w.c, topic, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .clone();
    let edited = f
        .edit_post(
            &w.group_member,
            w.c,
            first.id,
            PostEdit {
                body: "Now about **quasar** instead".into(),
                title: Some("Quasar question".into()),
                reason: Some("typo".into()),
                base_version: Some(1),
            },
        )
        .unwrap();
    assert_eq!(edited.version, 2);
    assert!(edited.html.contains("<strong>quasar</strong>"));
    let revs = f.revisions(&w.member, w.c, first.id).unwrap();
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].old_source, "How do I configure zebrapublic?");
    assert_eq!(revs[0].new_source, "Now about **quasar** instead");
    assert_eq!(
        revs[0].old_title.as_deref(),
        Some("Question about zebrapublic setup")
    );
    assert_eq!(revs[0].reason.as_deref(), Some("typo"));
    let t = f.topic_only(&w.member, w.c, topic).unwrap();
    assert_eq!(
        (t.title.as_str(), t.slug.as_str()),
        ("Quasar question", "quasar-question")
    );
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("quasar"))
            .unwrap()
            .total,
        1
    );
    // The old words of the first post are gone from the index (the answer still has its own).
    let hits = f
        .search(&w.member, w.c, &SearchQuery::new("zebrapublic"))
        .unwrap();
    assert!(hits.hits.iter().all(|h| h.post != first.id));
    // Moderators may edit anyone's post.
    f.edit_post(
        &w.moderator,
        w.c,
        first.id,
        PostEdit {
            body: "mod edit".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(f.revisions(&w.member, w.c, first.id).unwrap().len(), 2);
}

#[test]
fn delete_and_restore() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    let r = f
        .reply(&w.member, w.c, topic, reply("a reply about nebulas"))
        .unwrap();
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().post_count, 3);
    f.delete_post(&w.member, w.c, r.id).unwrap();
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().post_count, 2);
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("nebulas"))
            .unwrap()
            .total,
        0
    );
    // Hidden from others, shown to moderators as deleted.
    let seen: Vec<_> = f
        .topic(&w.group_member, w.c, topic, &PageRequest::first(10))
        .unwrap()
        .posts
        .items
        .iter()
        .map(|p| p.id)
        .collect();
    assert!(!seen.contains(&r.id));
    assert!(matches!(
        f.post(&w.group_member, w.c, r.id),
        Err(Error::NotFound { .. })
    ));
    let modview = f
        .topic(&w.moderator, w.c, topic, &PageRequest::first(10))
        .unwrap();
    assert!(
        modview
            .posts
            .items
            .iter()
            .any(|p| p.id == r.id && p.deleted)
    );
    // The author may restore what they deleted.
    f.restore_post(&w.member, w.c, r.id).unwrap();
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("nebulas"))
            .unwrap()
            .total,
        1
    );
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().post_count, 3);
    // Deleting the accepted answer un-solves; deleting the first post deletes the topic.
    f.delete_post(&w.moderator, w.c, answer).unwrap();
    assert_eq!(
        f.topic_only(&w.member, w.c, topic).unwrap().accepted_answer,
        None
    );
    let first = f
        .topic(&w.member, w.c, topic, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    f.delete_post(&w.group_member, w.c, first).unwrap();
    assert!(matches!(
        f.topic_only(&w.member, w.c, topic),
        Err(Error::NotFound { .. })
    ));
    assert!(
        f.latest(
            &w.member,
            w.c,
            &TopicFilter::default(),
            &PageRequest::first(50)
        )
        .unwrap()
        .items
        .iter()
        .all(|t| t.id != topic)
    );
    // Only moderators restore what someone else deleted.
    let f2 = f
        .topic(&w.moderator, w.c, topic, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    assert!(matches!(
        f.restore_post(&w.member, w.c, f2),
        Err(Error::NotFound { .. } | Error::Forbidden { .. })
    ));
    f.restore_post(&w.moderator, w.c, f2).unwrap();
    assert!(f.topic_only(&w.member, w.c, topic).is_ok());
}

#[test]
fn likes_answers_official_and_mentions() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    f.like(&w.member, w.c, answer).unwrap();
    let p = f.post(&w.member, w.c, answer).unwrap();
    assert_eq!(
        (p.like_count, p.liked, p.official, p.accepted),
        (2, true, true, true)
    );
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().like_count, 2);
    f.unlike(&w.member, w.c, answer).unwrap();
    assert_eq!(f.post(&w.member, w.c, answer).unwrap().like_count, 1);
    // A member's reply is not official; mentions link to members only.
    let r = f
        .reply(
            &w.member,
            w.c,
            topic,
            reply("thanks @mod_max and @nobody_here"),
        )
        .unwrap();
    assert!(!r.official);
    assert!(
        r.html
            .contains("<a class=\"mention\" href=\"/u/mod_max\">@mod_max</a>"),
        "{}",
        r.html
    );
    assert!(!r.html.contains("/u/nobody_here"));
    // Accept another answer, then withdraw.
    f.accept_answer(&w.group_member, w.c, r.id).unwrap();
    let view = f
        .topic(&Actor::Guest, w.c, topic, &PageRequest::first(10))
        .unwrap();
    assert_eq!(view.accepted_answer.map(|p| p.id), Some(r.id));
    assert_eq!(view.kind, CategoryKind::QuestionAndAnswer);
    f.unaccept_answer(&w.group_member, w.c, topic).unwrap();
    assert_eq!(
        f.topic_only(&w.member, w.c, topic).unwrap().accepted_answer,
        None
    );
    // Only in Q&A categories.
    let talk = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("talk", "Talk", CategoryKind::Discussion),
        )
        .unwrap();
    let (t, _) = f
        .create_topic(&w.member, w.c, topic_in(talk.id, "Casual chat", "hello"))
        .unwrap();
    let r = f.reply(&w.group_member, w.c, t.id, reply("hi")).unwrap();
    assert!(matches!(
        f.accept_answer(&w.member, w.c, r.id),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn latest_pages_without_gaps_or_repeats() {
    let w = World::new();
    let f = w.forum();
    let mut made = HashSet::new();
    for i in 0..73 {
        w.t.clock
            .advance(time::Duration::seconds(if i % 3 == 0 { 0 } else { 1 }));
        let (t, _) = f
            .create_topic(
                &w.member,
                w.c,
                topic_in(w.public.id, &format!("Topic number {i}"), "body"),
            )
            .unwrap();
        made.insert(t.id);
    }
    let pinned = w.topics[0].0;
    f.set_topic_flag(&w.moderator, w.c, pinned, TopicFlag::Pinned, true, None)
        .unwrap();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(10);
    loop {
        let p = f
            .latest(&w.member, w.c, &TopicFilter::default(), &page)
            .unwrap();
        seen.extend(p.items.iter().map(|t| t.id));
        match p.next {
            Some(c) => page = PageRequest::after(c, 10),
            None => break,
        }
    }
    assert_eq!(seen[0], pinned, "pinned first");
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no repeats");
    assert_eq!(seen.len(), 73 + 2, "public + members topics");
    assert!(made.is_subset(&unique));
    // Tag filter and unlisted topics.
    let tagged = f
        .latest(
            &w.member,
            w.c,
            &TopicFilter {
                category: None,
                tag: Some("SETUP".into()),
            },
            &PageRequest::first(50),
        )
        .unwrap();
    assert_eq!(tagged.items.len(), 2);
    f.set_topic_flag(&w.moderator, w.c, pinned, TopicFlag::Unlisted, true, None)
        .unwrap();
    let p = f
        .latest(
            &w.member,
            w.c,
            &TopicFilter::default(),
            &PageRequest::first(100),
        )
        .unwrap();
    assert!(p.items.iter().all(|t| t.id != pinned));
    assert!(
        f.topic_only(&w.member, w.c, pinned).is_ok(),
        "unlisted stays readable by link"
    );
}

#[test]
fn topic_posts_page_by_number() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    for i in 0..25 {
        f.reply(&w.member, w.c, topic, reply(&format!("reply {i}")))
            .unwrap();
    }
    let p1 = f
        .topic(&w.member, w.c, topic, &PageRequest::first(20))
        .unwrap();
    assert_eq!(p1.posts.items.len(), 20);
    let p2 = f
        .topic(
            &w.member,
            w.c,
            topic,
            &PageRequest::after(p1.posts.next.clone().unwrap(), 20),
        )
        .unwrap();
    assert_eq!(p2.posts.items.len(), 7);
    assert!(p2.posts.next.is_none());
    let numbers: Vec<i64> = p1
        .posts
        .items
        .iter()
        .chain(&p2.posts.items)
        .map(|p| p.post_number)
        .collect();
    assert_eq!(numbers, (1..=27).collect::<Vec<_>>());
}

#[test]
fn search_filters_snippets_and_paging() {
    let w = World::new();
    let f = w.forum();
    let talk = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("talk", "Talk", CategoryKind::Discussion),
        )
        .unwrap();
    for i in 0..30 {
        let (t, _) = f
            .create_topic(
                &w.member,
                w.c,
                NewTopic {
                    category: talk.id,
                    title: format!("Printer jam {i}"),
                    body: format!("The printer jams when 1 < 2 on page {i}"),
                    tags: vec![if i % 2 == 0 {
                        "even".into()
                    } else {
                        "odd".into()
                    }],
                },
            )
            .unwrap();
        let _ = t;
    }
    let all = f
        .search(&w.member, w.c, &SearchQuery::new("printer jam"))
        .unwrap();
    assert_eq!(all.total, 30);
    assert!(
        all.hits[0].snippet.contains("<mark>"),
        "{}",
        all.hits[0].snippet
    );
    assert!(
        all.hits[0].snippet.contains("&lt;"),
        "escaped: {}",
        all.hits[0].snippet
    );
    // Keyset paging over ranked results.
    let mut seen = HashSet::new();
    let mut q = SearchQuery {
        page: PageRequest::first(7),
        ..SearchQuery::new("printer")
    };
    loop {
        let r = f.search(&w.member, w.c, &q).unwrap();
        for h in &r.hits {
            assert!(seen.insert(h.post), "repeat");
        }
        match r.next {
            Some(c) => q.page = PageRequest::after(c, 7),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    let even = f
        .search(
            &w.member,
            w.c,
            &SearchQuery {
                tag: Some("even".into()),
                ..SearchQuery::new("printer")
            },
        )
        .unwrap();
    assert_eq!(even.total, 15);
    let by = f
        .search(
            &w.member,
            w.c,
            &SearchQuery {
                author: Some("MOD_MAX".into()),
                ..SearchQuery::new("configure")
            },
        )
        .unwrap();
    assert_eq!(
        by.total, 2,
        "answers by the moderator in readable categories"
    );
    let solved = f
        .search(
            &w.member,
            w.c,
            &SearchQuery {
                solved: Some(true),
                ..SearchQuery::new("configure OR printer")
            },
        )
        .unwrap();
    assert!(solved.hits.iter().all(|h| h.solved));
    let kind = f
        .search(
            &w.member,
            w.c,
            &SearchQuery {
                kind: Some(CategoryKind::Discussion),
                ..SearchQuery::new("printer")
            },
        )
        .unwrap();
    assert_eq!(kind.total, 30);
    let cat = f
        .search(
            &w.member,
            w.c,
            &SearchQuery {
                category: Some(w.public.id),
                ..SearchQuery::new("printer")
            },
        )
        .unwrap();
    assert_eq!(cat.total, 0);
    // Hostile query syntax is just words.
    let r = f
        .search(&w.member, w.c, &SearchQuery::new("\"unbalanced NEAR( * OR"))
        .unwrap();
    assert_eq!(r.total, 0);
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("   "))
            .unwrap()
            .total,
        0
    );
}

#[test]
fn ranking_prefers_title_matches_and_repeated_terms() {
    let w = World::new();
    let f = w.forum();
    let (body_only, _) = f
        .create_topic(
            &w.member,
            w.c,
            topic_in(w.public.id, "Unrelated heading", "mentions zephyr once"),
        )
        .unwrap();
    let (in_title, _) = f
        .create_topic(
            &w.member,
            w.c,
            topic_in(w.public.id, "Zephyr sync fails", "see above"),
        )
        .unwrap();
    let (repeated, _) = f
        .create_topic(
            &w.member,
            w.c,
            topic_in(
                w.public.id,
                "Another heading",
                "zephyr zephyr zephyr zephyrs",
            ),
        )
        .unwrap();
    let r = f
        .search(&w.member, w.c, &SearchQuery::new("zephyr"))
        .unwrap();
    let order: Vec<_> = r.hits.iter().map(|h| h.topic).collect();
    assert_eq!(order, vec![in_title.id, repeated.id, body_only.id]);
    assert!(r.hits.windows(2).all(|p| p[0].score >= p[1].score));
    assert!(r.total_is_exact);
}

#[test]
fn similar_topics_prefers_solved_and_knowledge_base() {
    let w = World::new();
    let f = w.forum();
    let kb = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("kb", "KB", CategoryKind::KnowledgeBase),
        )
        .unwrap();
    f.create_topic(
        &w.moderator,
        w.c,
        topic_in(
            kb.id,
            "Resetting your password",
            "Use the reset link on the sign-in page.",
        ),
    )
    .unwrap();
    // An unsolved question does not count as an answer.
    f.create_topic(
        &w.member,
        w.c,
        topic_in(w.public.id, "Password reset broken?", "It does not work"),
    )
    .unwrap();
    let s = f
        .similar_topics(&w.member, w.c, "How do I reset my password", 5)
        .unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].kind, CategoryKind::KnowledgeBase);
    assert!(s[0].snippet.contains("<mark>"));
    assert!(
        f.similar_topics(&w.member, w.c, "how do I", 5)
            .unwrap()
            .is_empty(),
        "stop words only"
    );
}

#[test]
fn event_log_with_durable_cursor() {
    let w = World::new();
    let f = w.forum();
    let consumer = "test-consumer";
    assert_eq!(f.event_cursor(consumer).unwrap(), EventId(0));
    let mut kinds = Vec::new();
    let mut cursor = f.event_cursor(consumer).unwrap();
    loop {
        let batch = f.events_after(&Actor::System, w.c, cursor, 7).unwrap();
        let Some(last) = batch.last() else { break };
        kinds.extend(batch.iter().map(|e| e.kind));
        f.ack_events(consumer, last.id).unwrap();
        cursor = f.event_cursor(consumer).unwrap();
    }
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::TopicCreated)
            .count(),
        3
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::PostCreated)
            .count(),
        6
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::TopicSolved)
            .count(),
        3
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::PostLiked).count(),
        3
    );
    // The cursor never moves back; new events come after it.
    f.ack_events(consumer, EventId(1)).unwrap();
    assert_eq!(f.event_cursor(consumer).unwrap(), cursor);
    f.reply(&w.member, w.c, w.topics[0].0, reply("later"))
        .unwrap();
    let next = f.events_after(&Actor::System, w.c, cursor, 100).unwrap();
    // A reply in a Q&A category also earns its author a point.
    let next_kinds: Vec<EventKind> = next.iter().map(|e| e.kind).collect();
    assert_eq!(
        next_kinds,
        vec![EventKind::PostCreated, EventKind::RewardEarned]
    );
    assert_eq!(next[0].kind.as_str(), "post.created");
    // A new Forum on the same file sees the same cursor (durable).
    let again = hearth::Forum::open(w.t.location()).unwrap();
    assert_eq!(again.event_cursor(consumer).unwrap(), cursor);
}

struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Hooks for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn filter_post(&self, draft: &PostDraft) -> Result<PostFilter, HookError> {
        if draft.body.contains("forbidden-word") {
            return Ok(PostFilter::Reject {
                reason: "please keep it civil".into(),
            });
        }
        if draft.body.contains("explode") {
            panic!("hook bug");
        }
        if draft.body.contains("fail") {
            return Err(HookError("backend down".into()));
        }
        if draft.body.contains("shout") {
            return Ok(PostFilter::Rewrite {
                body: draft.body.to_uppercase(),
            });
        }
        if draft.body.contains("inflate") {
            return Ok(PostFilter::Rewrite {
                body: "x".repeat(70_000),
            });
        }
        Ok(PostFilter::Allow)
    }
    fn on_events(&self, events: &[Event]) -> Result<(), HookError> {
        self.events.lock().unwrap().extend_from_slice(events);
        if events.iter().any(|e| e.kind == EventKind::PostLiked) {
            panic!("after-commit panic must not undo the like");
        }
        Ok(())
    }
}

#[test]
fn hooks_filter_and_observe() {
    let w = World::new();
    let f = w.forum();
    let rec = Arc::new(Recorder {
        events: Mutex::new(Vec::new()),
    });
    f.register_hooks(rec.clone());
    let (topic, answer) = w.topics[0];
    let before = w.t.dump();
    let r = f.reply(&w.member, w.c, topic, reply("this has a forbidden-word"));
    assert!(
        matches!(&r, Err(Error::Rejected { hook, reason }) if hook == "recorder" && reason == "please keep it civil")
    );
    assert!(matches!(
        f.reply(&w.member, w.c, topic, reply("explode")),
        Err(Error::Hook { .. })
    ));
    assert!(
        matches!(f.reply(&w.member, w.c, topic, reply("fail")), Err(Error::Hook { message, .. }) if message == "backend down")
    );
    assert!(matches!(
        f.reply(&w.member, w.c, topic, reply("inflate")),
        Err(Error::Invalid { field: "body", .. })
    ));
    assert_eq!(before, w.t.dump(), "failed hooks wrote nothing");
    let p = f
        .reply(&w.member, w.c, topic, reply("please shout"))
        .unwrap();
    assert_eq!(p.source, "PLEASE SHOUT");
    let seen: Vec<EventKind> = rec.events.lock().unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(seen, vec![EventKind::PostCreated, EventKind::RewardEarned]);
    // A panicking after-commit hook does not undo the write.
    f.like(&w.member, w.c, answer).unwrap();
    assert!(f.post(&w.member, w.c, answer).unwrap().liked);
}

#[test]
fn views_and_bookmarks() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    f.record_view(&w.member, w.c, topic).unwrap();
    f.record_view(&w.member, w.c, topic).unwrap();
    f.record_view(&Actor::Guest, w.c, topic).unwrap();
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().view_count, 2);
    w.t.clock.advance(time::Duration::days(1));
    f.record_view(&w.member, w.c, topic).unwrap();
    assert_eq!(f.topic_only(&w.member, w.c, topic).unwrap().view_count, 3);
    assert!(
        f.record_view(&Actor::Guest, w.c, w.topics[1].0).is_err(),
        "no views of unreadable topics"
    );

    f.bookmark(&w.member, w.c, answer).unwrap();
    f.bookmark(&w.member, w.c, w.topics[1].1).unwrap();
    let b = f
        .bookmarks(&w.member, w.c, &PageRequest::first(10))
        .unwrap();
    assert_eq!(b.items.len(), 2);
    assert!(b.items.iter().all(|p| p.bookmarked));
    assert!(
        f.bookmark(&w.member, w.c, w.topics[2].1).is_err(),
        "cannot bookmark unreadable posts"
    );
    f.unbookmark(&w.member, w.c, answer).unwrap();
    assert_eq!(
        f.bookmarks(&w.member, w.c, &PageRequest::first(10))
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn rerender_reports_progress() {
    let t = TestForum::new();
    let f = &t.forum;
    let owner = t.user("rita");
    let (community, category) = common::one_category(f, owner, "r");
    for i in 0..25 {
        f.create_topic(
            &Actor::User(owner),
            community,
            topic_in(category, &format!("Topic {i}"), "*hi*"),
        )
        .unwrap();
    }
    t.execute("UPDATE posts SET render_version = 0, html = 'stale'", &[]);
    let mut calls = Vec::new();
    let n = f
        .rerender_posts(10, &mut |done, total| calls.push((done, total)))
        .unwrap();
    assert_eq!(n, 25);
    assert_eq!(calls, vec![(10, 25), (20, 25), (25, 25)]);
    let stale = t.query_one::<i64>("SELECT count(*) FROM posts WHERE html = 'stale'");
    assert_eq!(stale, 0);
    assert_eq!(f.rerender_posts(10, &mut |_, _| {}).unwrap(), 0);

    // A post today's rules refuse (too deep) whose old HTML holds what an
    // older allowlist let through: it keeps its HTML, cleaned.
    t.execute(
        "UPDATE posts SET render_version = 0, source = ?1,
                html = '<p>old<input type=\"text\"><div id=\"login\">x</div></p>'
         WHERE id = (SELECT min(id) FROM posts)",
        &[&"<div/>".repeat(100)],
    );
    assert_eq!(f.rerender_posts(10, &mut |_, _| {}).unwrap(), 1);
    let html =
        t.query_one::<String>("SELECT html FROM posts WHERE id = (SELECT min(id) FROM posts)");
    assert!(
        html.contains("old") && !html.contains("<input") && !html.contains("id="),
        "{html}"
    );
}

#[test]
fn joining_depends_on_registration_mode() {
    let w = World::new();
    let f = w.forum();
    let newbie = Actor::User(w.t.user("newbie"));
    let m = f.join(&newbie, w.c).unwrap();
    assert_eq!(m.role, hearth::Role::Member);
    assert!(matches!(f.join(&newbie, w.c), Err(Error::Conflict { .. })));
    let mut s = f.community(&w.admin, w.c).unwrap().settings;
    s.registration = hearth::RegistrationMode::InviteOnly;
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    let late = Actor::User(w.t.user("latecomer"));
    assert!(matches!(f.join(&late, w.c), Err(Error::Forbidden { .. })));
    s.public_access = false;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    assert!(
        matches!(f.join(&late, w.c), Err(Error::NotFound { .. })),
        "private invite-only communities do not reveal themselves"
    );
    assert!(matches!(
        f.join(&Actor::Guest, w.c),
        Err(Error::Forbidden { .. })
    ));
    let dir = f.members(&w.member, w.c, &PageRequest::first(3)).unwrap();
    assert_eq!(dir.items.len(), 3);
    assert!(dir.next.is_some());
}

#[test]
fn replies_to_a_post_in_order_without_what_the_viewer_may_not_see() {
    let w = World::new();
    let f = w.forum();
    let (topic, answer) = w.topics[0];
    let to = |body: &str| NewReply {
        body: body.into(),
        reply_to: Some(answer),
    };
    let first = f
        .reply(&w.member, w.c, topic, to("first follow-up"))
        .unwrap();
    f.reply(&w.member, w.c, topic, reply("not a reply to the answer"))
        .unwrap();
    let second = f
        .reply(&w.group_member, w.c, topic, to("second follow-up"))
        .unwrap();
    let ids = |actor: &Actor| -> Vec<_> {
        f.replies(actor, w.c, answer)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(ids(&Actor::Guest), vec![first.id, second.id]);
    // A deleted reply: gone for others, there for moderators.
    f.delete_post(&w.member, w.c, first.id).unwrap();
    assert_eq!(ids(&w.group_member), vec![second.id]);
    assert_eq!(ids(&w.moderator), vec![first.id, second.id]);
    // Replies of a post nobody may read, or of no post: not found.
    assert!(matches!(
        f.replies(&w.group_member, w.c, first.id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.replies(&w.member, w.c, hearth::PostId(999_999)),
        Err(Error::NotFound { .. })
    ));
}

/// SQLite keeps each post's search scope (category, flags) and length in a
/// table of its own beside the text index; through every change that moves
/// a post's scope it agrees with the index row, row for row, and a search
/// sees the change. (PostgreSQL reads the scope from the index row itself:
/// there the searches below are the whole check.)
#[test]
fn search_scope_follows_every_change() {
    let w = World::new();
    let f = w.forum();
    let talk = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("qa", "Questions", CategoryKind::QuestionAndAnswer),
        )
        .unwrap();
    let (topic, first) = f
        .create_topic(
            &w.member,
            w.c,
            topic_in(talk.id, "Marsupial sightings", "Seen a quokka today"),
        )
        .unwrap();
    let answer = f
        .reply(
            &w.moderator,
            w.c,
            topic.id,
            reply("A quokka lives on Rottnest"),
        )
        .unwrap();
    let found = |who: &Actor| {
        f.search(who, w.c, &SearchQuery::new("quokka"))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.post)
            .collect::<HashSet<_>>()
    };
    let in_step = |when: &str| {
        if w.t.is_postgres() {
            return;
        }
        let differing: i64 = w.t.query_one(
            "SELECT count(*) FROM search_index s LEFT JOIN search_index_scope c ON c.id = -s.rowid
             WHERE c.id IS NULL OR c.category <> s.category OR c.flags <> s.flags OR c.len < 1",
        );
        let orphans: i64 = w.t.query_one(
            "SELECT count(*) FROM search_index_scope
             WHERE id NOT IN (SELECT -rowid FROM search_index)",
        );
        assert_eq!((differing, orphans), (0, 0), "after {when}");
    };
    in_step("posting");
    assert_eq!(found(&w.member), HashSet::from([first.id, answer.id]));

    f.edit_post(
        &w.moderator,
        w.c,
        answer.id,
        PostEdit {
            body: "Quokka, quokka: a quokka colony on Rottnest".into(),
            title: None,
            reason: None,
            base_version: None,
        },
    )
    .unwrap();
    in_step("an edit");
    let solved = |who: &Actor| {
        f.search(
            who,
            w.c,
            &SearchQuery {
                solved: Some(true),
                ..SearchQuery::new("quokka")
            },
        )
        .unwrap()
        .total
    };
    assert_eq!(solved(&w.member), 0);
    f.accept_answer(&w.member, w.c, answer.id).unwrap();
    in_step("an accepted answer");
    assert_eq!(solved(&w.member), 2);

    f.update_topic(
        &w.moderator,
        w.c,
        topic.id,
        hearth::TopicUpdate {
            category: Some(w.group_only.id),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    in_step("a move");
    assert!(
        found(&w.member).is_empty(),
        "moved out of the member's reach"
    );
    assert_eq!(found(&w.group_member).len(), 2);
    f.update_topic(
        &w.moderator,
        w.c,
        topic.id,
        hearth::TopicUpdate {
            category: Some(talk.id),
            ..Default::default()
        },
        None,
    )
    .unwrap();

    f.set_topic_flag(&w.moderator, w.c, topic.id, TopicFlag::Unlisted, true, None)
        .unwrap();
    in_step("unlisting");
    assert!(found(&w.member).is_empty());
    assert_eq!(found(&w.moderator).len(), 2);
    f.set_topic_flag(
        &w.moderator,
        w.c,
        topic.id,
        TopicFlag::Unlisted,
        false,
        None,
    )
    .unwrap();

    f.delete_post(&w.moderator, w.c, first.id).unwrap();
    in_step("a deletion");
    assert!(found(&w.moderator).is_empty(), "a deleted topic is out");
    f.restore_post(&w.moderator, w.c, first.id).unwrap();
    in_step("a restore");
    assert_eq!(found(&w.member), HashSet::from([first.id, answer.id]));
    // The edited answer says "quokka" four times in a short text: it ranks
    // first on the counts the index gives.
    let ranked = f
        .search(&w.member, w.c, &SearchQuery::new("quokka"))
        .unwrap();
    assert_eq!(ranked.hits[0].post, answer.id);
    assert!(ranked.hits[0].score > ranked.hits[1].score);
    assert!(
        ranked.hits[0].snippet.contains("<mark>Quokka,</mark>"),
        "{}",
        ranked.hits[0].snippet
    );
}

/// Replies wait for the full-text index on SQLite (`search_pending`) and
/// join it a batch at a time — when the 64th waits, or before anything
/// reads the index — so every search still finds every committed reply,
/// with its text and scope as they are when it joins: edited, deleted,
/// moved into a new topic or copied into another database while it
/// waited. PostgreSQL indexes each reply at once; the same searches must
/// answer the same there.
/// A broad search counts and ranks the newest `SEARCH_WINDOW` matches
/// (SQLite reads them in its index's forward order, the post ids negated):
/// older matches stay out of the ranking however well they would score,
/// and the total says it is a lower bound.
#[test]
fn a_broad_search_ranks_the_newest_matches() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    let say = |body: &str| f.reply(&w.moderator, w.c, topic, reply(body)).unwrap().id;
    // The oldest would rank first: the word three times.
    let old: Vec<_> = (0..5)
        .map(|i| say(&format!("quokka quokka quokka, early note {i}")))
        .collect();
    let newer: Vec<_> = (0..hearth::SEARCH_WINDOW)
        .map(|i| say(&format!("one quokka in a longer later note number {i}")))
        .collect();
    let r = f
        .search(&w.member, w.c, &SearchQuery::new("quokka"))
        .unwrap();
    assert_eq!(r.total, hearth::SEARCH_WINDOW as u64);
    assert!(!r.total_is_exact, "more matched than were counted");
    assert!(!r.hits.is_empty());
    for h in &r.hits {
        assert!(
            !old.contains(&h.post),
            "an old match was ranked: {:?}",
            h.post
        );
        assert!(newer.contains(&h.post));
    }
    // Ties go to the newer post.
    assert_eq!(r.hits[0].post, newer[newer.len() - 1]);
}

#[test]
fn replies_wait_for_the_index_and_every_search_finds_them() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    let sqlite = !w.t.is_postgres();
    let waiting = || -> i64 { w.t.query_one("SELECT count(*) FROM search_pending") };
    let hits = |who: &Actor, words: &str| -> Vec<hearth::PostId> {
        f.search(who, w.c, &SearchQuery::new(words))
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.post)
            .collect()
    };
    // Moderators' replies: no rate limit or duplicate check in the way.
    let say = |body: &str| f.reply(&w.moderator, w.c, topic, reply(body)).unwrap().id;

    // The world's own replies join the index with the first search.
    if sqlite {
        assert_eq!(waiting(), 3, "the world's three answers");
    }
    assert!(hits(&w.member, "nothing").is_empty());
    assert_eq!(waiting(), 0);

    let wombats: Vec<_> = (0..3).map(|i| say(&format!("wombat number {i}"))).collect();
    if sqlite {
        assert_eq!(waiting(), 3);
        let indexed: i64 = w.t.query_one(&format!(
            "SELECT count(*) FROM search_index WHERE -rowid IN ({}, {}, {})",
            wombats[0], wombats[1], wombats[2]
        ));
        assert_eq!(indexed, 0, "not indexed yet");
    }
    let mut found = hits(&w.member, "wombat");
    found.sort();
    assert_eq!(found, wombats, "the search indexed them first");
    assert_eq!(waiting(), 0);

    // A full batch joins the index with the write that fills it.
    for i in 1..=64 {
        say(&format!("platypus count {i}"));
        if sqlite {
            assert_eq!(waiting(), if i == 64 { 0 } else { i }, "after reply {i}");
        }
    }
    if sqlite {
        let indexed: i64 =
            w.t.query_one("SELECT count(*) FROM search_index WHERE body LIKE 'platypus count %'");
        assert_eq!(indexed, 64, "indexed without a search");
        // Each joined with its scope and length, as one indexed alone.
        let differing: i64 = w.t.query_one(
            "SELECT count(*) FROM search_index s LEFT JOIN search_index_scope c ON c.id = -s.rowid
             WHERE c.id IS NULL OR c.category <> s.category OR c.flags <> s.flags OR c.len < 1",
        );
        assert_eq!(differing, 0);
    }
    assert_eq!(
        f.search(&w.member, w.c, &SearchQuery::new("platypus"))
            .unwrap()
            .total,
        64
    );

    // Edited while waiting: indexed with its new text, once.
    let numbat = say("a numbat at dawn");
    f.edit_post(
        &w.moderator,
        w.c,
        numbat,
        PostEdit {
            body: "a bilby at dusk".into(),
            title: None,
            reason: None,
            base_version: None,
        },
    )
    .unwrap();
    assert!(hits(&w.member, "numbat").is_empty());
    assert_eq!(hits(&w.member, "bilby"), vec![numbat]);

    // Deleted while waiting: found by nobody once it joins.
    let dingo = say("a dingo howls");
    f.delete_post(&w.moderator, w.c, dingo).unwrap();
    assert!(hits(&w.moderator, "dingo").is_empty());
    assert!(hits(&w.member, "dingo").is_empty());
    f.restore_post(&w.moderator, w.c, dingo).unwrap();
    assert_eq!(hits(&w.member, "dingo"), vec![dingo]);

    // Moved into a new topic as its first post while waiting: indexed
    // with the new topic's title.
    let echidna = say("an echidna digs");
    f.split_topic(
        &w.moderator,
        w.c,
        topic,
        &[echidna],
        hearth::NewSplit {
            title: "Spiny anteater diaries".into(),
            category: w.public.id,
        },
        None,
    )
    .unwrap();
    assert_eq!(hits(&w.member, "echidna"), vec![echidna]);
    assert_eq!(hits(&w.member, "anteater"), vec![echidna]);

    // Copied while waiting: the copy's index has it.
    let quoll = say("a quoll at night");
    let dir = tempfile::tempdir().unwrap();
    let copy = hearth::Forum::open(dir.path().join("copy.db")).unwrap();
    f.copy_to(&copy, &mut |_, _, _| {}).unwrap();
    let in_copy = copy
        .search(&w.member, w.c, &SearchQuery::new("quoll"))
        .unwrap();
    assert_eq!(
        in_copy.hits.iter().map(|h| h.post).collect::<Vec<_>>(),
        vec![quoll]
    );
}

/// Tidying the full-text index merges its segments in steps until there is
/// nothing left to do, and searches find exactly what they found before
/// (and what is written after). PostgreSQL has nothing to tidy.
#[test]
fn tidying_the_search_index_changes_no_result() {
    let w = World::new();
    let f = w.forum();
    let talk = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("talk", "Talk", CategoryKind::Discussion),
        )
        .unwrap();
    let (topic, _) = f
        .create_topic(
            &w.member,
            w.c,
            topic_in(talk.id, "Wombat burrows", "How deep do wombats dig?"),
        )
        .unwrap();
    // Every reply is a transaction of its own, each a new index segment.
    for i in 0..60 {
        let words = if i % 3 == 0 {
            "wombat tunnels"
        } else {
            "deep burrows"
        };
        f.reply(
            &w.member,
            w.c,
            topic.id,
            reply(&format!("{words} number {i}")),
        )
        .unwrap();
    }
    let results = |q: &str| {
        let r = f.search(&w.member, w.c, &SearchQuery::new(q)).unwrap();
        (
            r.total,
            r.hits
                .iter()
                .map(|h| (h.post, h.score.to_bits()))
                .collect::<Vec<_>>(),
        )
    };
    let before = [
        results("wombat"),
        results("deep burrows"),
        results("number"),
    ];
    let steps = f.tidy_search_index().unwrap();
    if w.t.is_postgres() {
        assert_eq!(steps, 0);
    } else {
        assert!(steps > 0, "sixty small segments to merge");
        assert_eq!(f.tidy_search_index().unwrap(), 0, "nothing left");
        assert_eq!(f.tidy_search_index().unwrap(), 0, "and still nothing");
    }
    assert_eq!(
        [
            results("wombat"),
            results("deep burrows"),
            results("number")
        ],
        before
    );
    let late = f
        .reply(&w.member, w.c, topic.id, reply("a late wombat"))
        .unwrap();
    assert!(results("wombat").1.iter().any(|(p, _)| *p == late.id));
}
