//! Files members upload — screenshots and photos for their posts, and the
//! files a community lets them attach (PDF documents, text such as logs,
//! ZIP archives). Recognised by their bytes, never by the name or type a
//! client claims; pictures (PNG, JPEG, GIF, WebP) written anew without
//! their metadata (`imaging`), attachments kept as sent and only ever
//! served as downloads; kept once per content per community — in the database
//! (every process serving the forum has them) or an object store
//! (`upload_store`) — and read back only by whoever may read the
//! community.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::from_millis;
use crate::db::{OptionalExtension, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::permissions::Actor;
use crate::text::{Lines, check_chars};
use crate::upload_store::ObjectStoreUploads;

/// The most pixels an uploaded image may have (width × height): a
/// browser decodes every one.
pub const MAX_UPLOAD_PIXELS: u64 = 50_000_000;

/// An image kind Hearth accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl Kind {
    /// Its name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Png => "PNG",
            Kind::Jpeg => "JPEG",
            Kind::Gif => "GIF",
            Kind::Webp => "WebP",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        0,
    ]))
}

/// What the bytes are, with the image's width and height, read from its
/// header; `None` for anything else (or a header that lies about itself).
fn image_info(b: &[u8]) -> Option<(Kind, u32, u32)> {
    let (kind, w, h) = if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16)? == b"IHDR" {
        let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
        (Kind::Png, w, h)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        (Kind::Gif, le16(b, 6)?, le16(b, 8)?)
    } else if b.starts_with(&[0xFF, 0xD8]) {
        // Segments until a start-of-frame marker, which holds the size.
        let mut at = 2;
        loop {
            if *b.get(at)? != 0xFF {
                return None;
            }
            let marker = *b.get(at + 1)?;
            let len = be16(b, at + 2)? as usize;
            let sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
            if sof {
                break (Kind::Jpeg, be16(b, at + 7)?, be16(b, at + 5)?);
            }
            if len < 2 {
                return None;
            }
            at += 2 + len;
        }
    } else if b.get(0..4)? == b"RIFF" && b.get(8..12)? == b"WEBP" {
        match b.get(12..16)? {
            b"VP8 " if b.get(23..26)? == [0x9D, 0x01, 0x2A] => {
                (Kind::Webp, le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF)
            }
            b"VP8L" if *b.get(20)? == 0x2F => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                (Kind::Webp, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            }
            b"VP8X" => (Kind::Webp, le24(b, 24)? + 1, le24(b, 27)? + 1),
            _ => return None,
        }
    } else {
        return None;
    };
    (w > 0 && h > 0).then_some((kind, w, h))
}

/// A kind of file, other than pictures, that a community may let members
/// attach ([`ContentLimits::attachments`](crate::ContentLimits::attachments)).
/// Each is recognised by its bytes; none is ever opened, unpacked or run
/// by Hearth, and the web layer serves them only as downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AttachmentKind {
    /// A PDF document (`%PDF-`).
    Pdf,
    /// Text: UTF-8 without control characters other than tab, line feed,
    /// carriage return and form feed — logs, CSV, JSON, configuration.
    /// (Text that is HTML or SVG is still only text: served as
    /// `text/plain`, as a download.)
    Text,
    /// A ZIP archive (never unpacked).
    Zip,
}

impl AttachmentKind {
    /// Its name in settings and messages: `pdf`, `text`, `zip`.
    pub fn name(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Text => "text",
            AttachmentKind::Zip => "zip",
        }
    }

    /// Its name for people: `PDF`, `text`, `ZIP` ("a PDF or text file").
    pub fn label(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "PDF",
            AttachmentKind::Text => "text",
            AttachmentKind::Zip => "ZIP",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            AttachmentKind::Pdf => "application/pdf",
            AttachmentKind::Text => "text/plain",
            AttachmentKind::Zip => "application/zip",
        }
    }

    /// What `bytes` are, if one of these.
    fn of(bytes: &[u8]) -> Option<AttachmentKind> {
        if bytes.starts_with(b"%PDF-") {
            return Some(AttachmentKind::Pdf);
        }
        // A local file header, or the end record of an empty archive.
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            return Some(AttachmentKind::Zip);
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let plain = text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'));
        (!text.trim().is_empty() && plain).then_some(AttachmentKind::Text)
    }
}

