//! Ticket deflection figures against hand-computed values.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{Actor, DeflectionReport, Error, NewTopic};
use time::Duration;

#[test]
fn visits_end_deflected_posted_escalated_abandoned_or_pending() {
    let w = World::new();
    let f = w.forum();
    let start = f.now();
    // The escape hatch.
    let c = f.community(&w.admin, w.c).unwrap();
    let mut settings = c.settings.clone();
    settings.support_url = Some("https://support.example.com/new".into());
    f.update_community(&w.admin, w.c, &c.name, settings)
        .unwrap();
    let (t1, _) = w.topics[0]; // public
    let (t2, _) = w.topics[1]; // members
    let (t3, _) = w.topics[2]; // vendors only: mia cannot read it
    let (mia, vic) = (&w.member, &w.group_member);

    // A: mia sees t1, t2 (and t3, which she cannot read), opens t1, leaves.
    f.composer_suggestions(mia, w.c, "visit-a-0001", &[t1, t2, t3])
        .unwrap();
    f.composer_opened(mia, w.c, "visit-a-0001", t1).unwrap();
    // B: mia sees t1, opens it, then posts anyway.
    f.composer_suggestions(mia, w.c, "visit-b-0001", &[t1])
        .unwrap();
    f.composer_opened(mia, w.c, "visit-b-0001", t1).unwrap();
    let (posted, _) = f
        .create_topic(
            mia,
            w.c,
            NewTopic {
                category: w.public.id,
                title: "Still cannot configure it".into(),
                body: "I read the answer but it does not cover my case.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    f.composer_posted(mia, w.c, "visit-b-0001", posted.id)
        .unwrap();
    // C: vic sees t2, files a ticket.
    f.composer_suggestions(vic, w.c, "visit-c-0001", &[t2])
        .unwrap();
    assert_eq!(
        f.composer_escalated(vic, w.c, "visit-c-0001").unwrap(),
        "https://support.example.com/new"
    );
    // D: vic sees t1, t2, t3, opens nothing.
    f.composer_suggestions(vic, w.c, "visit-d-0001", &[t1, t2, t3])
        .unwrap();
    // F: vic writes without suggestions.
    f.composer_posted(vic, w.c, "visit-f-0001", posted.id)
        .unwrap();
    // Someone else's visit is not yours.
    assert!(matches!(
        f.composer_opened(vic, w.c, "visit-a-0001", t1),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.composer_suggestions(&Actor::Guest, w.c, "visit-g-0001", &[t1]),
        Err(Error::Forbidden { .. })
    ));
    // 61 minutes later, E: mia opens t2 and is still deciding.
    w.t.clock.advance(Duration::minutes(61));
    f.composer_opened(mia, w.c, "visit-e-0001", t2).unwrap();

    let report = f
        .deflection_report(&w.moderator, w.c, start, start + Duration::days(1))
        .unwrap();
    assert_eq!(
        report,
        DeflectionReport {
            sessions: 6,
            with_suggestions: 5,            // A, B, C, D, E (F saw none)
            impressions: 2 + 1 + 1 + 3 + 1, // t3 counted for vic only
            clicks: 3,                      // A, B, E
            deflected: 1,                   // A
            escalated: 1,                   // C
            posted: 2,                      // B, F
            pending: 1,                     // E
            abandoned: 1,                   // D
        }
    );
    assert!((report.rate() - 0.2).abs() < 1e-9);
    // The period bounds by start: nothing tomorrow.
    let tomorrow = f
        .deflection_report(
            &w.admin,
            w.c,
            start + Duration::days(1),
            start + Duration::days(2),
        )
        .unwrap();
    assert_eq!(tomorrow, DeflectionReport::default());
    // Only staff read the figures.
    assert!(matches!(
        f.deflection_report(mia, w.c, start, start + Duration::days(1)),
        Err(Error::Forbidden { .. })
    ));
    // An hour on, E is decided: deflected.
    w.t.clock.advance(Duration::minutes(61));
    let later = f
        .deflection_report(&w.moderator, w.c, start, start + Duration::days(1))
        .unwrap();
    assert_eq!((later.deflected, later.pending), (2, 0));
}

#[test]
fn no_support_link_no_escalation() {
    let w = World::new();
    assert!(matches!(
        w.forum().composer_escalated(&w.member, w.c, "visit-x-0001"),
        Err(Error::NotFound { .. })
    ));
    // Bad tokens are refused.
    assert!(matches!(
        w.forum()
            .composer_suggestions(&w.member, w.c, "bad token!", &[]),
        Err(Error::Invalid { .. })
    ));
}
