//! Moderation rules, the review queue, flags and trust-level limits.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ClockExt, TestForum};
use hearth::{
    Actor, AuditAction, AuditFilter, CategoryId, CategoryKind, CategoryRules, CommunityId,
    CommunitySettings, Decision, Error, EventId, FlagKind, NewCategory, NewCommunity, NewReply,
    NewTopic, NewWatchedWord, PageRequest, PostEdit, ReviewFilter, ReviewKind, ReviewStatus, Role,
    SearchQuery, Target, TopicFilter, TrustLevel, UserId, WordAction,
};

/// A community with default (strict) rules, one discussion category, and
/// members at chosen trust levels.
struct Mod {
    t: TestForum,
    c: CommunityId,
    cat: CategoryId,
    admin: Actor,
    moderator: Actor,
    /// Trust level 0.
    newbie: Actor,
    /// Trust level 1.
    basic: Actor,
    /// Trust level 2.
    regular: Actor,
    flaggers: Vec<Actor>,
}

fn id(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

impl Mod {
    fn new() -> Mod {
        Mod::with(CommunitySettings::default())
    }

    fn with(settings: CommunitySettings) -> Mod {
        let t = TestForum::new();
        let f = &t.forum;
        let owner = t.user("olga_owner");
        let c = f
            .create_community(
                &Actor::System,
                NewCommunity {
                    slug: "acme".into(),
                    name: "Acme".into(),
                    owner: Some(owner),
                    settings,
                },
            )
            .unwrap()
            .id;
        let owner = Actor::User(owner);
        let add = |name: &str, role: Role, level: Option<TrustLevel>| {
            let u = t.user(name);
            f.add_member(&owner, c, u, role).unwrap();
            if let Some(l) = level {
                f.set_trust_level(&Actor::System, c, u, Some(l), None)
                    .unwrap();
            }
            Actor::User(u)
        };
        let admin = add("ann_admin", Role::Admin, None);
        let moderator = add("max_mod", Role::Moderator, None);
        let newbie = add("nina_new", Role::Member, None);
        let basic = add("bea_basic", Role::Member, Some(TrustLevel::Basic));
        let regular = add("reg_regular", Role::Member, Some(TrustLevel::Member));
        let flaggers = (0..3)
            .map(|i| {
                add(
                    &format!("flagger{i}"),
                    Role::Member,
                    Some(TrustLevel::Basic),
                )
            })
            .collect();
        let cat = f
            .create_category(
                &admin,
                c,
                NewCategory::new("talk", "Talk", CategoryKind::Discussion),
            )
            .unwrap()
            .id;
        Mod {
            t,
            c,
            cat,
            admin,
            moderator,
            newbie,
            basic,
            regular,
            flaggers,
        }
    }

    fn f(&self) -> &hearth::Forum {
        &self.t.forum
    }

    fn topic(
        &self,
        who: &Actor,
        title: &str,
        body: &str,
    ) -> hearth::Result<(hearth::Topic, hearth::Post)> {
        self.topic_in(who, self.cat, title, body)
    }

    fn topic_in(
        &self,
        who: &Actor,
        cat: CategoryId,
        title: &str,
        body: &str,
    ) -> hearth::Result<(hearth::Topic, hearth::Post)> {
        self.f().create_topic(
            who,
            self.c,
            NewTopic {
                category: cat,
                title: title.into(),
                body: body.into(),
                tags: vec![],
            },
        )
    }

    fn reply(
        &self,
        who: &Actor,
        topic: hearth::TopicId,
        body: &str,
    ) -> hearth::Result<hearth::Post> {
        self.f().reply(
            who,
            self.c,
            topic,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
    }

    fn word(&self, pattern: &str, action: WordAction) {
        self.f()
            .add_watched_word(&self.admin, self.c, NewWatchedWord::word(pattern, action))
            .unwrap();
    }

    fn pending(&self) -> Vec<hearth::ReviewItem> {
        self.f()
            .review_queue(
                &self.moderator,
                self.c,
                &ReviewFilter::default(),
                &PageRequest::first(50),
            )
            .unwrap()
            .items
    }

    fn latest_ids(&self, who: &Actor) -> Vec<hearth::TopicId> {
        self.f()
            .latest(
                who,
                self.c,
                &TopicFilter::default(),
                &PageRequest::first(50),
            )
            .unwrap()
            .items
            .iter()
            .map(|t| t.id)
            .collect()
    }

    fn audit(&self, action: AuditAction) -> Vec<hearth::AuditEntry> {
        self.f()
            .audit_log(
                &self.admin,
                self.c,
                &AuditFilter {
                    action: Some(action),
                    ..AuditFilter::default()
                },
                &PageRequest::first(50),
            )
            .unwrap()
            .items
    }
}

#[test]
fn watched_word_block_refuses_with_the_reason_and_writes_nothing() {
    let m = Mod::new();
    m.f()
        .add_watched_word(
            &m.admin,
            m.c,
            NewWatchedWord {
                reason: "no crypto shilling here".into(),
                ..NewWatchedWord::word("bitcoin*", WordAction::Block)
            },
        )
        .unwrap();
    let before = m.t.dump();
    let err = m
        .topic(&m.regular, "Great offer", "Buy BITCOINS now")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Blocked { rule, reason } if rule == "watched_word" && reason == "no crypto shilling here"),
        "{err:?}"
    );
    // Blocks apply to titles too, and to staff.
    assert!(matches!(
        m.topic(&m.moderator, "bitcoin tips", "hello there"),
        Err(Error::Blocked { .. })
    ));
    assert_eq!(before, m.t.dump());
    // Words match whole words only.
    m.topic(&m.regular, "Coins", "a bitco in joke").unwrap();
}

