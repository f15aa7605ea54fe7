//! The knowledge base: drafts and revisions, publishing, promotion of
//! solved threads, helpful votes, ranking by behaviour, and visibility.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, ArticleStatus, CategoryKind, Error, NewArticle, NewCategory, PageRequest, Role,
    Visibility,
};
use time::Duration;

struct Kb {
    w: World,
    kb: hearth::CategoryId,
    expert: Actor,
}

fn kb() -> Kb {
    let w = World::new();
    let kb = w
        .forum()
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("kb", "Knowledge base", CategoryKind::KnowledgeBase),
        )
        .unwrap()
        .id;
    let e = w.t.user("expert_eve");
    w.forum()
        .add_member(&w.owner, w.c, e, Role::Expert)
        .unwrap();
    Kb {
        w,
        kb,
        expert: Actor::User(e),
    }
}

fn article(k: &Kb, title: &str) -> i64 {
    k.w.forum()
        .create_article(
            &k.expert,
            k.w.c,
            NewArticle {
                category: k.kb,
                title: title.into(),
                body: format!("How to do it: {title}, step by step."),
            },
        )
        .unwrap()
        .id
}

#[test]
fn drafts_are_private_until_published_and_revisions_are_kept() {
    let k = kb();
    let (w, f) = (&k.w, k.w.forum());
    // Members cannot write articles.
    assert!(matches!(
        f.create_article(
            &w.member,
            w.c,
            NewArticle {
                category: k.kb,
                title: "Member article".into(),
                body: "Some body text.".into()
            }
        ),
        Err(Error::Forbidden { .. })
    ));
    let id = article(&k, "Rotating API keys");
    for who in [&Actor::Guest, &w.member] {
        assert!(matches!(
            f.article(who, w.c, id),
            Err(Error::NotFound { .. })
        ));
        assert!(
            f.articles(who, w.c, Some(k.kb), true, &PageRequest::first(10))
                .unwrap()
                .items
                .is_empty()
        );
    }
    assert_eq!(
        f.article(&w.moderator, w.c, id).unwrap().status,
        ArticleStatus::Draft
    );
    let a = f.publish_article(&k.expert, w.c, id, None).unwrap();
    let topic = a.topic.unwrap();
    assert_eq!(a.published_revision, Some(1));
    assert_eq!(
        f.article(&Actor::Guest, w.c, id).unwrap().title,
        "Rotating API keys"
    );
    // A new revision waits as a draft: readers still see revision 1.
    f.revise_article(
        &k.expert,
        w.c,
        id,
        "Rotating API keys safely",
        "Create the new key first, then revoke.",
        "clearer order",
    )
    .unwrap();
    let view = f
        .topic(&Actor::Guest, w.c, topic, &PageRequest::first(5))
        .unwrap();
    assert_eq!(view.topic.title, "Rotating API keys");
    assert!(view.posts.items[0].source.contains("step by step"));
    let revs = f.article_revisions(&k.expert, w.c, id).unwrap();
    assert_eq!(
        revs.iter()
            .map(|r| (r.number, r.published))
            .collect::<Vec<_>>(),
        vec![(2, false), (1, true)]
    );
    assert!(matches!(
        f.article_revisions(&w.member, w.c, id),
        Err(Error::Forbidden { .. })
    ));
    // Publishing revision 2 edits the same topic.
    let a = f.publish_article(&k.expert, w.c, id, None).unwrap();
    assert_eq!((a.topic, a.published_revision), (Some(topic), Some(2)));
    let view = f
        .topic(&Actor::Guest, w.c, topic, &PageRequest::first(5))
        .unwrap();
    assert_eq!(view.topic.title, "Rotating API keys safely");
    assert_eq!(
        view.posts.items[0].source,
        "Create the new key first, then revoke."
    );
    // Rolling back is publishing an older revision; nothing is lost.
    f.publish_article(&k.expert, w.c, id, Some(1)).unwrap();
    assert_eq!(
        f.topic_only(&Actor::Guest, w.c, topic).unwrap().title,
        "Rotating API keys"
    );
    assert_eq!(f.article_revisions(&k.expert, w.c, id).unwrap().len(), 2);
    assert!(matches!(
        f.publish_article(&k.expert, w.c, id, Some(9)),
        Err(Error::NotFound { .. })
    ));
    // Not a knowledge-base category.
    assert!(matches!(
        f.create_article(
            &k.expert,
            w.c,
            NewArticle {
                category: w.public.id,
                title: "Wrong place".into(),
                body: "Some body text.".into()
            }
        ),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn solved_threads_become_draft_articles_linking_back() {
    let k = kb();
    let (w, f) = (&k.w, k.w.forum());
    let (solved, _) = w.topics[0];
    let a = f.promote_to_article(&k.expert, w.c, solved, k.kb).unwrap();
    assert_eq!(a.status, ArticleStatus::Draft);
    assert_eq!(a.source_topic, Some(solved));
    let rev = &f.article_revisions(&k.expert, w.c, a.id).unwrap()[0];
    assert!(rev.body.contains("## Answer"));
    assert!(rev.body.contains("Configure"), "{}", rev.body);
    assert!(
        rev.body.contains(&format!("/{}", solved.0)),
        "links back: {}",
        rev.body
    );
    assert_eq!(rev.note, "Promoted from a solved thread");
    // The thread knows its article (staff see the draft; readers once published).
    assert!(
        f.article_for_topic(&Actor::Guest, w.c, solved)
            .unwrap()
            .is_none()
    );
    f.publish_article(&k.expert, w.c, a.id, None).unwrap();
    assert_eq!(
        f.article_for_topic(&Actor::Guest, w.c, solved)
            .unwrap()
            .map(|x| x.id),
        Some(a.id)
    );
    // Unsolved topics cannot be promoted; private ones are not found.
    let (unsolved, _) = f
        .create_topic(
            &w.member,
            w.c,
            hearth::NewTopic {
                category: w.public.id,
                title: "An open question".into(),
                body: "Nobody knows yet.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    assert!(matches!(
        f.promote_to_article(&k.expert, w.c, unsolved.id, k.kb),
        Err(Error::Invalid { .. })
    ));
    let (vendors, _) = w.topics[2];
    assert!(matches!(
        f.promote_to_article(&k.expert, w.c, vendors, k.kb),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn helpful_votes_and_behaviour_order_the_library() {
    let k = kb();
    let (w, f) = (&k.w, k.w.forum());
    let ids: Vec<i64> = [
        "Alpha guide for setup",
        "Bravo guide for setup",
        "Charlie guide for setup",
    ]
    .iter()
    .map(|t| {
        let id = article(&k, t);
        f.publish_article(&k.expert, w.c, id, None).unwrap();
        id
    })
    .collect();
    let order = |who: &Actor| {
        f.articles(who, w.c, Some(k.kb), false, &PageRequest::first(10))
            .unwrap()
            .items
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>()
    };
    // Equal: newest first.
    assert_eq!(order(&Actor::Guest), vec![ids[2], ids[1], ids[0]]);
    // Members find Alpha helpful and reach it from search; Charlie does not help.
    for who in [&w.member, &w.group_member, &w.moderator, &w.admin] {
        f.rate_article(who, w.c, ids[0], true).unwrap();
        f.rate_article(who, w.c, ids[2], false).unwrap();
    }
    let alpha_topic = f.article(&w.member, w.c, ids[0]).unwrap().topic.unwrap();
    for _ in 0..5 {
        f.record_search_click(&Actor::Guest, w.c, alpha_topic)
            .unwrap();
    }
    let top = order(&Actor::Guest);
    assert_eq!(top[0], ids[0]);
    assert_eq!(*top.last().unwrap(), ids[2]);
    // One vote each, changeable.
    let a = f.rate_article(&w.member, w.c, ids[0], false).unwrap();
    assert_eq!((a.helpful, a.not_helpful, a.my_vote), (3, 1, Some(false)));
    let a = f.rate_article(&w.member, w.c, ids[0], false).unwrap();
    assert_eq!((a.helpful, a.not_helpful), (3, 1));
    assert_eq!(a.search_clicks, 5);
    assert!(matches!(
        f.rate_article(&Actor::Guest, w.c, ids[0], true),
        Err(Error::Forbidden { .. })
    ));
    // Time decays rank: a year on, a fresh article with some views leads.
    w.t.clock.advance(Duration::days(365));
    let fresh = article(&k, "Delta guide for setup");
    let fresh_topic = f
        .publish_article(&k.expert, w.c, fresh, None)
        .unwrap()
        .topic
        .unwrap();
    for who in [&w.member, &w.group_member, &w.moderator] {
        f.record_view(who, w.c, fresh_topic).unwrap();
    }
    f.rate_article(&w.member, w.c, fresh, true).unwrap();
    assert_eq!(order(&Actor::Guest)[0], fresh);
    // Drafts appear only for writers who ask.
    let draft = article(&k, "Echo draft guide");
    assert!(!order(&w.member).contains(&draft));
    let with_drafts: Vec<i64> = f
        .articles(&k.expert, w.c, Some(k.kb), true, &PageRequest::first(10))
        .unwrap()
        .items
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(with_drafts.last(), Some(&draft));
}

#[test]
fn a_members_only_knowledge_base_stays_inside() {
    let k = kb();
    let (w, f) = (&k.w, k.w.forum());
    let inner = f
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new("internal-kb", "Internal KB", CategoryKind::KnowledgeBase)
                .visibility(Visibility::Members),
        )
        .unwrap()
        .id;
    let id = f
        .create_article(
            &k.expert,
            w.c,
            NewArticle {
                category: inner,
                title: "Internal escalation guide".into(),
                body: "Call the on-call engineer.".into(),
            },
        )
        .unwrap()
        .id;
    let topic = f
        .publish_article(&k.expert, w.c, id, None)
        .unwrap()
        .topic
        .unwrap();
    for who in [&Actor::Guest, &w.outsider] {
        assert!(matches!(
            f.article(who, w.c, id),
            Err(Error::NotFound { .. })
        ));
        assert!(
            f.articles(who, w.c, None, false, &PageRequest::first(10))
                .unwrap()
                .items
                .iter()
                .all(|a| a.id != id)
        );
        assert!(f.record_search_click(who, w.c, topic).is_err());
    }
    assert_eq!(
        f.article(&w.member, w.c, id).unwrap().status,
        ArticleStatus::Published
    );
}
