//! Request keys: `create_topic_once` and `reply_once` create at most once
//! per key, whatever happens between the commit and the answer.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, CommunitySettings, Error, NewReply, NewTopic, NewWatchedWord, PageRequest,
    REQUEST_KEY_TTL_HOURS, ReviewFilter, Role, TopicFilter, WordAction,
};

fn setup(settings: CommunitySettings) -> (TestForum, hearth::CommunityId, hearth::CategoryId) {
    let t = TestForum::new();
    let owner = t.user("olivia");
    let (c, cat) = one_category_with(&t.forum, owner, "acme", settings);
    (t, c, cat)
}

fn member(t: &TestForum, c: hearth::CommunityId, name: &str) -> Actor {
    let u = t.user(name);
    t.forum.join(&Actor::User(u), c).unwrap();
    Actor::User(u)
}

fn topic(cat: hearth::CategoryId, title: &str, body: &str) -> NewTopic {
    NewTopic {
        category: cat,
        title: title.into(),
        body: body.into(),
        tags: vec![],
    }
}

fn reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
    }
}

fn topic_count(t: &TestForum, c: hearth::CommunityId) -> usize {
    t.forum
        .latest(
            &Actor::System,
            c,
            &TopicFilter::default(),
            &PageRequest::first(100),
        )
        .unwrap()
        .items
        .len()
}

fn post_count(t: &TestForum, c: hearth::CommunityId, topic: hearth::TopicId) -> usize {
    t.forum
        .topic(&Actor::System, c, topic, &PageRequest::first(100))
        .unwrap()
        .posts
        .items
        .len()
}

#[test]
fn a_retried_create_returns_the_first_result_and_creates_nothing() {
    // Default settings: the duplicate-post rule and rate limits are on, and
    // a retry must not trip them (it is not a second post).
    let (t, c, cat) = setup(CommunitySettings::default());
    let ann = member(&t, c, "ann");
    let f = &t.forum;
    let new = topic(cat, "Printer will not pair", "It blinks twice and stops.");
    let (first, op) = f.create_topic_once(&ann, c, new.clone(), "k-1").unwrap();
    let (again, op_again) = f.create_topic_once(&ann, c, new, "k-1").unwrap();
    assert_eq!((first.id, op.id), (again.id, op_again.id));
    assert_eq!(topic_count(&t, c), 1);

    let bob = member(&t, c, "bob");
    let r1 = f
        .reply_once(&bob, c, first.id, reply("Hold the button 5 s."), "k-1")
        .unwrap();
    let r2 = f
        .reply_once(&bob, c, first.id, reply("Hold the button 5 s."), "k-1")
        .unwrap();
    assert_eq!(r1.id, r2.id);
    assert_eq!(post_count(&t, c, first.id), 2);

    // The same body without a key is the duplicate rule's business.
    assert!(matches!(
        f.reply(&bob, c, first.id, reply("Hold the button 5 s.")),
        Err(Error::Blocked { .. } | Error::RateLimited { .. } | Error::Invalid { .. })
    ));
}

#[test]
fn keys_are_per_author_and_bound_to_their_request() {
    let (t, c, cat) = setup(CommunitySettings::for_bulk_writes());
    let f = &t.forum;
    let (ann, bob) = (member(&t, c, "ann"), member(&t, c, "bob"));
    let (ta, _) = f
        .create_topic_once(&ann, c, topic(cat, "Ann asks here", "First body"), "same")
        .unwrap();
    // Another author's key is another key.
    let (tb, _) = f
        .create_topic_once(&bob, c, topic(cat, "Bob asks here", "Other body"), "same")
        .unwrap();
    assert_ne!(ta.id, tb.id);
    // Reusing a key for a different request is refused, whatever differs.
    for changed in [
        topic(cat, "Ann asks here", "Changed body"),
        topic(cat, "Ann asks there", "First body"),
        NewTopic {
            tags: vec!["x".into()],
            ..topic(cat, "Ann asks here", "First body")
        },
    ] {
        let err = f.create_topic_once(&ann, c, changed, "same").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "request_key",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let err = f
        .reply_once(&ann, c, tb.id, reply("First body"), "same")
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            field: "request_key",
            ..
        }
    ));
    assert_eq!(topic_count(&t, c), 2);
    // Bad keys are refused before anything is written.
    for bad in ["", "a\nb", &"k".repeat(hearth::MAX_REQUEST_KEY + 1)] {
        assert!(matches!(
            f.create_topic_once(&ann, c, topic(cat, "Another one", "Body"), bad),
            Err(Error::Invalid {
                field: "request_key",
                ..
            })
        ));
    }
    assert_eq!(topic_count(&t, c), 2);
}

#[test]
fn a_held_post_retried_is_the_same_review_item() {
    let (t, c, cat) = setup(CommunitySettings::for_bulk_writes());
    let f = &t.forum;
    let owner = Actor::User(f.user_by_username("olivia").unwrap().id);
    f.add_watched_word(
        &owner,
        c,
        NewWatchedWord::word("refund", WordAction::RequireApproval),
    )
    .unwrap();
    let ann = member(&t, c, "ann");
    let new = topic(cat, "Refund please", "I want a refund for order 7");
    let first = f.create_topic_once(&ann, c, new.clone(), "r").unwrap_err();
    let again = f.create_topic_once(&ann, c, new, "r").unwrap_err();
    let (Error::PendingReview { review: a, .. }, Error::PendingReview { review: b, .. }) =
        (first, again)
    else {
        panic!("both should be held");
    };
    assert_eq!(a, b);
    let moderator = t.user("max_mod");
    f.add_member(&owner, c, moderator, Role::Moderator).unwrap();
    let queue = f
        .review_queue(
            &Actor::User(moderator),
            c,
            &ReviewFilter::default(),
            &PageRequest::first(50),
        )
        .unwrap();
    assert_eq!(queue.items.len(), 1);
}

#[test]
fn keys_are_forgotten_after_their_time() {
    let (t, c, cat) = setup(CommunitySettings::for_bulk_writes());
    let f = &t.forum;
    let ann = member(&t, c, "ann");
    let new = topic(cat, "Weekly check-in", "What are you working on?");
    let (a, _) = f.create_topic_once(&ann, c, new.clone(), "weekly").unwrap();
    t.clock
        .advance(time::Duration::hours(REQUEST_KEY_TTL_HOURS) - time::Duration::minutes(1));
    let (b, _) = f.create_topic_once(&ann, c, new.clone(), "weekly").unwrap();
    assert_eq!(a.id, b.id);
    t.clock.advance(time::Duration::minutes(2));
    let (c2, _) = f.create_topic_once(&ann, c, new, "weekly").unwrap();
    assert_ne!(a.id, c2.id, "an expired key is a new request");
    assert_eq!(topic_count(&t, c), 2);
}
