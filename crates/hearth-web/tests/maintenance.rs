//! The server's own upkeep: due topic timers fire with nobody asking, on
//! the maintenance thread `Web::new` starts.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hearth::{Actor, TimerAction, TimerWhen};

/// Sets the public topic to close in `ms` milliseconds.
fn close_in(f: &Fixture, ms: i64) {
    let at = f.forum.now() + time::Duration::milliseconds(ms);
    f.forum
        .set_topic_timer(
            &Actor::User(f.admin),
            f.community,
            f.public_topic,
            Some((TimerAction::Close, TimerWhen::At(at))),
        )
        .expect("timer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_topic_timer_fires_without_anyone_asking() {
    let f = fixture_with(|c| c.maintenance_every = Some(Duration::from_millis(100)));
    close_in(&f, 1500);
    let closed = || {
        f.forum
            .topic_only(&Actor::System, f.community, f.public_topic)
            .expect("topic")
            .closed
    };
    assert!(!closed());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !closed() {
        assert!(
            Instant::now() < deadline,
            "the timer did not fire within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        f.forum
            .topic_timer(&Actor::System, f.community, f.public_topic)
            .expect("timer"),
        None,
        "a fired timer is gone"
    );
}

#[tokio::test]
async fn a_server_told_not_to_runs_no_maintenance() {
    let f = fixture_with(|c| c.maintenance_every = None);
    close_in(&f, 300);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let topic = f
        .forum
        .topic_only(&Actor::System, f.community, f.public_topic)
        .expect("topic");
    assert!(!topic.closed, "another process runs the timers");
}