/// What [`Forum::create_upload`] takes.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// The file's name on the member's device (kept for display, 1 to 255
    /// characters; never used to decide what the file is).
    pub filename: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// Its id.
    pub id: i64,
    /// SHA-256 of its bytes, in hex: its name in URLs.
    pub sha256: String,
    /// The name it was uploaded with.
    pub filename: String,
    /// `image/png`, `image/jpeg` or `image/gif` (a WebP upload is kept as
    /// JPEG, or PNG when transparent).
    pub content_type: String,
    /// Width in pixels (upright: a photo's EXIF orientation is applied).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The thumbnail's width and height, when the image is larger than
    /// [`THUMBNAIL_BOX`](crate::THUMBNAIL_BOX) (see
    /// [`Forum::upload_thumbnail`]).
    #[serde(default)]
    pub thumbnail: Option<(u32, u32)>,
    /// Size in bytes.
    pub size: u64,
    /// Who uploaded it first.
    pub user: UserId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Upload {
    /// The extension its type has (`png`, `jpeg`, `gif`, `webp`; `pdf`,
    /// `txt`, `zip`).
    pub fn extension(&self) -> &str {
        match self.content_type.as_str() {
            "application/pdf" => "pdf",
            "text/plain" => "txt",
            "application/zip" => "zip",
            t => t.strip_prefix("image/").unwrap_or("bin"),
        }
    }

    /// Whether it is a picture (shown in posts) rather than an attachment
    /// (offered as a download).
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    /// The name to save it under: the uploaded name when its extension
    /// fits what the file is, otherwise that name with the right one added
    /// (`cute-cat.png.txt` for text named as a picture), so a saved file
    /// never opens as something else.
    pub fn download_name(&self) -> String {
        let name = self.filename.as_str();
        let has = |ext: &str| {
            name.rsplit_once('.')
                .is_some_and(|(stem, x)| !stem.is_empty() && x.eq_ignore_ascii_case(ext))
        };
        let fits = match self.content_type.as_str() {
            "text/plain" => TEXT_EXTENSIONS.iter().any(|e| has(e)),
            "image/jpeg" => has("jpg") || has("jpeg"),
            _ => has(self.extension()),
        };
        if fits {
            name.to_owned()
        } else {
            format!("{name}.{}", self.extension())
        }
    }
}

/// Extensions a text attachment may keep in its download name.
const TEXT_EXTENSIONS: [&str; 12] = [
    "txt", "log", "csv", "tsv", "json", "md", "yaml", "yml", "toml", "ini", "conf", "cfg",
];

const COLUMNS: &str =
    "id, sha256, filename, content_type, width, height, size, user_id, created_at,
     thumbnail_width, thumbnail_height";

fn upload_from_row(r: &crate::db::Row<'_>) -> crate::db::Result<Upload> {
    Ok(Upload {
        id: r.get(0)?,
        sha256: r.get(1)?,
        filename: r.get(2)?,
        content_type: r.get(3)?,
        width: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        height: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        size: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
        user: r.get(7)?,
        created_at: from_millis(r.get(8)?),
        thumbnail: match (r.get::<_, Option<i64>>(9)?, r.get::<_, Option<i64>>(10)?) {
            (Some(w), Some(h)) => {
                Some((u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0)))
            }
            _ => None,
        },
    })
}

