//! Uploads in an object store (`UploadStorage::ObjectStore`, here
//! `object_store`'s `LocalFileSystem`): where the bytes go, that nothing
//! is left behind or lost, what a broken or missing store does, the
//! export, and moving a community's uploads out of the database. (The
//! behaviour every storage shares is `uploads.rs`, run on both.)
#![cfg(feature = "object-store")]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{TestForum, World, flat_png, noise_png};
use hearth::{Actor, Config, Error, Forum, NewUpload};
use sha2::{Digest, Sha256};

fn new(bytes: Vec<u8>) -> NewUpload {
    NewUpload {
        filename: "screenshot.png".into(),
        bytes,
    }
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn uploads_recorded(t: &TestForum) -> i64 {
    t.query_one("SELECT count(*) FROM uploads")
}

/// The same database without the object store.
fn without_store(t: &TestForum) -> Forum {
    Forum::open_with(t.location(), Config::default()).unwrap()
}

#[test]
fn the_bytes_live_in_the_store_and_the_record_names_them() {
    let w = World::on(TestForum::with_object_store());
    let f = w.forum();
    let up = f
        .create_upload(&w.member, w.c, new(flat_png(1380, 1000)))
        .unwrap();
    assert_eq!(up.thumbnail, Some((690, 500)));
    let stored = files(&w.t.objects());
    let prefix = w.t.objects().join("uploads").join(format!("c{}", w.c.0));
    assert_eq!(stored.len(), 2, "the picture and its thumbnail: {stored:?}");
    assert!(stored.iter().all(|p| p.starts_with(&prefix)), "{stored:?}");
    let picture = stored
        .iter()
        .find(|p| !p.to_string_lossy().ends_with("-thumb"))
        .unwrap();
    let on_disk = std::fs::read(picture).unwrap();
    assert_eq!(hex(&Sha256::digest(&on_disk)), up.sha256);
    // The database holds the record, not the bytes.
    let in_db: i64 =
        w.t.query_one("SELECT coalesce(sum(length(data)), 0) + count(thumbnail) FROM uploads");
    assert_eq!(in_db, 0);
    // Read back as before: the picture and its thumbnail.
    let (read, bytes) = f.upload(&w.outsider, w.c, &up.sha256).unwrap();
    assert_eq!((read.id, &bytes), (up.id, &on_disk));
    let (_, thumb) = f.upload_thumbnail(&Actor::Guest, w.c, &up.sha256).unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (690, 500));
    // Opened without the store, the forum says what is missing.
    let plain = without_store(&w.t);
    match plain.upload(&w.member, w.c, &up.sha256) {
        Err(Error::Storage(why)) => assert!(why.contains("Config::uploads"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Readers who may not read the community learn nothing, store or not.
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.public_access = false;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    assert!(matches!(
        f.upload(&Actor::Guest, w.c, &up.sha256),
        Err(Error::NotFound { .. } | Error::Forbidden { .. })
    ));
}

#[test]
fn nothing_is_left_in_the_store_by_refusals_or_the_same_picture_again() {
    let w = World::on(TestForum::with_object_store());
    let f = w.forum();
    let first = f
        .create_upload(&w.member, w.c, new(noise_png(20, 20, 1)))
        .unwrap();
    assert_eq!(files(&w.t.objects()).len(), 1);
    // The same picture again: the first record, still one object.
    let again = f
        .create_upload(&w.moderator, w.c, new(noise_png(20, 20, 1)))
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(files(&w.t.objects()).len(), 1);
    // Refused before anything is stored: a guest, a file that is not an
    // image.
    assert!(matches!(
        f.create_upload(&Actor::Guest, w.c, new(noise_png(20, 20, 2))),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        f.create_upload(&w.member, w.c, new(b"<svg/>\0".to_vec())),
        Err(Error::Invalid { .. })
    ));
    // Refused after the bytes went to the store (the daily quota is
    // checked with the write): they are removed again.
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.limits.upload_daily_bytes = 1024;
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    let e = f.create_upload(&w.member, w.c, new(noise_png(40, 40, 3)));
    assert!(
        matches!(e, Err(Error::Invalid { field: "file", .. })),
        "{e:?}"
    );
    assert_eq!(files(&w.t.objects()).len(), 1);
    assert_eq!(uploads_recorded(&w.t), 1);
}

#[test]
fn the_sweep_removes_the_objects_of_the_uploads_it_removes() {
    let w = World::on(TestForum::with_object_store());
    let f = w.forum();
    let up = |seed| {
        f.create_upload(&w.member, w.c, new(noise_png(8, 8, seed)))
            .unwrap()
            .sha256
    };
    let big = f
        .create_upload(&w.member, w.c, new(flat_png(1380, 1000)))
        .unwrap()
        .sha256;
    let (used, unused) = (up(1), up(2));
    f.create_topic(
        &w.member,
        w.c,
        hearth::NewTopic {
            category: w.public.id,
            title: "A screenshot of the error".into(),
            body: format!("Here: ![shot](/uploads/{used}.png)"),
            tags: vec![],
        },
    )
    .unwrap();
    assert_eq!(files(&w.t.objects()).len(), 4);
    w.t.clock.advance(time::Duration::hours(49));
    assert_eq!(f.sweep_unused_uploads(w.c).unwrap(), 2);
    let left = files(&w.t.objects());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].to_string_lossy().contains(&used));
    for gone in [&big, &unused] {
        assert!(matches!(
            f.upload(&Actor::System, w.c, gone),
            Err(Error::NotFound { .. })
        ));
    }
    f.upload(&w.member, w.c, &used).unwrap();
}

#[test]
fn a_missing_object_or_a_broken_store_is_a_clear_error_and_records_nothing() {
    let w = World::on(TestForum::with_object_store());
    let f = w.forum();
    let up = f
        .create_upload(&w.member, w.c, new(noise_png(8, 8, 1)))
        .unwrap();
    // Someone removed the object by hand: not found, not a broken page.
    for p in files(&w.t.objects()) {
        std::fs::remove_file(p).unwrap();
    }
    assert!(matches!(
        f.upload(&w.member, w.c, &up.sha256),
        Err(Error::NotFound { what: "upload" })
    ));
    // The store's directory is gone and a file stands in its place: the
    // upload fails and nothing is recorded.
    std::fs::remove_dir_all(w.t.objects()).unwrap();
    std::fs::write(w.t.objects(), b"not a directory").unwrap();
    let e = f
        .create_upload(&w.member, w.c, new(noise_png(8, 8, 2)))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unavailable {
                cause: hearth::Unavailable::UploadStore,
                ..
            } | Error::Storage(_)
        ),
        "{e:?}"
    );
    assert_eq!(uploads_recorded(&w.t), 1);
    // Mended, it works again.
    std::fs::remove_file(w.t.objects()).unwrap();
    std::fs::create_dir(w.t.objects()).unwrap();
    f.create_upload(&w.member, w.c, new(noise_png(8, 8, 2)))
        .unwrap();
    assert_eq!(uploads_recorded(&w.t), 2);
}

