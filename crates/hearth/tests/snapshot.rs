//! `Forum::in_snapshot`: a run of reads on one snapshot, each reader's
//! permissions loaded once — and never a stale permission after a write
//! on the same thread, never state from another forum or thread.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestForum, World};
use hearth::{Error, NewReply};

fn reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
    }
}

#[test]
fn reads_inside_see_one_state_and_after_it_the_new_one() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    let count = || f.topic_only(&w.member, w.c, topic).unwrap().post_count;
    let before = count();
    f.in_snapshot(|| {
        assert_eq!(count(), before);
        // Another thread replies while the snapshot is open.
        std::thread::scope(|s| {
            s.spawn(|| f.reply(&w.moderator, w.c, topic, reply("From elsewhere.")))
                .join()
                .unwrap()
                .unwrap();
        });
        assert_eq!(
            count(),
            before,
            "the snapshot's reads agree with each other"
        );
    });
    assert_eq!(count(), before + 1, "after the snapshot the reply is there");
}

#[test]
fn a_write_on_the_same_thread_ends_the_snapshot() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    let count = || f.topic_only(&w.member, w.c, topic).unwrap().post_count;
    f.in_snapshot(|| {
        let before = count();
        f.reply(&w.moderator, w.c, topic, reply("Written inside."))
            .unwrap();
        assert_eq!(count(), before + 1, "a read after a write sees it");
        f.reply(&w.moderator, w.c, topic, reply("And again."))
            .unwrap();
        assert_eq!(count(), before + 2);
    });
}

#[test]
fn permissions_are_loaded_again_after_a_write() {
    // The group member reads the group's topic, loses the group on this
    // thread, and is refused at once: a remembered viewer never outlives
    // a write.
    let w = World::new();
    let f = w.forum();
    let (group_topic, _) = w.topics[2];
    let hearth::Actor::User(vic) = w.group_member else {
        unreachable!()
    };
    f.in_snapshot(|| {
        f.topic_only(&w.group_member, w.c, group_topic).unwrap();
        f.topic_only(&w.group_member, w.c, group_topic).unwrap();
        f.remove_from_group(&w.admin, w.c, w.group, vic).unwrap();
        let refused = f.topic_only(&w.group_member, w.c, group_topic);
        assert!(
            matches!(
                refused,
                Err(Error::NotFound { .. } | Error::Forbidden { .. })
            ),
            "{refused:?}"
        );
        // Each reader has their own permissions within one snapshot.
        f.topic_only(&w.moderator, w.c, group_topic).unwrap();
        assert!(f.topic_only(&w.member, w.c, group_topic).is_err());
        assert!(f.topic_only(&w.outsider, w.c, group_topic).is_err());
    });
    assert!(f.topic_only(&w.group_member, w.c, group_topic).is_err());
}

#[test]
fn a_panic_inside_gives_the_connection_back() {
    let w = World::new();
    let f = w.forum();
    let (topic, _) = w.topics[0];
    // More panicking snapshots than the store has readers: a snapshot that
    // kept its connection would leave the next read waiting for good.
    for _ in 0..12 {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.in_snapshot(|| {
                f.topic_only(&w.member, w.c, topic).unwrap();
                panic!("a page that fails half-way");
            })
        }));
        assert!(caught.is_err());
    }
    for _ in 0..12 {
        f.in_snapshot(|| f.topic_only(&w.member, w.c, topic).unwrap());
    }
    f.topic_only(&w.member, w.c, topic).unwrap();
}

#[test]
fn nested_snapshots_join_and_other_forums_are_apart() {
    let a = World::new();
    let b = World::on(TestForum::new());
    let (fa, fb) = (a.forum(), b.forum());
    let (ta, _) = a.topics[0];
    let (tb, _) = b.topics[0];
    let before_b = fb.topic_only(&b.member, b.c, tb).unwrap().post_count;
    fa.in_snapshot(|| {
        let before_a = fa.topic_only(&a.member, a.c, ta).unwrap().post_count;
        fa.in_snapshot(|| {
            assert_eq!(
                fa.topic_only(&a.member, a.c, ta).unwrap().post_count,
                before_a
            );
        });
        // The other forum is not in this snapshot: its reads see its writes.
        fb.reply(&b.moderator, b.c, tb, reply("In the other forum."))
            .unwrap();
        assert_eq!(
            fb.topic_only(&b.member, b.c, tb).unwrap().post_count,
            before_b + 1
        );
        // A write to the other forum did not end this one's snapshot.
        std::thread::scope(|s| {
            s.spawn(|| fa.reply(&a.moderator, a.c, ta, reply("Elsewhere.")))
                .join()
                .unwrap()
                .unwrap();
        });
        assert_eq!(
            fa.topic_only(&a.member, a.c, ta).unwrap().post_count,
            before_a
        );
    });
}
