//! Faults become answers: a write lock held elsewhere, a full disk and a
//! read-only file give `Error::Unavailable` with a cause, lose nothing that
//! was acknowledged, and the forum recovers by itself once the fault is
//! gone.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hearth::{Actor, Config, Error, Forum, NewTopic, NewUser, StoreConfig, Unavailable};

fn open(path: &Path, busy: Duration) -> Forum {
    Forum::open_with(
        path,
        Config {
            store: StoreConfig {
                busy_timeout: busy,
                ..StoreConfig::default()
            },
            ..Config::default()
        },
    )
    .unwrap()
}

fn topic(category: hearth::CategoryId, i: usize, body: String) -> NewTopic {
    NewTopic {
        category,
        title: format!("Fault test topic {i}"),
        body,
        tags: vec![],
    }
}

fn integrity_ok(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_write_lock_held_elsewhere_is_busy_then_clears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let f = open(&path, Duration::from_millis(200));
    let owner = f.create_user(NewUser::new("olga")).unwrap().id;
    let (c, cat) = common::one_category(&f, owner, "b");
    // Another process (a backup, a second server) takes the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = f
        .create_topic(&Actor::User(owner), c, topic(cat, 0, "body".into()))
        .unwrap_err();
    match err {
        Error::Unavailable {
            cause: Unavailable::Busy,
            retry_after,
        } => assert!(retry_after >= Duration::from_secs(1)),
        other => panic!("expected busy, got {other:?}"),
    }
    other.execute_batch("COMMIT").unwrap();
    f.create_topic(&Actor::User(owner), c, topic(cat, 1, "body".into()))
        .unwrap();
    integrity_ok(&path);
}

/// A tmpfs of `size` at a fresh directory, unmounted on drop; `None` when
/// this process may not mount (not root, or no CAP_SYS_ADMIN).
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn new(size: &str) -> Option<SmallFs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallFs { dir })
    }
    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
    fn remount(&self, options: &str) {
        let s = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(s.success(), "remount {options}");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_loses_nothing_and_recovers_when_space_returns() {
    let Some(fs) = SmallFs::new("3m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the disk-full test did not run"
        );
        return;
    };
    let path = fs.path().join("full.db");
    let f = open(&path, Duration::from_millis(500));
    let owner = f.create_user(NewUser::new("olga")).unwrap().id;
    let (c, cat) = common::one_category(&f, owner, "d");
    let actor = Actor::User(owner);
    let mut acknowledged = Vec::new();
    let mut full = None;
    for i in 0..2_000 {
        let body = format!("{i} {}", "incompressible words vary here ".repeat(200));
        match f.create_topic(&actor, c, topic(cat, i, body)) {
            Ok((t, _)) => acknowledged.push(t.id),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    match full {
        Some(Error::Unavailable {
            cause: Unavailable::DiskFull,
            ..
        }) => {}
        other => panic!(
            "expected a full disk after {} topics, got {other:?}",
            acknowledged.len()
        ),
    }
    assert!(!acknowledged.is_empty());
    // Still full: still a clear error, and reads work.
    assert!(matches!(
        f.create_topic(&actor, c, topic(cat, 9_999, "x ".repeat(5_000))),
        Err(Error::Unavailable {
            cause: Unavailable::DiskFull,
            ..
        })
    ));
    for id in &acknowledged {
        f.topic_only(&actor, c, *id).unwrap();
    }
    // Space returns: the same forum writes again, without a restart.
    fs.remount("size=64m");
    let (t, _) = f
        .create_topic(
            &actor,
            c,
            topic(cat, 10_000, "after the disk was cleared".into()),
        )
        .unwrap();
    acknowledged.push(t.id);
    drop(f);
    let f = open(&path, Duration::from_millis(500));
    for id in &acknowledged {
        f.topic_only(&actor, c, *id).unwrap();
    }
    drop(f);
    integrity_ok(&path);
}

#[test]
fn a_read_only_file_is_a_clear_error_and_recovers() {
    let Some(fs) = SmallFs::new("16m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the read-only test did not run"
        );
        return;
    };
    let path = fs.path().join("ro.db");
    let f = open(&path, Duration::from_millis(500));
    let owner = f.create_user(NewUser::new("olga")).unwrap().id;
    let (c, cat) = common::one_category(&f, owner, "r");
    let actor = Actor::User(owner);
    let (kept, _) = f
        .create_topic(&actor, c, topic(cat, 0, "written before".into()))
        .unwrap();
    drop(f);
    fs.remount("ro");
    // Opening a read-only file for writing: either the open or the first
    // write says so; nothing is half-written.
    match Forum::open(&path) {
        Err(Error::Unavailable {
            cause: Unavailable::ReadOnly,
            ..
        }) => {}
        Err(other) => panic!("expected read-only, got {other:?}"),
        Ok(f) => {
            let e = f
                .create_topic(&actor, c, topic(cat, 1, "refused".into()))
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Unavailable {
                        cause: Unavailable::ReadOnly,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }
    fs.remount("rw");
    let f = open(&path, Duration::from_millis(500));
    f.topic_only(&actor, c, kept.id).unwrap();
    f.create_topic(&actor, c, topic(cat, 2, "writable again".into()))
        .unwrap();
    drop(f);
    integrity_ok(&path);
}
