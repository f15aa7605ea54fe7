//! Uploads as Discourse's API takes them: `POST /uploads.json`
//! (multipart: `file`, `upload_type`, `synchronous`) stores a picture or
//! an attachment and answers its URL, `/uploads/{sha256}.{extension}`,
//! which serves it to whoever may read the community — with its own type,
//! never sniffed, and a policy that runs nothing in it; an attachment only
//! as a download under a name that fits what it is;
//! `/uploads/thumbnails/…` serves a picture's thumbnail.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth::Upload;
use serde::Serialize;

use super::shape::Null;
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// What `POST /uploads.json` answers.
#[derive(Serialize)]
struct UploadShape {
    id: i64,
    url: String,
    original_filename: String,
    filesize: u64,
    width: u32,
    height: u32,
    thumbnail_width: u32,
    thumbnail_height: u32,
    extension: String,
    short_url: String,
    short_path: String,
    retain_hours: Null,
    human_filesize: String,
    dominant_color: Null,
    thumbnail: Null,
    optimized_video: Null,
}

/// `1.2 MB`, `340 KB`, `12 Bytes`, as Discourse writes sizes.
fn human(size: u64) -> String {
    match size {
        0..1024 => format!("{size} Bytes"),
        1024..1_048_576 => format!("{} KB", size / 1024),
        _ => format!("{:.1} MB", size as f64 / 1_048_576.0),
    }
}

pub(crate) fn path_of(s: &AppState, u: &Upload) -> String {
    s.url(&format!("/uploads/{}.{}", u.sha256, u.extension()))
}

/// The Markdown that shows an upload in a post: the picture, or a link
/// to the attachment (named as uploaded, without what would end the link
/// text).
pub(crate) fn markdown_of(s: &AppState, u: &Upload) -> String {
    let text: String = u
        .filename
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '\\'))
        .collect();
    let bang = if u.is_image() { "!" } else { "" };
    format!("{bang}[{text}]({})", path_of(s, u))
}

/// Where a member's avatar is served once it is `u`: its thumbnail.
/// `Invalid` (field `file`) for an attachment: an avatar is a picture.
pub(crate) fn avatar_path_of(s: &AppState, u: &Upload) -> Result<String, hearth::Error> {
    if !u.is_image() {
        return Err(hearth::Error::Invalid {
            field: "file",
            reason: "an avatar is a picture: PNG, JPEG, GIF or WebP".into(),
            problem: hearth::Problem::Other,
        });
    }
    Ok(thumbnail_path_of(s, u))
}

/// Where the upload's thumbnail is served (the image itself when it is
/// small enough to need none).
pub(crate) fn thumbnail_path_of(s: &AppState, u: &Upload) -> String {
    match u.thumbnail {
        Some(_) => s.url(&format!(
            "/uploads/thumbnails/{}.{}",
            u.sha256,
            u.extension()
        )),
        None => path_of(s, u),
    }
}

fn shape(s: &AppState, u: &Upload) -> UploadShape {
    let path = path_of(s, u);
    let origin = crate::pages::origin(s).unwrap_or_default();
    UploadShape {
        id: u.id,
        url: format!("{origin}{path}"),
        original_filename: u.filename.clone(),
        filesize: u.size,
        width: u.width,
        height: u.height,
        thumbnail_width: u.thumbnail.map_or(u.width, |t| t.0),
        thumbnail_height: u.thumbnail.map_or(u.height, |t| t.1),
        extension: u.extension().to_owned(),
        short_url: format!("upload://{}.{}", u.sha256, u.extension()),
        short_path: path,
        retain_hours: None,
        human_filesize: human(u.size),
        dominant_color: None,
        thumbnail: None,
        optimized_video: None,
    }
}