impl Forum {
    /// Stores a file a member uploads: members who may post, within the
    /// community's `upload_max_bytes`; a PNG, JPEG, GIF or WebP image
    /// within [`MAX_UPLOAD_PIXELS`], or one of the community's
    /// [`attachments`](crate::ContentLimits::attachments) kinds, each by
    /// its bytes (`Invalid`, field `file`, naming what the community
    /// takes, otherwise). An attachment is kept as sent (`width` and
    /// `height` 0). An image is decoded and written anew: its metadata
    /// (EXIF with GPS positions, comments, anything appended) is not kept,
    /// a photo is turned upright, and one larger than
    /// [`THUMBNAIL_BOX`](crate::THUMBNAIL_BOX) gets a thumbnail. The same
    /// picture again gives the stored upload back.
    pub fn create_upload(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewUpload,
    ) -> Result<Upload> {
        let filename = new.filename.trim().to_owned();
        check_chars("filename", &filename, Lines::One)?;
        let n = filename.chars().count();
        if n == 0 || n > 255 || filename.contains(['/', '\\']) {
            return Err(Error::invalid(
                "filename",
                "1 to 255 characters, without / or \\",
            ));
        }
        let viewer = self.load_viewer(actor, community)?;
        let user = viewer.require_poster()?;
        let max = viewer.config.settings.limits.upload_max_bytes as usize;
        if new.bytes.len() > max {
            return Err(Error::invalid_as(
                "file",
                crate::error::Problem::TooLong { max: max as u64 },
                format!("at most {max} bytes (got {})", new.bytes.len()),
            ));
        }
        let image = match image_info(&new.bytes) {
            Some((kind, width, height)) => {
                if u64::from(width) * u64::from(height) > MAX_UPLOAD_PIXELS {
                    return Err(Error::invalid(
                        "file",
                        format!("at most {MAX_UPLOAD_PIXELS} pixels (got {width} × {height})"),
                    ));
                }
                // Decoding takes time (and up to a few hundred MB for the
                // largest pictures): outside the write transaction.
                let image = crate::imaging::prepare(kind, &new.bytes)?;
                drop(new.bytes);
                Stored {
                    content_type: image.kind.content_type(),
                    bytes: image.bytes,
                    width: image.width,
                    height: image.height,
                    thumbnail: image.thumbnail,
                }
            }
            None => {
                let allowed = &viewer.config.settings.limits.attachments;
                match AttachmentKind::of(&new.bytes) {
                    Some(kind) if allowed.contains(&kind) => Stored {
                        content_type: kind.content_type(),
                        bytes: new.bytes,
                        width: 0,
                        height: 0,
                        thumbnail: None,
                    },
                    _ => return Err(Error::invalid("file", accepted(allowed))),
                }
            }
        };
        let sha = crate::text::hex(&Sha256::digest(&image.bytes));
        let thumb = image.thumbnail.as_ref();
        // In an object store, the bytes go first: a record never names an
        // object that is not there. (The same picture again is stored
        // again and removed below: the record kept is the first.) A member
        // past the quota is refused before anything is sent; the write
        // checks again.
        let object = match self.uploads.object_store() {
            Some(store) => {
                if !viewer.is_official() {
                    self.peek(|conn, now| {
                        check_daily_quota(conn, now, &viewer, user, &sha, image.bytes.len() as i64)
                    })?;
                }
                let key = store.new_key(community, &sha)?;
                store_objects(
                    store,
                    &key,
                    image.bytes.clone(),
                    thumb.map(|t| t.bytes.clone()),
                )?;
                Some((store, key))
            }
            None => None,
        };
        let key = object.as_ref().map(|(_, key)| key.as_str());
        let (data, thumb_data): (&[u8], Option<&[u8]>) = match key {
            Some(_) => (&[], None),
            None => (&image.bytes, thumb.map(|t| t.bytes.as_slice())),
        };
        let written = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_poster()?;
            if !viewer.is_official() {
                check_daily_quota(
                    w.tx,
                    w.now_ms(),
                    &viewer,
                    user,
                    &sha,
                    image.bytes.len() as i64,
                )?;
            }
            let inserted =
                w.tx.prepare_cached(
                    "INSERT INTO uploads (community_id, user_id, sha256, filename, content_type,
                                          width, height, size, data, created_at, thumbnail,
                                          thumbnail_width, thumbnail_height, object_key)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT (community_id, sha256) DO NOTHING",
                )?
                .execute(params![
                    community,
                    user,
                    sha,
                    filename,
                    image.content_type,
                    i64::from(image.width),
                    i64::from(image.height),
                    image.bytes.len() as i64,
                    data,
                    w.now_ms(),
                    thumb_data,
                    thumb.map(|t| i64::from(t.width)),
                    thumb.map(|t| i64::from(t.height)),
                    key,
                ])? > 0;
            let upload =
                w.tx.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM uploads WHERE community_id = ?1 AND sha256 = ?2"
                ))?
                .query_row(params![community, sha], upload_from_row)?;
            Ok((upload, inserted))
        });
        if let Some((store, key)) = &object
            && !matches!(written, Ok((_, true)))
        {
            // Refused, failed, or the community had the picture already:
            // nothing names these objects.
            remove_objects(store, key, thumb.is_some());
        }
        written.map(|(upload, _)| upload)
    }

    /// An upload and its bytes, for anyone who may read the community
    /// (`NotFound` otherwise, and for a name that names nothing).
    pub fn upload(
        &self,
        actor: &Actor,
        community: CommunityId,
        sha256: &str,
    ) -> Result<(Upload, Vec<u8>)> {
        self.upload_bytes(actor, community, sha256, false)
    }

    /// An upload and its thumbnail's bytes (the image itself when it has
    /// no thumbnail), for anyone who may read the community.
    pub fn upload_thumbnail(
        &self,
        actor: &Actor,
        community: CommunityId,
        sha256: &str,
    ) -> Result<(Upload, Vec<u8>)> {
        self.upload_bytes(actor, community, sha256, true)
    }

    fn upload_bytes(
        &self,
        actor: &Actor,
        community: CommunityId,
        sha256: &str,
        thumbnail: bool,
    ) -> Result<(Upload, Vec<u8>)> {
        let bytes = if thumbnail {
            "coalesce(thumbnail, data)"
        } else {
            "data"
        };
        let (upload, bytes, key) = self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, {bytes}, object_key FROM uploads
                 WHERE community_id = ?1 AND sha256 = ?2"
            ))?
            .query_row(params![community, sha256], |r| {
                Ok((
                    upload_from_row(r)?,
                    r.get::<_, Vec<u8>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                ))
            })
            .optional()?
            .ok_or(Error::not_found("upload"))
        })?;
        let Some(key) = key else {
            return Ok((upload, bytes));
        };
        // Outside the read: the store may be slow, the database is not
        // held for it.
        let store = self
            .uploads
            .object_store()
            .ok_or_else(|| crate::upload_store::not_configured(&key))?;
        let key = if thumbnail && upload.thumbnail.is_some() {
            thumb_key(&key)
        } else {
            key
        };
        Ok((upload, store.get(&key)?))
    }
}

