//! Ideas: votes, statuses with notes, ordering by votes, and who may do what.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{
    Actor, AuditAction, AuditFilter, CategoryKind, Error, IdeaFilter, IdeaStatus, NewCategory,
    NewTopic, NotificationKind, PageRequest, TopicId, Visibility,
};

fn idea(w: &World, cat: hearth::CategoryId, title: &str) -> TopicId {
    w.forum()
        .create_topic(
            &w.member,
            w.c,
            NewTopic {
                category: cat,
                title: title.into(),
                body: "It would help a lot of us.".into(),
                tags: vec![],
            },
        )
        .unwrap()
        .0
        .id
}

fn ideas_category(w: &World, slug: &str, visibility: Visibility) -> hearth::CategoryId {
    w.forum()
        .create_category(
            &w.admin,
            w.c,
            NewCategory::new(slug, slug, CategoryKind::Ideas).visibility(visibility),
        )
        .unwrap()
        .id
}

#[test]
fn one_vote_each_withdrawable() {
    let w = World::new();
    let f = w.forum();
    let cat = ideas_category(&w, "ideas", Visibility::Public);
    let t = idea(&w, cat, "Export reports as CSV files");
    assert_eq!(f.vote(&w.moderator, w.c, t).unwrap().votes, 1);
    assert!(matches!(
        f.vote(&w.moderator, w.c, t),
        Err(Error::Conflict { .. })
    ));
    let i = f.vote(&w.group_member, w.c, t).unwrap();
    assert_eq!((i.votes, i.voted), (2, true));
    assert!(!f.idea(&w.admin, w.c, t).unwrap().voted);
    let i = f.unvote(&w.moderator, w.c, t).unwrap();
    assert_eq!((i.votes, i.voted), (1, false));
    assert!(matches!(
        f.unvote(&w.moderator, w.c, t),
        Err(Error::Conflict { .. })
    ));
    // Guests and outsiders cannot vote; a topic elsewhere takes no votes.
    assert!(matches!(
        f.vote(&Actor::Guest, w.c, t),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.vote(&w.outsider, w.c, t),
        Err(Error::Forbidden { .. })
    ));
    let (qa_topic, _) = w.topics[0];
    assert!(matches!(
        f.vote(&w.member, w.c, qa_topic),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(f.idea(&Actor::Guest, w.c, t).unwrap().votes, 1);
}

#[test]
fn private_ideas_stay_private() {
    let w = World::new();
    let f = w.forum();
    let cat = ideas_category(&w, "member-ideas", Visibility::Members);
    let t = idea(&w, cat, "A members-only roadmap call");
    f.vote(&w.member, w.c, t).unwrap();
    for who in [&Actor::Guest, &w.outsider] {
        assert!(matches!(f.idea(who, w.c, t), Err(Error::NotFound { .. })));
        assert!(matches!(
            f.vote(who, w.c, t),
            Err(Error::NotFound { .. }) | Err(Error::Forbidden { .. })
        ));
        assert!(
            f.ideas(who, w.c, &IdeaFilter::default(), &PageRequest::first(10))
                .unwrap()
                .items
                .is_empty()
        );
    }
    assert_eq!(
        f.ideas(
            &w.member,
            w.c,
            &IdeaFilter::default(),
            &PageRequest::first(10)
        )
        .unwrap()
        .items
        .len(),
        1
    );
}

#[test]
fn staff_set_statuses_voters_hear_and_votes_end() {
    let w = World::new();
    let f = w.forum();
    let cat = ideas_category(&w, "ideas", Visibility::Public);
    let t = idea(&w, cat, "Single sign-on with our identity provider");
    f.vote(&w.group_member, w.c, t).unwrap();
    assert!(matches!(
        f.set_idea_status(&w.group_member, w.c, t, IdeaStatus::Planned, "me me"),
        Err(Error::Forbidden { .. })
    ));
    let i = f
        .set_idea_status(
            &w.moderator,
            w.c,
            t,
            IdeaStatus::Planned,
            "  In the spring release.  ",
        )
        .unwrap();
    assert_eq!(i.status, IdeaStatus::Planned);
    assert_eq!(i.note, "In the spring release.");
    assert!(i.status_at.is_some());
    // The voter and the author hear about it; the moderator does not.
    for who in [&w.group_member, &w.member] {
        let n = f
            .notifications(who, w.c, &PageRequest::first(5), false)
            .unwrap();
        assert_eq!(n.items[0].kind, NotificationKind::IdeaStatus, "{who:?}");
        assert_eq!(n.items[0].data["to"], "planned");
    }
    let log = f
        .audit_log(
            &w.admin,
            w.c,
            &AuditFilter {
                action: Some(AuditAction::IdeaStatusChanged),
                ..Default::default()
            },
            &PageRequest::first(5),
        )
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].after["status"], "planned");
    // Shipped: no new votes, but a vote can still be withdrawn.
    f.set_idea_status(&w.moderator, w.c, t, IdeaStatus::Shipped, "Released today!")
        .unwrap();
    assert!(matches!(
        f.vote(&w.admin, w.c, t),
        Err(Error::Conflict { .. })
    ));
    assert_eq!(f.unvote(&w.group_member, w.c, t).unwrap().votes, 0);
    // Too long a note is refused and changes nothing.
    let long = "x".repeat(hearth::MAX_IDEA_NOTE + 1);
    assert!(matches!(
        f.set_idea_status(&w.moderator, w.c, t, IdeaStatus::Declined, &long),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(
        f.idea(&w.member, w.c, t).unwrap().status,
        IdeaStatus::Shipped
    );
}

#[test]
fn lists_sort_by_votes_filter_by_status_and_page() {
    let w = World::new();
    let f = w.forum();
    let cat = ideas_category(&w, "ideas", Visibility::Public);
    let voters = [&w.admin, &w.moderator, &w.group_member, &w.owner];
    let mut made = Vec::new();
    for (i, title) in [
        "Alpha idea for everyone",
        "Bravo idea for everyone",
        "Charlie idea for everyone",
        "Delta idea for everyone",
        "Echo idea for everyone",
    ]
    .iter()
    .enumerate()
    {
        let t = idea(&w, cat, title);
        for v in voters.iter().take(i % 3) {
            f.vote(v, w.c, t).unwrap();
        }
        made.push(t);
    }
    // votes: 0,1,2,0,1 → order by votes desc, then newest first.
    let mut seen = Vec::new();
    let mut page = f
        .ideas(
            &w.member,
            w.c,
            &IdeaFilter::default(),
            &PageRequest::first(2),
        )
        .unwrap();
    loop {
        seen.extend(page.items.iter().map(|i| (i.votes, i.topic.id)));
        let Some(next) = page.next else { break };
        page = f
            .ideas(
                &w.member,
                w.c,
                &IdeaFilter::default(),
                &PageRequest::after(next, 2),
            )
            .unwrap();
    }
    assert_eq!(
        seen,
        vec![
            (2, made[2]),
            (1, made[4]),
            (1, made[1]),
            (0, made[3]),
            (0, made[0])
        ]
    );
    f.set_idea_status(&w.moderator, w.c, made[1], IdeaStatus::UnderReview, "")
        .unwrap();
    let filter = IdeaFilter {
        category: Some(cat),
        status: Some(IdeaStatus::UnderReview),
    };
    let only = f
        .ideas(&w.member, w.c, &filter, &PageRequest::first(10))
        .unwrap();
    assert_eq!(
        only.items.iter().map(|i| i.topic.id).collect::<Vec<_>>(),
        vec![made[1]]
    );
    let open = IdeaFilter {
        category: None,
        status: Some(IdeaStatus::Open),
    };
    assert_eq!(
        f.ideas(&w.member, w.c, &open, &PageRequest::first(10))
            .unwrap()
            .items
            .len(),
        4
    );
    // A category that is not for ideas is refused.
    let wrong = IdeaFilter {
        category: Some(w.public.id),
        status: None,
    };
    assert!(matches!(
        f.ideas(&w.member, w.c, &wrong, &PageRequest::first(10)),
        Err(Error::Invalid { .. })
    ));
}