#[test]
fn an_export_carries_the_bytes_and_imports_where_there_is_no_store() {
    let w = World::on(TestForum::with_object_store());
    let f = w.forum();
    let big = f
        .create_upload(&w.member, w.c, new(flat_png(1380, 1000)))
        .unwrap();
    let small = f
        .create_upload(&w.member, w.c, new(noise_png(8, 8, 1)))
        .unwrap();
    let mut file = Vec::new();
    f.export_community(&Actor::System, w.c, &mut file, &mut |_, _| {})
        .unwrap();
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(!text.contains("object_key"), "the store's names stay home");
    let other = TestForum::new();
    let copy = other
        .forum
        .import_community(&file[..], "acme-copy", &mut |_, _| {})
        .unwrap();
    for up in [&big, &small] {
        let (_, a) = f.upload(&Actor::System, w.c, &up.sha256).unwrap();
        let (_, b) = other
            .forum
            .upload(&Actor::System, copy, &up.sha256)
            .unwrap();
        assert_eq!(a, b);
        let (_, a) = f.upload_thumbnail(&Actor::System, w.c, &up.sha256).unwrap();
        let (_, b) = other
            .forum
            .upload_thumbnail(&Actor::System, copy, &up.sha256)
            .unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn a_communitys_uploads_move_from_the_database_to_the_store() {
    // Uploads made while the forum kept them in its database.
    let w = World::new();
    let f = w.forum();
    let mut made = Vec::new();
    for seed in 1..=3 {
        made.push(
            f.create_upload(&w.member, w.c, new(noise_png(8, 8, seed)))
                .unwrap(),
        );
    }
    made.push(
        f.create_upload(&w.member, w.c, new(flat_png(1380, 1000)))
            .unwrap(),
    );
    let owner = common::account(f, "other_owner");
    let other = common::one_category(f, owner, "other").0;
    let elsewhere = f
        .create_upload(&Actor::User(owner), other, new(noise_png(8, 8, 9)))
        .unwrap();
    let before: Vec<(Vec<u8>, Vec<u8>)> = made
        .iter()
        .map(|u| {
            (
                f.upload(&Actor::System, w.c, &u.sha256).unwrap().1,
                f.upload_thumbnail(&Actor::System, w.c, &u.sha256)
                    .unwrap()
                    .1,
            )
        })
        .collect();
    assert!(matches!(
        f.move_uploads_to_object_store(w.c, 10, &mut |_, _| {}),
        Err(Error::Invalid {
            field: "uploads",
            ..
        })
    ));
    // The same database, opened with a store.
    let objects = w.t.dir.path().join("objects");
    let moved = Forum::open_with(
        w.t.location(),
        Config {
            uploads: common::object_store_in(&objects),
            ..Config::default()
        },
    )
    .unwrap();
    for bad in [0, 1001] {
        assert!(matches!(
            moved.move_uploads_to_object_store(w.c, bad, &mut |_, _| {}),
            Err(Error::Invalid { field: "batch", .. })
        ));
    }
    let mut seen = Vec::new();
    let n = moved
        .move_uploads_to_object_store(w.c, 3, &mut |done, total| seen.push((done, total)))
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(seen, [(3, 4), (4, 4)]);
    assert_eq!(files(&objects).len(), 5, "four pictures and one thumbnail");
    for (u, (data, thumb)) in made.iter().zip(&before) {
        assert_eq!(&moved.upload(&w.member, w.c, &u.sha256).unwrap().1, data);
        assert_eq!(
            &moved.upload_thumbnail(&w.member, w.c, &u.sha256).unwrap().1,
            thumb
        );
        // The bytes left the database.
        assert!(matches!(
            f.upload(&w.member, w.c, &u.sha256),
            Err(Error::Storage(_))
        ));
    }
    // Nothing left to move; the other community was not asked.
    assert_eq!(
        moved
            .move_uploads_to_object_store(w.c, 3, &mut |_, _| {})
            .unwrap(),
        0
    );
    f.upload(&Actor::System, other, &elsewhere.sha256).unwrap();
    // New uploads go to the store directly.
    moved
        .create_upload(&w.member, w.c, new(noise_png(8, 8, 4)))
        .unwrap();
    assert_eq!(files(&objects).len(), 6);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