#[test]
fn censor_replace_tag_and_nofollow() {
    let m = Mod::new();
    m.word("darn", WordAction::Censor);
    m.f()
        .add_watched_word(
            &m.admin,
            m.c,
            NewWatchedWord::regex(
                r"acme\s+corp(oration)?",
                WordAction::Replace {
                    with: "ACME".into(),
                },
            ),
        )
        .unwrap();
    m.word(
        "printer",
        WordAction::Tag {
            tag: "printers".into(),
        },
    );
    m.word("partner", WordAction::Nofollow);
    let (t, p) = m
        .topic(
            &m.regular,
            "Darn printer",
            "The darn Acme  Corporation printer. See [docs](/docs) from our partner.",
        )
        .unwrap();
    assert_eq!(t.title, "■■■■ printer");
    assert!(
        p.source.starts_with("The ■■■■ ACME printer."),
        "{}",
        p.source
    );
    assert_eq!(t.tags, vec!["printers".to_string()]);
    assert!(
        p.html
            .contains("href=\"/docs\" rel=\"nofollow ugc noopener\""),
        "{}",
        p.html
    );
    // Without the nofollow word, internal links stay followed.
    let (_, p) = m
        .topic(&m.regular, "Another one", "See [docs](/docs).")
        .unwrap();
    assert!(!p.html.contains("nofollow"), "{}", p.html);
    // Edits are screened too.
    let edited = m
        .f()
        .edit_post(
            &m.regular,
            m.c,
            p.id,
            PostEdit {
                body: "darn docs".into(),
                ..PostEdit::default()
            },
        )
        .unwrap();
    assert_eq!(edited.source, "■■■■ docs");
}

#[test]
fn require_approval_queues_and_approval_publishes() {
    let m = Mod::new();
    m.word("refund", WordAction::RequireApproval);
    let events_before = m
        .f()
        .events_after(&Actor::System, m.c, EventId(0), 1000)
        .unwrap()
        .len();
    let err = m
        .topic(&m.regular, "Refund please", "I want a refund")
        .unwrap_err();
    let Error::PendingReview { review, reason } = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("reviews"), "{reason}");
    // Nowhere to be seen: lists, search, events for members.
    assert!(m.latest_ids(&m.regular).is_empty());
    assert_eq!(
        m.f()
            .search(&m.regular, m.c, &SearchQuery::new("refund"))
            .unwrap()
            .total,
        0
    );
    let member_events = m.f().events_after(&m.basic, m.c, EventId(0), 1000).unwrap();
    assert!(
        member_events
            .iter()
            .all(|e| e.kind != hearth::EventKind::TopicCreated)
    );
    let staff_events = m
        .f()
        .events_after(&Actor::System, m.c, EventId(0), 1000)
        .unwrap();
    assert_eq!(staff_events.len(), events_before + 1);
    assert_eq!(
        staff_events.last().unwrap().kind,
        hearth::EventKind::ReviewQueued
    );
    // The author follows it; moderators see it in the queue.
    let mine = m
        .f()
        .my_reviews(&m.regular, m.c, &PageRequest::first(10))
        .unwrap();
    assert_eq!(mine.items[0].id, review);
    assert_eq!(mine.items[0].status, ReviewStatus::Pending);
    let queue = m.pending();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].kind, ReviewKind::QueuedPost);
    assert_eq!(queue[0].title.as_deref(), Some("Refund please"));
    // Members may not decide.
    assert!(matches!(
        m.f()
            .decide_review(&m.regular, m.c, review, Decision::Approve),
        Err(Error::Forbidden { .. })
    ));
    let item = m
        .f()
        .decide_review(&m.moderator, m.c, review, Decision::Approve)
        .unwrap();
    assert_eq!(item.status, ReviewStatus::Approved);
    let post = m.f().post(&Actor::Guest, m.c, item.post.unwrap()).unwrap();
    assert_eq!(post.author.id, id(&m.regular));
    assert_eq!(m.latest_ids(&m.basic).len(), 1);
    assert!(m.pending().is_empty());
    assert!(matches!(
        m.f()
            .decide_review(&m.moderator, m.c, review, Decision::Approve),
        Err(Error::Conflict { .. })
    ));
    assert_eq!(m.audit(AuditAction::ReviewDecided).len(), 1);
}

