//! Images members upload: who may, how large, what, and who reads them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{World, png};
use hearth::{Actor, Error, NewUpload};

fn new(bytes: Vec<u8>) -> NewUpload {
    NewUpload {
        filename: "screenshot.png".into(),
        bytes,
    }
}

#[test]
fn members_upload_images_within_the_limit_and_readers_see_them() {
    let w = World::new();
    let f = w.forum();
    let max = f
        .community(&Actor::System, w.c)
        .unwrap()
        .settings
        .limits
        .upload_max_bytes as usize;
    let up = f.create_upload(&w.member, w.c, new(png(max))).unwrap();
    assert_eq!((up.width, up.height, up.size), (256, 200, max as u64));
    assert_eq!(up.content_type, "image/png");
    let e = f.create_upload(&w.member, w.c, new(png(max + 1)));
    assert!(
        matches!(e, Err(Error::Invalid { field: "file", .. })),
        "{e:?}"
    );
    for bad in [b"GIF".to_vec(), b"<svg/>".to_vec(), Vec::new()] {
        assert!(matches!(
            f.create_upload(&w.member, w.c, new(bad)),
            Err(Error::Invalid { field: "file", .. })
        ));
    }
    for name in ["", "../../etc/passwd", "a\nb.png"] {
        let e = f.create_upload(
            &w.member,
            w.c,
            NewUpload {
                filename: name.into(),
                bytes: png(100),
            },
        );
        assert!(
            matches!(
                e,
                Err(Error::Invalid {
                    field: "filename",
                    ..
                })
            ),
            "{name:?}: {e:?}"
        );
    }
    assert!(matches!(
        f.create_upload(&Actor::Guest, w.c, new(png(100))),
        Err(Error::Forbidden { .. })
    ));
    let (read, bytes) = f.upload(&w.outsider, w.c, &up.sha256).unwrap();
    assert_eq!((read.id, bytes.len()), (up.id, max));
    assert!(matches!(
        f.upload(&w.member, w.c, &"0".repeat(64)),
        Err(Error::NotFound { .. })
    ));
    // Another community's reader finds nothing by the same name.
    let other = common::one_category(f, common::account(f, "other_owner"), "other").0;
    assert!(matches!(
        f.upload(&Actor::System, other, &up.sha256),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_member_uploads_at_most_the_daily_quota() {
    let w = World::new();
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.limits.upload_daily_bytes = 3000;
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    // Two files of 1,500 bytes: exactly the quota.
    let mut first = png(1500);
    first[100] = 1;
    f.create_upload(&w.member, w.c, new(first.clone())).unwrap();
    w.t.clock.advance(time::Duration::hours(1));
    f.create_upload(&w.member, w.c, new(png(1500))).unwrap();
    // One byte more is refused until the first leaves the window.
    let mut third = png(100);
    third[50] = 2;
    match f.create_upload(&w.member, w.c, new(third.clone())) {
        Err(Error::RateLimited { retry_after }) => {
            assert_eq!(retry_after.as_secs(), 23 * 3600, "{retry_after:?}");
        }
        other => panic!("{other:?}"),
    }
    // A file the community has already is not counted again.
    f.create_upload(&w.member, w.c, new(first)).unwrap();
    // Staff are not counted.
    f.create_upload(&w.moderator, w.c, new(third.clone()))
        .unwrap();
    w.t.clock.advance(time::Duration::hours(23));
    let mut fourth = png(100);
    fourth[60] = 3;
    f.create_upload(&w.member, w.c, new(fourth)).unwrap();
    // Bounds.
    for bad in [1023, (1 << 30) + 1] {
        s.limits.upload_daily_bytes = bad;
        assert!(matches!(
            f.update_community(&w.admin, w.c, "Acme", s.clone()),
            Err(Error::Invalid { .. })
        ));
    }
}