/// What is kept of an upload: a picture as written anew, or an attachment
/// as sent.
struct Stored {
    content_type: &'static str,
    bytes: Vec<u8>,
    width: u32,
    height: u32,
    thumbnail: Option<crate::imaging::Thumbnail>,
}

/// What a community takes, for the error that refuses anything else:
/// "a PNG, JPEG, GIF or WebP image, or a PDF or text file".
fn accepted(attachments: &[AttachmentKind]) -> String {
    let names: Vec<&str> = attachments.iter().map(|k| k.label()).collect();
    let mut text = "a PNG, JPEG, GIF or WebP image".to_owned();
    if let Some((last, rest)) = names.split_last() {
        text.push_str(", or a ");
        if !rest.is_empty() {
            text.push_str(&rest.join(", "));
            text.push_str(" or ");
        }
        text.push_str(last);
        text.push_str(" file");
    }
    text
}

/// Stores an upload's bytes (and its thumbnail's) as `key`: both or
/// neither.
fn store_objects(
    store: &ObjectStoreUploads,
    key: &str,
    data: Vec<u8>,
    thumbnail: Option<Vec<u8>>,
) -> Result<()> {
    store.put(key, data)?;
    if let Some(t) = thumbnail
        && let Err(e) = store.put(&thumb_key(key), t)
    {
        store.delete_quietly(key);
        return Err(e);
    }
    Ok(())
}

/// Removes what [`store_objects`] stored.
fn remove_objects(store: &ObjectStoreUploads, key: &str, thumbnail: bool) {
    store.delete_quietly(key);
    if thumbnail {
        store.delete_quietly(&thumb_key(key));
    }
}

/// The object name of the thumbnail of the upload stored as `key`.
pub(crate) fn thumb_key(key: &str) -> String {
    format!("{key}-thumb")
}