#[test]
fn approve_with_edit_reject_and_delete_and_silence() {
    let m = Mod::new();
    m.word("refund", WordAction::RequireApproval);
    let (t, _) = m.topic(&m.moderator, "Billing", "ask here").unwrap();
    let queued = |who: &Actor, body: &str| match m.reply(who, t.id, body) {
        Err(Error::PendingReview { review, .. }) => review,
        other => panic!("{other:?}"),
    };
    let a = queued(&m.regular, "refund me, you crooks");
    let item = m
        .f()
        .decide_review(
            &m.moderator,
            m.c,
            a,
            Decision::ApproveWithEdit {
                body: "refund me, please".into(),
            },
        )
        .unwrap();
    let post = m.f().post(&m.basic, m.c, item.post.unwrap()).unwrap();
    assert_eq!(post.source, "refund me, please");

    let b = queued(&m.basic, "refund refund refund");
    assert!(matches!(
        m.f().decide_review(
            &m.moderator,
            m.c,
            b,
            Decision::Reject { reason: " ".into() }
        ),
        Err(Error::Invalid { .. })
    ));
    m.f()
        .decide_review(
            &m.moderator,
            m.c,
            b,
            Decision::Reject {
                reason: "please write one message".into(),
            },
        )
        .unwrap();
    let mine = m
        .f()
        .my_reviews(&m.basic, m.c, &PageRequest::first(10))
        .unwrap();
    assert_eq!(mine.items[0].status, ReviewStatus::Rejected);
    assert_eq!(
        mine.items[0].decision_reason.as_deref(),
        Some("please write one message")
    );
    // Another member cannot read it.
    assert!(matches!(
        m.f().review_item(&m.regular, m.c, b),
        Err(Error::NotFound { .. })
    ));

    let c = queued(&m.newbie, "refund or else");
    let until = m.t.clock.now_plus_days(7);
    m.f()
        .decide_review(
            &m.moderator,
            m.c,
            c,
            Decision::DeleteAndSilence {
                reason: "threats".into(),
                until,
            },
        )
        .unwrap();
    let newbie = m.f().member(&m.admin, m.c, id(&m.newbie)).unwrap();
    assert_eq!(newbie.silenced_until, Some(until));
    assert_eq!(newbie.silence_reason.as_deref(), Some("threats"));
    assert!(matches!(
        m.reply(&m.newbie, t.id, "hello"),
        Err(Error::Forbidden { .. })
    ));
    // Only the approved reply was published.
    let view = m
        .f()
        .topic(&m.basic, m.c, t.id, &PageRequest::first(10))
        .unwrap();
    assert_eq!(view.posts.items.len(), 2);
    assert_eq!(m.audit(AuditAction::MemberSilenced).len(), 1);
}

#[test]
fn queued_edits_leave_the_post_as_it_was_until_approved() {
    let m = Mod::new();
    let (_, p) = m.topic(&m.regular, "My setup", "all fine").unwrap();
    m.word("refund", WordAction::RequireApproval);
    let err = m
        .f()
        .edit_post(
            &m.regular,
            m.c,
            p.id,
            PostEdit {
                body: "now I want a refund".into(),
                ..PostEdit::default()
            },
        )
        .unwrap_err();
    let Error::PendingReview { review, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(m.f().post(&m.basic, m.c, p.id).unwrap().source, "all fine");
    m.f()
        .decide_review(&m.moderator, m.c, review, Decision::Approve)
        .unwrap();
    let post = m.f().post(&m.basic, m.c, p.id).unwrap();
    assert_eq!(post.source, "now I want a refund");
    assert_eq!(post.version, 2);
}

#[test]
fn flag_action_publishes_and_queues_for_review() {
    let m = Mod::new();
    m.word("competitor", WordAction::Flag);
    let (t, p) = m
        .topic(&m.regular, "Switching", "competitor does it better")
        .unwrap();
    assert!(m.latest_ids(&Actor::Guest).contains(&t.id));
    let q = m.pending();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].kind, ReviewKind::FlaggedPost);
    assert_eq!(q[0].post, Some(p.id));
    assert_eq!(q[0].flags[0].kind, FlagKind::Rule);
    assert!(q[0].flags[0].flagger.is_none());
}

#[test]
fn relaxed_categories_skip_review_rules_and_strict_ones_tighten() {
    let m = Mod::new();
    m.word("refund", WordAction::RequireApproval);
    m.word("slur", WordAction::Block);
    let lounge = m
        .f()
        .create_category(
            &m.admin,
            m.c,
            NewCategory::new("lounge", "Lounge", CategoryKind::Discussion).rules(CategoryRules {
                relaxed: true,
                ..CategoryRules::default()
            }),
        )
        .unwrap();
    m.topic_in(&m.regular, lounge.id, "Chat", "ha, refund jokes")
        .unwrap();
    assert!(matches!(
        m.topic_in(&m.regular, lounge.id, "Chat 2", "slur"),
        Err(Error::Blocked { .. })
    ));
    let vip = m
        .f()
        .create_category(
            &m.admin,
            m.c,
            NewCategory::new("vip", "VIP", CategoryKind::Discussion).rules(CategoryRules {
                approve_below: Some(TrustLevel::Member),
                topic_min_trust: Some(TrustLevel::Basic),
                ..CategoryRules::default()
            }),
        )
        .unwrap();
    assert!(matches!(
        m.topic_in(&m.newbie, vip.id, "Hello VIPs", "hi"),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        m.topic_in(&m.basic, vip.id, "Hello VIPs", "hi"),
        Err(Error::PendingReview { .. })
    ));
    m.topic_in(&m.regular, vip.id, "Hello VIPs", "hi").unwrap();
    m.topic_in(&m.moderator, vip.id, "Staff here", "hi")
        .unwrap();
}