/// `POST /uploads.json` (`createUpload`): a member's image for a post
/// (`upload_type` `composer`; `avatar` sets it as theirs too).
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    mut params: Params,
) -> Result<Response, ApiError> {
    let file = params.file.take();
    let actor = params.writer(&v)?;
    let kind = params.need("upload_type")?;
    if !matches!(kind.as_str(), "composer" | "avatar") {
        return Err(Error::BadRequest(format!(
            "upload_type {kind:?}: composer or avatar (Hearth has no profile backgrounds, cards or custom emoji)"
        ))
        .into());
    }
    let file = file.ok_or_else(|| Error::BadRequest("param is missing: file".into()))?;
    let shaped = state
        .run(move |s| {
            let c = s.config.community;
            let upload = s.forum.create_upload(&actor, c, file)?;
            if kind == "avatar" {
                let hearth::Actor::User(me) = actor else {
                    return Err(Error::BadRequest(
                        "an avatar is someone's: name them".into(),
                    ));
                };
                let update = hearth::ProfileUpdate {
                    avatar_url: Some(avatar_path_of(s, &upload)?),
                    ..hearth::ProfileUpdate::default()
                };
                s.forum.update_profile(&actor, me, update)?;
            }
            Ok(shape(s, &upload))
        })
        .await?;
    Ok(json_response(StatusCode::OK, &shaped))
}

/// `GET /uploads/{sha256}.{extension}`: the image, to whoever may read the
/// community.
pub(crate) async fn serve(
    state: AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    serve_bytes(state, v, name, false).await
}

/// `GET /uploads/thumbnails/{sha256}.{extension}`: its thumbnail (the
/// image itself when it has none).
pub(crate) async fn serve_thumbnail(
    state: AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    serve_bytes(state, v, name, true).await
}

async fn serve_bytes(
    AxState(state): AxState<State>,
    v: Visitor,
    name: String,
    thumbnail: bool,
) -> Result<Response, ApiError> {
    let (sha, ext) = name
        .rsplit_once('.')
        .ok_or(Error::Engine(hearth::Error::NotFound { what: "upload" }))?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Engine(hearth::Error::NotFound { what: "upload" }).into());
    }
    let (sha, ext) = (sha.to_ascii_lowercase(), ext.to_owned());
    let (upload, bytes, public) = state
        .run(move |s| {
            let c = s.config.community;
            let (upload, bytes) = if thumbnail {
                s.forum.upload_thumbnail(&v.actor, c, &sha)?
            } else {
                s.forum.upload(&v.actor, c, &sha)?
            };
            if upload.extension() != ext {
                return Err(Error::Engine(hearth::Error::NotFound { what: "upload" }));
            }
            let public = s.community()?.settings.public_access;
            Ok((upload, bytes, public))
        })
        .await?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    let content_type = match upload.content_type.as_str() {
        "text/plain" => "text/plain; charset=utf-8".to_owned(),
        t => t.to_owned(),
    };
    if let Ok(t) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, t);
    }
    // A picture is shown in the page, never run, and saved under a name
    // made of the content's; an attachment is only ever a download, under
    // the name it was uploaded with (its extension made to fit).
    let disposition = if upload.is_image() {
        format!(
            "inline; filename=\"{}.{}\"",
            &upload.sha256[..16],
            upload.extension()
        )
    } else {
        attachment_disposition(&upload.download_name())
    };
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    // The bytes never change (they are their own name); a private
    // community's stay out of shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public {
            "public, max-age=31536000, immutable"
        } else {
            "private, max-age=31536000, immutable"
        }),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII
/// stand-in for old clients (anything but letters, digits, `.`, `-` and
/// `_` becomes `_`), and the name itself percent-encoded.
fn attachment_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_cannot_break_out_of_the_header() {
        assert_eq!(
            attachment_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            attachment_disposition("a\"b; c=d 1é.txt"),
            "attachment; filename=\"a_b__c_d_1_.txt\"; filename*=UTF-8''a%22b%3B%20c%3Dd%201%C3%A9.txt"
        );
    }

    #[test]
    fn sizes_read_as_discourse_writes_them() {
        assert_eq!(human(12), "12 Bytes");
        assert_eq!(human(340 * 1024), "340 KB");
        assert_eq!(human(1_258_291), "1.2 MB");
    }
}
