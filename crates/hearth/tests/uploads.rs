//! Images members upload: who may, how large, what, and who reads them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{World, flat_png, noise_png, png};
use hearth::{Actor, Error, NewUpload};

/// Each test runs with uploads in the database and, with the feature
/// `object-store`, in an object store.
fn worlds() -> Vec<World> {
    #[allow(unused_mut)]
    let mut worlds = vec![World::new()];
    #[cfg(feature = "object-store")]
    worlds.push(World::on(common::TestForum::with_object_store()));
    worlds
}

fn new(bytes: Vec<u8>) -> NewUpload {
    NewUpload {
        filename: "screenshot.png".into(),
        bytes,
    }
}

#[test]
fn members_upload_images_within_the_limit_and_readers_see_them() {
    for w in worlds() {
        members_upload_images_within_the_limit_and_readers_see_them_in(w);
    }
}

fn members_upload_images_within_the_limit_and_readers_see_them_in(w: World) {
    let f = w.forum();
    let max = f
        .community(&Actor::System, w.c)
        .unwrap()
        .settings
        .limits
        .upload_max_bytes as usize;
    let up = f.create_upload(&w.member, w.c, new(png(max))).unwrap();
    assert_eq!((up.width, up.height, up.thumbnail), (256, 200, None));
    assert!(up.size < 1000, "the padding is not kept: {}", up.size);
    assert_eq!(up.content_type, "image/png");
    let e = f.create_upload(&w.member, w.c, new(png(max + 1)));
    assert!(
        matches!(e, Err(Error::Invalid { field: "file", .. })),
        "{e:?}"
    );
    // Neither a picture nor text: refused, saying what is taken.
    for bad in [
        b"GIF\0".to_vec(),
        vec![0xff, 0xd8, 0, 1],
        Vec::new(),
        b"  \n".to_vec(),
    ] {
        match f.create_upload(&w.member, w.c, new(bad)) {
            Err(e @ Error::Invalid { field: "file", .. }) => assert!(
                e.to_string()
                    .contains("a PNG, JPEG, GIF or WebP image, or a PDF or text file"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
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
    assert_eq!((read.id, bytes.len()), (up.id, up.size as usize));
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
    for w in worlds() {
        a_member_uploads_at_most_the_daily_quota_in(w);
    }
}

fn a_member_uploads_at_most_the_daily_quota_in(w: World) {
    let f = w.forum();
    // What each picture takes once stored, learnt in another community.
    let pictures: Vec<Vec<u8>> = (1..=4).map(|seed| noise_png(20, 20, seed)).collect();
    let owner = common::account(f, "other_owner");
    let other = common::one_category(f, owner, "other").0;
    let size: Vec<i64> = pictures
        .iter()
        .map(|p| {
            let up = f
                .create_upload(&Actor::User(owner), other, new(p.clone()))
                .unwrap();
            up.size as i64
        })
        .collect();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.limits.upload_daily_bytes = (size[0] + size[1]) as u32;
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    // Two pictures: exactly the quota.
    f.create_upload(&w.member, w.c, new(pictures[0].clone()))
        .unwrap();
    w.t.clock.advance(time::Duration::hours(1));
    f.create_upload(&w.member, w.c, new(pictures[1].clone()))
        .unwrap();
    // One more is refused until the first leaves the window.
    match f.create_upload(&w.member, w.c, new(pictures[2].clone())) {
        Err(Error::RateLimited { retry_after }) => {
            assert_eq!(retry_after.as_secs(), 23 * 3600, "{retry_after:?}");
        }
        other => panic!("{other:?}"),
    }
    // A picture the community has already is not counted again.
    f.create_upload(&w.member, w.c, new(pictures[0].clone()))
        .unwrap();
    // Staff are not counted.
    f.create_upload(&w.moderator, w.c, new(pictures[2].clone()))
        .unwrap();
    w.t.clock.advance(time::Duration::hours(23));
    assert!(size[3] <= size[0], "the fourth fits where the first was");
    f.create_upload(&w.member, w.c, new(pictures[3].clone()))
        .unwrap();
    // Bounds.
    for bad in [1023, (1 << 30) + 1] {
        s.limits.upload_daily_bytes = bad;
        assert!(matches!(
            f.update_community(&w.admin, w.c, "Acme", s.clone()),
            Err(Error::Invalid { .. })
        ));
    }
}

/// Inserts an APP1 (EXIF) segment right after a JPEG's start marker: a
/// description naming a GPS position and orientation 6 (the camera was
/// turned: show the picture rotated 90° clockwise).
fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let text = b"GPS 59.3293N 18.0686E\0";
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    // ImageDescription (ASCII, at offset 38), then Orientation (SHORT 6).
    tiff.extend_from_slice(&[0x01, 0x0E, 0, 2, 0, 0, 0, text.len() as u8, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(text);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x * 6) as u8, 90, 160]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

#[test]
fn photos_lose_their_metadata_and_stand_upright() {
    for w in worlds() {
        photos_lose_their_metadata_and_stand_upright_in(w);
    }
}

fn photos_lose_their_metadata_and_stand_upright_in(w: World) {
    let f = w.forum();
    let photo = with_exif(&jpeg(40, 20));
    assert!(photo.windows(3).any(|b| b == b"GPS"));
    let up = f.create_upload(&w.member, w.c, new(photo)).unwrap();
    assert_eq!(up.content_type, "image/jpeg");
    assert_eq!((up.width, up.height), (20, 40), "turned as EXIF says");
    let (_, bytes) = f.upload(&w.member, w.c, &up.sha256).unwrap();
    for gone in [&b"GPS"[..], b"Exif", b"59.3293"] {
        assert!(
            !bytes.windows(gone.len()).any(|b| b == gone),
            "{:?} was kept",
            String::from_utf8_lossy(gone)
        );
    }
    let stored = image::load_from_memory(&bytes).unwrap();
    assert_eq!((stored.width(), stored.height()), (20, 40));
}

#[test]
fn polyglots_and_bombs_are_neutralised_or_refused() {
    for w in worlds() {
        polyglots_and_bombs_are_neutralised_or_refused_in(w);
    }
}

fn polyglots_and_bombs_are_neutralised_or_refused_in(w: World) {
    let f = w.forum();
    // A PNG that is also an HTML page (and a zip) after its end.
    let mut polyglot = flat_png(30, 30);
    polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>PK\x03\x04");
    let up = f.create_upload(&w.member, w.c, new(polyglot)).unwrap();
    let (_, bytes) = f.upload(&w.member, w.c, &up.sha256).unwrap();
    for gone in [&b"<script"[..], b"<html", b"PK\x03\x04"] {
        assert!(!bytes.windows(gone.len()).any(|b| b == gone));
    }
    assert!(
        bytes.ends_with(b"IEND\xAE\x42\x60\x82"),
        "nothing after the end"
    );

    // A 50,000 × 50,000 PNG (a few KB compressed, 10 GB decoded) is
    // refused from its header, before anything is decoded.
    let mut bomb = flat_png(1, 1);
    bomb[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let e = f.create_upload(&w.member, w.c, new(bomb)).unwrap_err();
    assert!(e.to_string().contains("at most 50000000 pixels"), "{e}");

    // A header within the cap over data that is not there: a clear error.
    let mut lying = flat_png(1, 1);
    lying[16..20].copy_from_slice(&5_000u32.to_be_bytes());
    lying[20..24].copy_from_slice(&5_000u32.to_be_bytes());
    let e = f.create_upload(&w.member, w.c, new(lying)).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field: "file", .. })
            && e.to_string().contains("not a readable PNG image"),
        "{e}"
    );

    // Nothing but the first upload was stored.
    assert_eq!(f.upload(&w.member, w.c, &up.sha256).unwrap().0.id, up.id,);
}

#[test]
fn attachments_are_kept_as_sent_and_only_of_the_kinds_the_community_takes() {
    for w in worlds() {
        attachments_are_kept_as_sent_and_only_of_the_kinds_the_community_takes_in(w);
    }
}

fn attachments_are_kept_as_sent_and_only_of_the_kinds_the_community_takes_in(w: World) {
    let f = w.forum();
    let file = |name: &str, bytes: &[u8]| NewUpload {
        filename: name.into(),
        bytes: bytes.to_vec(),
    };
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
    let up = f
        .create_upload(&w.member, w.c, file("report.pdf", pdf))
        .unwrap();
    assert_eq!(
        (up.content_type.as_str(), up.extension(), up.is_image()),
        ("application/pdf", "pdf", false)
    );
    assert_eq!((up.width, up.height, up.thumbnail), (0, 0, None));
    let (_, bytes) = f.upload(&w.outsider, w.c, &up.sha256).unwrap();
    assert_eq!(bytes, pdf, "kept as sent");
    assert_eq!(up.download_name(), "report.pdf");
    let (_, bytes) = f.upload_thumbnail(&w.outsider, w.c, &up.sha256).unwrap();
    assert_eq!(bytes, pdf, "an attachment is its own thumbnail");
    // Text, whatever its name says: a log, and a page named as a picture
    // (it is only ever text: served as text/plain, as a download).
    let log = "2026-12-03 ERROR sync failed: timeout\r\n\tat worker 3\n";
    let up = f
        .create_upload(&w.member, w.c, file("sync.log", log.as_bytes()))
        .unwrap();
    assert_eq!(
        (up.content_type.as_str(), up.extension()),
        ("text/plain", "txt")
    );
    let page = b"<html><script>alert(document.cookie)</script></html>";
    let up = f
        .create_upload(&w.member, w.c, file("cute-cat.png", page))
        .unwrap();
    assert_eq!((up.extension(), up.is_image()), ("txt", false));
    assert_eq!(up.download_name(), "cute-cat.png.txt");
    // Not text: a NUL, an escape sequence, bytes that are not UTF-8.
    for bad in [&b"log\0line"[..], b"\x1b[31mred\x1b[0m", b"caf\xe9"] {
        assert!(
            matches!(
                f.create_upload(&w.member, w.c, file("x.txt", bad)),
                Err(Error::Invalid { field: "file", .. })
            ),
            "{bad:?}"
        );
    }
    // ZIP archives only where the community takes them; then only what it
    // names.
    let zip = b"PK\x03\x04\x14\0\0\0\0\0logs/app.log";
    assert!(matches!(
        f.create_upload(&w.member, w.c, file("logs.zip", zip)),
        Err(Error::Invalid { field: "file", .. })
    ));
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.limits.attachments = vec![hearth::AttachmentKind::Zip];
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    let up = f
        .create_upload(&w.member, w.c, file("logs.zip", zip))
        .unwrap();
    assert_eq!(
        (up.content_type.as_str(), up.extension()),
        ("application/zip", "zip")
    );
    match f.create_upload(&w.member, w.c, file("notes.txt", b"new notes")) {
        Err(e) => assert!(
            e.to_string()
                .contains("a PNG, JPEG, GIF or WebP image, or a ZIP file"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    // Pictures only.
    s.limits.attachments = vec![];
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    match f.create_upload(&w.member, w.c, file("more.pdf", b"%PDF-1.4 more")) {
        Err(e) => {
            let text = e.to_string();
            assert!(text.ends_with("a PNG, JPEG, GIF or WebP image"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    f.create_upload(&w.member, w.c, new(noise_png(8, 8, 1)))
        .unwrap();
    // A kind named twice is a mistake in the settings.
    s.limits.attachments = vec![hearth::AttachmentKind::Pdf, hearth::AttachmentKind::Pdf];
    assert!(matches!(
        f.update_community(&w.admin, w.c, "Acme", s),
        Err(Error::Invalid {
            field: "limits",
            ..
        })
    ));
    // Stored attachments are still served when the kind is no longer
    // taken, and a link to one keeps it from the sweep.
    let body = format!("Logs: [logs.zip](/uploads/{}.zip)", up.sha256);
    f.create_topic(
        &w.member,
        w.c,
        hearth::NewTopic {
            category: w.public.id,
            title: "The sync fails every night".into(),
            body,
            tags: vec![],
        },
    )
    .unwrap();
    w.t.clock.advance(time::Duration::hours(49));
    f.sweep_unused_uploads(w.c).unwrap();
    f.upload(&w.member, w.c, &up.sha256).unwrap();
}

#[test]
fn large_pictures_get_a_thumbnail_and_small_ones_serve_themselves() {
    for w in worlds() {
        large_pictures_get_a_thumbnail_and_small_ones_serve_themselves_in(w);
    }
}

fn large_pictures_get_a_thumbnail_and_small_ones_serve_themselves_in(w: World) {
    let f = w.forum();
    let up = f
        .create_upload(&w.member, w.c, new(flat_png(1380, 1000)))
        .unwrap();
    assert_eq!(up.thumbnail, Some((690, 500)));
    let (_, thumb) = f.upload_thumbnail(&w.outsider, w.c, &up.sha256).unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (690, 500));
    let small = f
        .create_upload(&w.member, w.c, new(flat_png(100, 80)))
        .unwrap();
    assert_eq!(small.thumbnail, None);
    let (_, a) = f.upload_thumbnail(&w.member, w.c, &small.sha256).unwrap();
    let (_, b) = f.upload(&w.member, w.c, &small.sha256).unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        f.upload_thumbnail(&Actor::Guest, w.c, &"0".repeat(64)),
        Err(Error::NotFound { .. })
    ));
}

/// An animated GIF with a loop count and a comment.
fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut e = GifEncoder::new(&mut out);
        e.set_repeat(Repeat::Infinite).unwrap();
        for shade in [0u8, 120, 240] {
            let frame = image::RgbaImage::from_pixel(12, 8, image::Rgba([shade, 50, 50, 255]));
            e.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    // A comment extension before the trailer.
    let trailer = out.pop().unwrap();
    assert_eq!(trailer, 0x3B);
    out.extend_from_slice(b"\x21\xFE\x0Ftaken at home!!\x00\x3B");
    out
}

#[test]
fn animations_keep_their_frames_and_loop_but_not_their_comments() {
    for w in worlds() {
        animations_keep_their_frames_and_loop_but_not_their_comments_in(w);
    }
}

fn animations_keep_their_frames_and_loop_but_not_their_comments_in(w: World) {
    let f = w.forum();
    let gif = animated_gif();
    let up = f.create_upload(&w.member, w.c, new(gif)).unwrap();
    assert_eq!(
        (up.content_type.as_str(), up.width, up.height),
        ("image/gif", 12, 8)
    );
    let (_, bytes) = f.upload(&w.member, w.c, &up.sha256).unwrap();
    assert!(!bytes.windows(10).any(|b| b == b"taken at h"));
    assert!(
        bytes.windows(11).any(|b| b == b"NETSCAPE2.0"),
        "the loop is kept"
    );
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&bytes))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 3);
}

#[test]
fn uploads_nothing_refers_to_are_swept_after_the_grace_period() {
    for w in worlds() {
        uploads_nothing_refers_to_are_swept_after_the_grace_period_in(w);
    }
}

fn uploads_nothing_refers_to_are_swept_after_the_grace_period_in(w: World) {
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.messages.min_trust = hearth::TrustLevel::New;
    f.update_community(&w.admin, w.c, "Acme", s.clone())
        .unwrap();
    let up = |seed| {
        f.create_upload(&w.member, w.c, new(noise_png(8, 8, seed)))
            .unwrap()
            .sha256
    };
    let (in_post, in_message, avatar, unused) = (up(1), up(2), up(3), up(4));
    let (_, post) = f
        .create_topic(
            &w.member,
            w.c,
            hearth::NewTopic {
                category: w.public.id,
                title: "A screenshot of the error".into(),
                body: format!("Here: ![shot](/uploads/{in_post}.png)"),
                tags: vec![],
            },
        )
        .unwrap();
    f.send_message(
        &w.member,
        w.c,
        hearth::NewMessage {
            title: "The same, privately".into(),
            body: format!("![shot](upload://{in_message}.png)"),
            users: vec!["mod_max".into()],
            groups: vec![],
        },
    )
    .unwrap();
    let me = match w.member {
        Actor::User(u) => u,
        _ => unreachable!(),
    };
    f.update_profile(
        &w.member,
        me,
        hearth::ProfileUpdate {
            avatar_url: Some(format!("/uploads/thumbnails/{avatar}.png")),
            ..Default::default()
        },
    )
    .unwrap();
    // Within the grace period nothing goes, not even the unused one.
    w.t.clock.advance(time::Duration::hours(47));
    let fresh = up(5);
    assert_eq!(f.sweep_unused_uploads(w.c).unwrap(), 0);
    w.t.clock.advance(time::Duration::hours(2));
    assert_eq!(f.sweep_unused_uploads(w.c).unwrap(), 1);
    let exists = |sha: &str| f.upload(&Actor::System, w.c, sha).is_ok();
    assert!(!exists(&unused));
    for kept in [&in_post, &in_message, &avatar, &fresh] {
        assert!(exists(kept), "{kept} was swept");
    }
    // An edit that drops the image lets it go on the next sweep.
    f.edit_post(
        &w.member,
        w.c,
        post.id,
        hearth::PostEdit {
            body: "Fixed it myself, never mind.".into(),
            title: None,
            reason: None,
            base_version: None,
        },
    )
    .unwrap();
    assert_eq!(f.sweep_unused_uploads(w.c).unwrap(), 1);
    assert!(!exists(&in_post));
    assert!(exists(&in_message) && exists(&avatar));
    // The grace period is the community's, within bounds.
    for bad in [0, 8761] {
        s.limits.unused_upload_hours = bad;
        assert!(matches!(
            f.update_community(&w.admin, w.c, "Acme", s.clone()),
            Err(Error::Invalid { .. })
        ));
    }
}