#[test]
fn new_member_link_image_and_mention_limits_lift_with_trust() {
    let m = Mod::new();
    let body = "[a](https://a.example) [b](https://b.example) [c](https://c.example)";
    let before = m.t.dump();
    let err = m.topic(&m.newbie, "Links", body).unwrap_err();
    assert!(
        matches!(&err, Error::Blocked { rule, .. } if rule == "new_member_links"),
        "{err:?}"
    );
    let err = m
        .topic(
            &m.newbie,
            "Pictures",
            "![x](https://i.example/1.png) ![y](https://i.example/2.png)",
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Blocked { rule, .. } if rule == "new_member_images"),
        "{err:?}"
    );
    let err = m
        .topic(&m.newbie, "Hello all", "@ann_admin @max_mod @bea_basic hi")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Blocked { rule, .. } if rule == "new_member_mentions"),
        "{err:?}"
    );
    assert_eq!(before, m.t.dump());
    // Two links are fine at level 0; three at level 1.
    m.topic(
        &m.newbie,
        "Two links",
        "[a](https://a.example) [b](https://b.example)",
    )
    .unwrap();
    m.topic(&m.basic, "Links", body).unwrap();
}

#[test]
fn rate_limits_say_when_to_retry() {
    let m = Mod::new();
    let (t, _) = m.topic(&m.moderator, "Thread", "go").unwrap();
    // Level 2: 10 posts a minute.
    for i in 0..10 {
        m.t.clock.advance(time::Duration::seconds(1));
        m.reply(&m.regular, t.id, &format!("reply {i}"))
            .unwrap_or_else(|e| panic!("{i}: {e}"));
    }
    let before = m.t.dump();
    // 20 replies per topic per hour would allow more, but 10 a minute does not.
    let err = m.reply(&m.regular, t.id, "one more").unwrap_err();
    // The first of the ten was 10 s ago: it leaves the window in 50 s.
    assert!(
        matches!(err, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(51)),
        "{err:?}"
    );
    assert_eq!(before, m.t.dump());
    m.t.clock.advance(time::Duration::seconds(51));
    m.reply(&m.regular, t.id, "one more").unwrap();
    // Level 0 is stricter: 3 a minute.
    for i in 0..3 {
        m.reply(&m.newbie, t.id, &format!("new {i}")).unwrap();
    }
    assert!(matches!(
        m.reply(&m.newbie, t.id, "new 3"),
        Err(Error::RateLimited { .. })
    ));
    // Staff are exempt.
    for i in 0..15 {
        m.reply(&m.moderator, t.id, &format!("staff {i}")).unwrap();
    }
}

#[test]
fn replies_per_topic_per_hour_and_topics_per_day() {
    let m = Mod::new();
    let (t, _) = m.topic(&m.moderator, "Thread", "go").unwrap();
    for i in 0..20 {
        m.t.clock.advance(time::Duration::seconds(30));
        m.reply(&m.regular, t.id, &format!("r{i}")).unwrap();
    }
    assert!(matches!(
        m.reply(&m.regular, t.id, "r20"),
        Err(Error::RateLimited { .. })
    ));
    // Other topics are fine.
    let (t2, _) = m.topic(&m.moderator, "Thread 2", "go").unwrap();
    m.reply(&m.regular, t2.id, "elsewhere").unwrap();
    // 20 topics a day at level 2.
    for i in 0..20 {
        m.t.clock.advance(time::Duration::minutes(1));
        m.topic(&m.regular, &format!("Topic {i}"), &format!("body {i}"))
            .unwrap();
    }
    m.t.clock.advance(time::Duration::minutes(1));
    assert!(matches!(
        m.topic(&m.regular, "One too many", "body"),
        Err(Error::RateLimited { .. })
    ));
}

#[test]
fn replies_per_topic_free_up_as_the_hour_passes() {
    let m = Mod::new();
    let (t, _) = m.topic(&m.moderator, "Thread", "go").unwrap();
    let (other, _) = m.topic(&m.moderator, "Elsewhere", "go").unwrap();
    // Older posts, in the topic and elsewhere, count for nothing.
    for i in 0..15 {
        m.t.clock.advance(time::Duration::seconds(30));
        m.reply(&m.regular, t.id, &format!("old {i}")).unwrap();
    }
    m.t.clock.advance(time::Duration::hours(2));
    for i in 0..20 {
        m.t.clock.advance(time::Duration::seconds(30));
        m.reply(&m.regular, t.id, &format!("r{i}")).unwrap();
        m.reply(&m.regular, other.id, &format!("o{i}")).unwrap();
    }
    let Err(Error::RateLimited { retry_after }) = m.reply(&m.regular, t.id, "r20") else {
        panic!("the 21st reply within the hour is refused");
    };
    // The first of the twenty was 9.5 minutes ago.
    assert_eq!(retry_after, Duration::from_secs(3600 - 570));
    m.t.clock.advance(time::Duration::seconds(3600 - 570 - 1));
    assert!(matches!(
        m.reply(&m.regular, t.id, "r20"),
        Err(Error::RateLimited { .. })
    ));
    m.t.clock.advance(time::Duration::seconds(1));
    m.reply(&m.regular, t.id, "r20").unwrap();
}

