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