/// The upload names (SHA-256, lower case) `text` refers to: after
/// `/uploads/`, `/uploads/thumbnails/` or `upload://`, in any order and
/// any number, once each.
pub(crate) fn names_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("upload") {
        let rest = &text[at + "upload".len()..];
        let Some(rest) = rest
            .strip_prefix("s/thumbnails/")
            .or_else(|| rest.strip_prefix("s/"))
            .or_else(|| rest.strip_prefix("://"))
        else {
            continue;
        };
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 64 {
            let name = rest[..64].to_ascii_lowercase();
            if !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

/// Uploads removed per [`Forum::sweep_unused_uploads`] call.
const SWEEP_BATCH: i64 = 500;

impl Forum {
    /// Removes the community's uploads nothing refers to — no post or
    /// message (whatever its state), knowledge-base article revision or
    /// member's avatar names them — once they are older than
    /// `limits.unused_upload_hours` (time to finish the post they were
    /// uploaded for). At most 500 per call; returns how many went. For the
    /// application's maintenance (no actor: it removes only what nobody
    /// can see anyway).
    pub fn sweep_unused_uploads(&self, community: CommunityId) -> Result<u64> {
        let (removed, objects) = self.write(|w| {
            let viewer = self.viewer_in(w, &Actor::System, community)?;
            let hours = i64::from(viewer.config.settings.limits.unused_upload_hours);
            let before = w.now_ms() - hours * 3_600_000;
            let candidates: Vec<(i64, String, Option<String>, bool)> = w
                .tx
                .prepare_cached(
                    "SELECT u.id, u.sha256, u.object_key, u.thumbnail_width IS NOT NULL
                     FROM uploads u
                     WHERE u.community_id = ?1 AND u.created_at < ?2
                       AND NOT EXISTS (SELECT 1 FROM post_uploads r JOIN posts p ON p.id = r.post_id
                                       WHERE r.sha256 = u.sha256 AND p.community_id = u.community_id)
                     ORDER BY u.id LIMIT ?3",
                )?
                .query_map(params![community, before, SWEEP_BATCH], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<crate::db::Result<_>>()?;
            if candidates.is_empty() {
                return Ok((0, Vec::new()));
            }
            // Avatars (any member's: accounts are shared) and articles
            // name uploads in their text; few enough to read whole.
            let mut kept = std::collections::HashSet::new();
            let mut texts = w.tx.prepare_cached(
                "SELECT avatar_url FROM users WHERE avatar_url LIKE '%upload%'
                 UNION ALL
                 SELECT r.body FROM kb_revisions r JOIN kb_articles a ON a.id = r.article_id
                 WHERE a.community_id = ?1 AND r.body LIKE '%upload%'",
            )?;
            let mut rows = texts.query(params![community])?;
            while let Some(r) = rows.next()? {
                let text: String = r.get(0)?;
                kept.extend(names_in(&text));
            }
            drop(rows);
            drop(texts);
            let mut removed = 0;
            let mut objects = Vec::new();
            for (id, sha, key, has_thumb) in candidates {
                if kept.contains(&sha) {
                    continue;
                }
                let gone = w
                    .tx
                    .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
                    .execute(params![id])? as u64;
                removed += gone;
                if gone > 0 {
                    objects.extend(key.map(|k| (k, has_thumb)));
                }
            }
            Ok((removed, objects))
        })?;
        // After the records are gone: each object was its record's alone.
        if !objects.is_empty() {
            match self.uploads.object_store() {
                Some(store) => {
                    for (key, has_thumb) in &objects {
                        remove_objects(store, key, *has_thumb);
                    }
                }
                None => tracing::warn!(
                    count = objects.len(),
                    "unused uploads in an object store this forum was opened without: \
                     their objects are left there"
                ),
            }
        }
        Ok(removed)
    }

    /// Moves the community's uploads that are kept in the database into
    /// the forum's object store ([`Config::uploads`](crate::Config::uploads)),
    /// `batch` at a time (1 to 1,000), calling `progress(moved, total)`
    /// after each batch; returns how many moved. Interrupted, it can be
    /// run again: it continues with what is left. `Invalid` (field
    /// `uploads`) when the forum has no object store. For the
    /// application's maintenance, as [`Forum::sweep_unused_uploads`].
    pub fn move_uploads_to_object_store(
        &self,
        community: CommunityId,
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64> {
        let Some(store) = self.uploads.object_store() else {
            return Err(Error::invalid(
                "uploads",
                "this forum keeps uploads in its database: open it with `Config::uploads` set \
                 to an object store first",
            ));
        };
        if !(1..=1000).contains(&batch) {
            return Err(Error::invalid_as(
                "batch",
                crate::error::Problem::Other,
                "1 to 1,000 uploads at a time",
            ));
        }
        let in_db = "FROM uploads WHERE community_id = ?1 AND object_key IS NULL";
        // `read`, not `peek`: a peek may run on the writer connection, and
        // these reads (a count, then batches of whole pictures) are long.
        let total: i64 = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(&format!("SELECT count(*) {in_db}"))?
                .query_row(params![community], |r| r.get(0))?)
        })?;
        let total = total as u64;
        let mut moved = 0u64;
        let mut after = 0i64;
        loop {
            type Row = (i64, String, Vec<u8>, Option<Vec<u8>>);
            let rows: Vec<Row> = self.read(|conn, _| {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT id, sha256, data, thumbnail {in_db} AND id > ?2 ORDER BY id LIMIT ?3"
                    ))?
                    .query_map(params![community, after, batch as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<crate::db::Result<_>>()?)
            })?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let mut stored = Vec::with_capacity(rows.len());
            for (id, sha, data, thumbnail) in rows {
                let key = store.new_key(community, &sha)?;
                let has_thumb = thumbnail.is_some();
                store_objects(store, &key, data, thumbnail)?;
                stored.push((id, key, has_thumb));
            }
            let taken = self.write(|w| {
                let mut taken = Vec::with_capacity(stored.len());
                for (id, key, _) in &stored {
                    let n =
                        w.tx.prepare_cached(
                            "UPDATE uploads SET data = ?2, thumbnail = NULL, object_key = ?3
                             WHERE id = ?1 AND object_key IS NULL",
                        )?
                        .execute(params![id, &[] as &[u8], key])?;
                    taken.push(n > 0);
                }
                Ok(taken)
            })?;
            for ((_, key, has_thumb), taken) in stored.iter().zip(taken) {
                if taken {
                    moved += 1;
                } else {
                    // Swept or moved by another process meanwhile.
                    remove_objects(store, key, *has_thumb);
                }
            }
            progress(moved, total);
        }
        Ok(moved)
    }
}