#[test]
fn new_members_first_day_topic_limit() {
    let m = Mod::new();
    for i in 0..3 {
        m.t.clock.advance(time::Duration::minutes(5));
        m.topic(&m.newbie, &format!("Question {i}"), &format!("body {i}"))
            .unwrap();
    }
    m.t.clock.advance(time::Duration::minutes(5));
    let err = m.topic(&m.newbie, "Question 3", "body").unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after } if retry_after > Duration::from_secs(20 * 3600)),
        "{err:?}"
    );
    m.t.clock.advance(time::Duration::days(1));
    m.topic(&m.newbie, "Question 3", "body").unwrap();
}

#[test]
fn duplicate_posts_are_refused_within_the_window() {
    let m = Mod::new();
    let (t, _) = m.topic(&m.moderator, "Thread", "go").unwrap();
    m.reply(&m.regular, t.id, "Same  thing\nagain").unwrap();
    m.t.clock.advance(time::Duration::minutes(2));
    let err = m.reply(&m.regular, t.id, "same thing again").unwrap_err();
    assert!(
        matches!(&err, Error::Blocked { rule, .. } if rule == "duplicate"),
        "{err:?}"
    );
    // Someone else may say the same.
    m.reply(&m.basic, t.id, "same thing again").unwrap();
    m.t.clock.advance(time::Duration::minutes(10));
    m.reply(&m.regular, t.id, "same thing again").unwrap();
}

#[test]
fn first_posts_of_new_members_need_approval() {
    let mut s = CommunitySettings::default();
    s.moderation.approve_first_posts = 2;
    let m = Mod::with(s);
    let (t, _) = m.topic(&m.moderator, "Welcome", "say hi").unwrap();
    let mut reviews = Vec::new();
    for body in ["hi", "hello again"] {
        m.t.clock.advance(time::Duration::minutes(1));
        match m.reply(&m.newbie, t.id, body) {
            Err(Error::PendingReview { review, .. }) => reviews.push(review),
            other => panic!("{other:?}"),
        }
    }
    // Still waiting: the third is held too, until two are approved.
    m.t.clock.advance(time::Duration::minutes(1));
    assert!(matches!(
        m.reply(&m.newbie, t.id, "third"),
        Err(Error::PendingReview { .. })
    ));
    for r in reviews {
        m.f()
            .decide_review(&m.moderator, m.c, r, Decision::Approve)
            .unwrap();
    }
    m.t.clock.advance(time::Duration::minutes(1));
    m.reply(&m.newbie, t.id, "now I am trusted").unwrap();
}

#[test]
fn flags_hide_at_the_threshold_and_moderators_decide() {
    let m = Mod::new();
    let (t, p) = m.topic(&m.regular, "Cheap pills", "buy now").unwrap();
    let f = m.f();
    // Level 0 may not flag; nobody flags their own post.
    assert!(matches!(
        f.flag_post(&m.newbie, m.c, p.id, FlagKind::Spam, ""),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.flag_post(&m.regular, m.c, p.id, FlagKind::Spam, ""),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.flag_post(&m.basic, m.c, p.id, FlagKind::NeedsModerator, " "),
        Err(Error::Invalid { .. })
    ));
    let item = f
        .flag_post(&m.flaggers[0], m.c, p.id, FlagKind::Spam, "")
        .unwrap();
    assert!(matches!(
        f.flag_post(&m.flaggers[0], m.c, p.id, FlagKind::Spam, ""),
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        f.flag_post(&m.flaggers[1], m.c, p.id, FlagKind::Inappropriate, "")
            .unwrap(),
        item
    );
    assert!(
        m.latest_ids(&Actor::Guest).contains(&t.id),
        "two flags do not hide"
    );
    f.flag_post(&m.flaggers[2], m.c, p.id, FlagKind::Spam, "")
        .unwrap();
    // Hidden: gone for others, shown to the author and moderators.
    assert!(!m.latest_ids(&Actor::Guest).contains(&t.id));
    assert!(matches!(
        f.topic_only(&m.basic, m.c, t.id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.post(&m.basic, m.c, p.id),
        Err(Error::NotFound { .. })
    ));
    assert!(f.post(&m.regular, m.c, p.id).unwrap().hidden);
    assert!(f.post(&m.moderator, m.c, p.id).unwrap().hidden);
    assert_eq!(
        f.search(&m.basic, m.c, &SearchQuery::new("pills"))
            .unwrap()
            .total,
        0
    );
    let events = f.events_after(&m.basic, m.c, EventId(0), 1000).unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.post != Some(p.id) && e.topic != Some(t.id))
    );
    assert_eq!(
        m.audit(AuditAction::PostHidden)[0].actor,
        None,
        "hidden by the community"
    );
    // The moderator disagrees: shown again, flaggers' accuracy recorded.
    let q = m.pending();
    assert_eq!(q[0].flags.len(), 3);
    assert!(q[0].hidden);
    f.decide_review(&m.moderator, m.c, item, Decision::Approve)
        .unwrap();
    assert!(m.latest_ids(&Actor::Guest).contains(&t.id));
    assert_eq!(
        f.search(&m.basic, m.c, &SearchQuery::new("pills"))
            .unwrap()
            .total,
        1
    );
    let trust = f.trust(&m.moderator, m.c, id(&m.flaggers[0])).unwrap();
    assert_eq!(trust.activity.flags_given, 1);
    assert_eq!(trust.activity.flag_accuracy(), Some(0.0));
    // A new round, and this time the moderator agrees.
    let item2 = f
        .flag_post(&m.moderator, m.c, p.id, FlagKind::Spam, "")
        .unwrap();
    assert_ne!(item, item2);
    assert!(
        !m.latest_ids(&Actor::Guest).contains(&t.id),
        "a moderator's flag hides at once"
    );
    f.decide_review(
        &m.moderator,
        m.c,
        item2,
        Decision::Reject {
            reason: "spam".into(),
        },
    )
    .unwrap();
    assert!(!m.latest_ids(&Actor::Guest).contains(&t.id));
    let author = f.trust(&m.moderator, m.c, id(&m.regular)).unwrap();
    assert_eq!(
        author.activity.flags_agreed, 1,
        "a rejected flagged post counts against its author"
    );
    // Members' trust details are private.
    assert!(matches!(
        f.trust(&m.basic, m.c, id(&m.regular)),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn agreed_flags_count_against_the_author_and_delete_reverses_points() {
    let m = Mod::new();
    let qa = m
        .f()
        .create_category(
            &m.admin,
            m.c,
            NewCategory::new("qa", "Q&A", CategoryKind::QuestionAndAnswer),
        )
        .unwrap();
    let (_, p) = m
        .topic_in(&m.regular, qa.id, "Spammy question", "visit my site")
        .unwrap();
    let points = m
        .f()
        .points(&m.admin, m.c, id(&m.regular), hearth::Period::AllTime)
        .unwrap();
    assert_eq!(points, 1);
    let mut item = None;
    for f in &m.flaggers {
        item = Some(m.f().flag_post(f, m.c, p.id, FlagKind::Spam, "").unwrap());
    }
    m.f()
        .decide_review(
            &m.moderator,
            m.c,
            item.unwrap(),
            Decision::DeleteAndSilence {
                reason: "spam".into(),
                until: m.t.clock.now_plus_days(30),
            },
        )
        .unwrap();
    assert_eq!(
        m.f()
            .points(&m.admin, m.c, id(&m.regular), hearth::Period::AllTime)
            .unwrap(),
        0
    );
    let t = m.f().trust(&m.moderator, m.c, id(&m.regular)).unwrap();
    assert_eq!(t.activity.flags_agreed, 1);
    let fl = m.f().trust(&m.moderator, m.c, id(&m.flaggers[0])).unwrap();
    assert_eq!(fl.activity.flag_accuracy(), Some(1.0));
    assert!(m.f().post(&m.moderator, m.c, p.id).unwrap().deleted);
}

#[test]
fn hooks_can_hold_posts_for_review() {
    struct Hold;
    impl hearth::Hooks for Hold {
        fn name(&self) -> &str {
            "hold"
        }
        fn filter_post(
            &self,
            d: &hearth::PostDraft,
        ) -> Result<hearth::PostFilter, hearth::HookError> {
            Ok(if d.body.contains("http") {
                hearth::PostFilter::Queue {
                    reason: "links are checked by a person".into(),
                }
            } else {
                hearth::PostFilter::Allow
            })
        }
    }
    let m = Mod::new();
    m.f().register_hooks(std::sync::Arc::new(Hold));
    let err = m
        .topic(&m.regular, "Link", "see http://x.example")
        .unwrap_err();
    assert!(
        matches!(err, Error::PendingReview { reason, .. } if reason == "links are checked by a person")
    );
    m.topic(&m.moderator, "Link", "see http://x.example")
        .unwrap();
}

#[test]
fn watched_words_are_validated_and_admin_only() {
    let m = Mod::new();
    let f = m.f();
    assert!(matches!(
        f.add_watched_word(
            &m.moderator,
            m.c,
            NewWatchedWord::word("x", WordAction::Block)
        ),
        Err(Error::Forbidden { .. })
    ));
    for bad in [
        NewWatchedWord::regex("(unclosed", WordAction::Block),
        NewWatchedWord::regex("a*", WordAction::Block),
        NewWatchedWord::word("  ", WordAction::Block),
        NewWatchedWord::word("***", WordAction::Block),
        NewWatchedWord::word(&"x".repeat(501), WordAction::Block),
        NewWatchedWord::regex(r"(\w+)\1", WordAction::Block),
    ] {
        let before = m.t.dump();
        assert!(matches!(
            f.add_watched_word(&m.admin, m.c, bad),
            Err(Error::Invalid { .. })
        ));
        assert_eq!(before, m.t.dump());
    }
    let w = f
        .add_watched_word(
            &m.admin,
            m.c,
            NewWatchedWord::word("nope", WordAction::Block),
        )
        .unwrap();
    assert_eq!(f.watched_words(&m.moderator, m.c).unwrap().len(), 1);
    assert!(m.topic(&m.regular, "nope", "nope").is_err());
    f.remove_watched_word(&m.admin, m.c, w.id).unwrap();
    m.topic(&m.regular, "nope", "nope").unwrap();
    let log = m
        .f()
        .audit_log(
            &m.admin,
            m.c,
            &AuditFilter {
                target: Some(Target::WatchedWord(w.id)),
                ..AuditFilter::default()
            },
            &PageRequest::first(10),
        )
        .unwrap();
    assert_eq!(
        log.items.iter().map(|e| e.action).collect::<Vec<_>>(),
        vec![
            AuditAction::WatchedWordRemoved,
            AuditAction::WatchedWordAdded
        ]
    );
}

/// Queued, hidden and deleted content never reaches those who may not see
/// it: lists, search, similar_topics, events, for every kind of actor.
#[test]
fn queued_hidden_and_deleted_content_stays_out_of_every_read_path() {
    let m = Mod::new();
    let f = m.f();
    let qa = f
        .create_category(
            &m.admin,
            m.c,
            NewCategory::new("qa", "Q&A", CategoryKind::QuestionAndAnswer),
        )
        .unwrap();
    // Three solved questions, each with its own word.
    let mut made = Vec::new();
    for word in ["zebraqueued", "zebrahidden", "zebradeleted"] {
        let (t, _) = m
            .topic_in(
                &m.regular,
                qa.id,
                &format!("How to set up {word}"),
                &format!("{word} question"),
            )
            .unwrap();
        let a = m
            .reply(&m.moderator, t.id, &format!("{word} answer"))
            .unwrap();
        f.accept_answer(&m.regular, m.c, a.id).unwrap();
        made.push((word, t, a));
    }
    // Queued: an edit of the first that would rename it, and a new topic.
    m.word("zebraqueued", WordAction::RequireApproval);
    assert!(matches!(
        m.topic_in(&m.basic, qa.id, "zebraqueued again", "zebraqueued new"),
        Err(Error::PendingReview { .. })
    ));
    // Hidden: the second question, flagged by three members.
    let (_, hidden_topic, _) = &made[1];
    let first = f
        .topic(&m.moderator, m.c, hidden_topic.id, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    for fl in &m.flaggers {
        f.flag_post(fl, m.c, first, FlagKind::Inappropriate, "")
            .unwrap();
    }
    // Deleted: the third.
    let (_, deleted_topic, _) = &made[2];
    let first3 = f
        .topic(&m.moderator, m.c, deleted_topic.id, &PageRequest::first(1))
        .unwrap()
        .posts
        .items[0]
        .id;
    f.delete_post(&m.moderator, m.c, first3).unwrap();

    let outsider = Actor::User(m.t.user("oscar_out"));
    let readers = [
        ("guest", Actor::Guest),
        ("outsider", outsider),
        ("newbie", m.newbie),
        ("flagger", m.flaggers[0]),
        ("regular (author)", m.regular),
    ];
    for (who, actor) in &readers {
        let latest = m.latest_ids(actor);
        for (word, t, a) in &made[1..] {
            assert!(!latest.contains(&t.id), "{who} sees {word} in latest");
            let s = f.search(actor, m.c, &SearchQuery::new(word)).unwrap();
            assert_eq!(s.total, 0, "{who} finds {word}");
            assert!(s.hits.iter().all(|h| h.topic != t.id && h.post != a.id));
            let similar = f
                .similar_topics(actor, m.c, &format!("set up {word}"), 10)
                .unwrap();
            assert!(
                similar.iter().all(|x| x.topic != t.id),
                "{who} is offered {word}"
            );
        }
        // The queued topic exists nowhere but the queue.
        assert_eq!(
            f.search(actor, m.c, &SearchQuery::new("again"))
                .unwrap()
                .total,
            0
        );
        let events = f
            .events_after(actor, m.c, EventId(0), 1000)
            .unwrap_or_default();
        for (word, t, a) in &made[1..] {
            assert!(
                events
                    .iter()
                    .all(|e| e.topic != Some(t.id) && e.post != Some(a.id)),
                "{who} gets events of {word}"
            );
        }
        assert!(
            events.iter().all(|e| e.audience != hearth::Audience::Staff),
            "{who}"
        );
    }
    // The first (queued edit aside) stays visible to all.
    assert!(m.latest_ids(&Actor::Guest).contains(&made[0].1.id));
    // Moderators still see the hidden and deleted topics by id.
    for (_, t, _) in &made[1..] {
        f.topic_only(&m.moderator, m.c, t.id).unwrap();
    }
    // The author of the hidden topic sees it; the deleted one is gone for them.
    f.topic_only(&m.regular, m.c, hidden_topic.id).unwrap();
    assert!(matches!(
        f.topic_only(&m.regular, m.c, deleted_topic.id),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn an_extension_hides_or_flags_a_post_for_the_moderators() {
    let m = Mod::new();
    let f = m.f();
    let (t, hidden) = m
        .topic(&m.regular, "Rude words here", "you are all fools")
        .unwrap();
    let (_, flagged) = m
        .topic(&m.regular, "Borderline words", "maybe rude")
        .unwrap();
    for who in [&m.moderator, &m.regular] {
        assert!(matches!(
            f.hide_post(who, m.c, hidden.id, "tone-bot", "rude"),
            Err(Error::Forbidden { .. } | Error::NotFound { .. })
        ));
        assert!(matches!(
            f.ext_flag_post(who, m.c, flagged.id, "tone-bot", "rude"),
            Err(Error::Forbidden { .. } | Error::NotFound { .. })
        ));
    }
    assert!(matches!(
        f.ext_flag_post(
            &Actor::System,
            m.c,
            flagged.id,
            "tone-bot",
            &"x".repeat(501)
        ),
        Err(Error::Invalid { .. })
    ));
    let hid = f
        .hide_post(&Actor::System, m.c, hidden.id, "tone-bot", "insults")
        .unwrap();
    let flag = f
        .ext_flag_post(&Actor::System, m.c, flagged.id, "tone-bot", "might be rude")
        .unwrap();
    // Hidden: gone for others. Flagged: still shown.
    assert!(!m.latest_ids(&Actor::Guest).contains(&t.id));
    assert!(!f.post(&m.regular, m.c, flagged.id).unwrap().hidden);
    f.post(&m.basic, m.c, flagged.id).unwrap();
    let reasons: Vec<(hearth::ReviewId, String)> =
        m.pending().into_iter().map(|i| (i.id, i.reason)).collect();
    assert!(
        reasons.contains(&(hid, "hidden by tone-bot: insults".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(flag, "flagged by tone-bot: might be rude".into())),
        "{reasons:?}"
    );
    // Flagged again while waiting: the same item, nothing new.
    assert_eq!(
        f.ext_flag_post(&Actor::System, m.c, flagged.id, "tone-bot", "again")
            .unwrap(),
        flag
    );
    assert_eq!(m.pending().len(), 2);
    // The staff hear of both, naming the extension.
    let events = f
        .events_after(&m.moderator, m.c, hearth::EventId(0), 1000)
        .unwrap();
    let sources: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.kind == hearth::EventKind::PostFlagged)
        .map(|e| &e.data["source"])
        .collect();
    assert_eq!(
        sources.iter().filter(|s| **s == "tone-bot").count(),
        2,
        "{sources:?}"
    );
}

#[test]
fn an_extension_holds_a_post_until_a_moderator_decides() {
    let m = Mod::new();
    let (t, p) = m.topic(&m.regular, "Great deals", "visit my shop").unwrap();
    let f = m.f();
    // Only the system actor holds posts (the plugin host, for a plugin
    // granted `hold-posts`); bounds are checked.
    for who in [&m.moderator, &m.regular, &Actor::Guest] {
        assert!(matches!(
            f.hold_post(who, m.c, p.id, "spam-check", "spam"),
            Err(Error::Forbidden { .. } | Error::NotFound { .. })
        ));
    }
    assert!(matches!(
        f.hold_post(&Actor::System, m.c, p.id, "spam-check", ""),
        Err(Error::Invalid { .. })
    ));
    let item = f
        .hold_post(
            &Actor::System,
            m.c,
            p.id,
            "spam-check",
            "the service says spam",
        )
        .unwrap();
    // Hidden until decided: gone for others, there for its author and the
    // moderators, with the reason naming who held it.
    assert!(!m.latest_ids(&Actor::Guest).contains(&t.id));
    assert!(matches!(
        f.post(&m.basic, m.c, p.id),
        Err(Error::NotFound { .. })
    ));
    assert!(f.post(&m.regular, m.c, p.id).unwrap().hidden);
    let q = m.pending();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].id, item);
    assert_eq!(q[0].reason, "held by spam-check: the service says spam");
    // Held again: the same item.
    assert_eq!(
        f.hold_post(&Actor::System, m.c, p.id, "spam-check", "still spam")
            .unwrap(),
        item
    );
    // The moderator disagrees: shown again.
    f.decide_review(&m.moderator, m.c, item, Decision::Approve)
        .unwrap();
    assert!(m.latest_ids(&Actor::Guest).contains(&t.id));
    // A deleted post is not there to hold.
    f.delete_post(&m.moderator, m.c, p.id).unwrap();
    assert!(matches!(
        f.hold_post(&Actor::System, m.c, p.id, "spam-check", "spam"),
        Err(Error::NotFound { .. })
    ));
}