/// Refuses an upload that would take the member past the community's
/// `upload_daily_bytes` in the last 24 hours (`RateLimited`, until enough
/// of their earlier uploads leave the window). A file the community has
/// already is not counted again.
fn check_daily_quota(
    conn: &crate::db::Conn,
    now: i64,
    viewer: &crate::permissions::Viewer,
    user: crate::ids::UserId,
    sha: &str,
    size: i64,
) -> Result<()> {
    let known: bool = conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM uploads WHERE community_id = ?1 AND sha256 = ?2)",
        )?
        .query_row(params![viewer.community, sha], |r| r.get(0))?;
    if known {
        return Ok(());
    }
    let daily = i64::from(viewer.config.settings.limits.upload_daily_bytes);
    let since = now - crate::clock::DAY_MS;
    let mut stmt = conn.prepare_cached(
        "SELECT created_at, size FROM uploads
         WHERE community_id = ?1 AND user_id = ?2 AND created_at > ?3
         ORDER BY created_at LIMIT 10000",
    )?;
    let recent: Vec<(i64, i64)> = stmt
        .query_map(params![viewer.community, user, since], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<crate::db::Result<_>>()?;
    let mut used: i64 = recent.iter().map(|r| r.1).sum();
    if used + size <= daily {
        return Ok(());
    }
    // When do enough of them leave the window?
    for (at, bytes) in &recent {
        used -= bytes;
        if used + size <= daily {
            let wait = (at + crate::clock::DAY_MS - now).max(1000);
            return Err(Error::RateLimited {
                retry_after: std::time::Duration::from_millis(wait as u64),
            });
        }
    }
    Err(Error::invalid_as(
        "file",
        crate::error::Problem::TooLong { max: daily as u64 },
        format!("larger than the {daily} bytes a member may upload in a day"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG, as image tools write it.
    pub(crate) const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89,
    ];

    #[test]
    fn names_are_found_wherever_the_text_refers_to_an_upload() {
        let a = "ab".repeat(32);
        let b = "CD".repeat(32);
        let text = format!(
            "![shot](/uploads/{a}.png) and [file](https://x.example/c/uploads/thumbnails/{b}.jpeg) \
             ![again](upload://{a}.png) /uploads/{short}.png /uploads/{long}",
            short = "ab".repeat(20),
            long = "ab".repeat(40),
        );
        assert_eq!(names_in(&text), vec![a, b.to_lowercase()]);
        assert!(names_in("no uploads here, upload:// nothing").is_empty());
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(image_info(PNG), Some((Kind::Png, 3, 2)));
        let gif = b"GIF89a\x05\x00\x07\x00\x80\x00\x00";
        assert_eq!(image_info(gif), Some((Kind::Gif, 5, 7)));
        // SOI, an APP0 segment, then SOF0 with height 480 and width 640.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0xE0, 0x02, 0x80, 0x03,
        ];
        assert_eq!(image_info(&jpeg), Some((Kind::Jpeg, 640, 480)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x3F, 0x01, 0x00, 0xEF, 0x00, 0x00]);
        assert_eq!(image_info(&webp), Some((Kind::Webp, 320, 240)));
        // Names and claims don't count; truncated or empty headers are
        // not images.
        for bad in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"%PDF-1.7",
            &PNG[..20],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01],
            b"",
            b"GIF89a\x00\x00\x07\x00",
        ] {
            assert_eq!(image_info(bad), None, "{bad:?}");
        }
    }
}
