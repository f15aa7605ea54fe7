//! Backups as Discourse's admin API makes them, mapped onto the community
//! export (JSON Lines, what `Forum::import_community` reads back): `POST
//! /admin/backups.json` writes one into `WebConfig::backup_dir` in the
//! background, `GET /admin/backups.json` lists them, `PUT
//! /admin/backups/{filename}` mails the admin a single-use download link,
//! and `GET /admin/backups/{filename}?token=…` downloads with it (signed in
//! as that admin). Admins only.
//!
//! A backup is written to `<name>.part` and renamed when whole, so the
//! list never shows half a file; one backup at a time per community, in
//! every process sharing the database (a lease).

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use axum::extract::{Path, State as AxState};
use axum::response::Response;
use hearth::{Actor, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ApiResult, ok, success};
use crate::error::{ApiError, Error};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// The file name's ending.
const EXTENSION: &str = ".jsonl";
/// How long the backup lease lasts before it must be renewed.
const LEASE: Duration = Duration::from_secs(120);

/// One backup as listed.
#[derive(Debug, Serialize)]
struct Backup {
    filename: String,
    size: u64,
    last_modified: String,
}

fn dir(s: &AppState) -> Result<&FsPath, Error> {
    s.config.backup_dir.as_deref().ok_or_else(|| {
        Error::Engine(hearth::Error::Conflict {
            reason: "backups are off here: the embedder sets WebConfig::backup_dir".into(),
        })
    })
}

fn admin(s: &AppState, actor: &Actor) -> Result<UserId, Error> {
    crate::admin::require_admin(s, actor)?;
    match actor {
        Actor::User(u) => Ok(*u),
        // The application (a global key without a user) has no inbox.
        _ => Err(Error::BadRequest(
            "backups are for an admin: name one with Api-Username".into(),
        )),
    }
}

/// Backups of this community in `dir`, newest first.
fn list_in(dir: &FsPath, slug: &str) -> Result<Vec<Backup>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(&format!("{slug}-")) && name.ends_with(EXTENSION)) {
            continue;
        }
        let meta = entry.metadata()?;
        let modified = meta
            .modified()
            .map(OffsetDateTime::from)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        out.push((
            modified,
            Backup {
                filename: name,
                size: meta.len(),
                last_modified: modified.format(&Rfc3339).unwrap_or_default(),
            },
        ));
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.filename.cmp(&a.1.filename)));
    Ok(out.into_iter().map(|(_, b)| b).collect())
}

/// The path of a listed backup: the name must be one of the list's (no
/// path can be smuggled in).
fn listed(s: &AppState, filename: &str) -> Result<PathBuf, Error> {
    let dir = dir(s)?;
    let slug = s.community()?.slug.clone();
    if list_in(dir, &slug)?.iter().any(|b| b.filename == filename) {
        Ok(dir.join(filename))
    } else {
        Err(Error::Engine(hearth::Error::NotFound { what: "backup" }))
    }
}

/// `GET /admin/backups.json` (`getBackups`).
pub(crate) async fn list(AxState(state): AxState<State>, v: Visitor) -> ApiResult {
    let backups = state
        .run(move |s| {
            crate::admin::require_admin(s, &v.actor)?;
            let slug = s.community()?.slug.clone();
            match &s.config.backup_dir {
                Some(d) => list_in(d, &slug),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    ok(serde_json::to_value(backups).map_err(|e| Error::Internal(e.to_string()))?)
}

/// Writes one backup now (on the calling thread); returns its file name.
fn write_backup(s: &AppState, actor: &Actor) -> Result<String, Error> {
    let dir = dir(s)?.to_path_buf();
    std::fs::create_dir_all(&dir)?;
    let slug = s.community()?.slug.clone();
    let c = s.config.community;
    let lease = s
        .forum
        .lease(&format!("backup:{}", c.0), LEASE)?
        .ok_or_else(|| {
            Error::Engine(hearth::Error::Conflict {
                reason: "a backup is being written; try again when it is done".into(),
            })
        })?;
    let stamp = time::macros::format_description!("[year]-[month]-[day]-[hour][minute][second]");
    let now = s.forum.now();
    let name = format!(
        "{slug}-{}{EXTENSION}",
        now.format(&stamp).unwrap_or_default()
    );
    let part = dir.join(format!("{name}.part"));
    let result = (|| {
        let file = std::fs::File::create(&part)?;
        let mut out = std::io::BufWriter::new(file);
        let mut renewed = std::time::Instant::now();
        let report = s
            .forum
            .export_community(actor, c, &mut out, &mut |done, total| {
                if renewed.elapsed() >= LEASE / 4 {
                    let _ = s.forum.renew_lease(&lease, LEASE);
                    renewed = std::time::Instant::now();
                }
                tracing::debug!(done, total, "backup");
            })?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&part, dir.join(&name))?;
        tracing::info!(file = %name, lines = report.lines, "backup written");
        Ok::<_, Error>(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    if let Err(e) = s.forum.release_lease(lease) {
        tracing::warn!(error = %e, "could not release the backup lease; it lapses by itself");
    }
    result.map(|()| name)
}

/// `POST /admin/backups.json` (`createBackup`): starts a backup and
/// answers at once; it appears in the list when whole. `with_uploads` is
/// accepted (Hearth has no uploads yet).
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let _with_uploads = params.bool("with_uploads").unwrap_or(false);
    // Refuse what can be refused before answering.
    state
        .run(move |s| {
            admin(s, &actor)?;
            dir(s)?;
            Ok(())
        })
        .await?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_backup(&st, &actor) {
            tracing::warn!(error = %e, "backup failed");
        }
    });
    success()
}

/// `PUT /admin/backups/{filename}` (`sendDownloadBackupEmail`): mails the
/// admin a single-use link to download it.
pub(crate) async fn send_link(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(filename): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let ip = v.ip.to_string();
    state
        .run(move |s| {
            let user = admin(s, &actor)?;
            listed(s, &filename)?;
            crate::mailed_links::request_backup_link(s, &ip, user, &filename)
        })
        .await?;
    success()
}

/// `GET /admin/backups/{filename}?token=…` (`downloadBackup`): the file,
/// to the admin the link was mailed to, signed in; the link works once.
pub(crate) async fn download(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(filename): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let token = params.need("token")?;
    let actor = v.actor;
    let path = state
        .run(move |s| {
            let user = admin(s, &actor)?;
            let path = listed(s, &filename)?;
            if !crate::mailed_links::take_backup_link(s, &token, user, &filename)? {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "this download link is not yours, was used, or has expired: ask for a new one".into(),
                }));
            }
            Ok(path)
        })
        .await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let body = crate::export::stream_blocking("backup download", move |out| {
        let mut file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        std::io::copy(&mut file, out)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    Ok(crate::export::jsonl_attachment(body, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_community_s_whole_backups_are_listed_newest_first() {
        let dir = tempfile::tempdir().expect("dir");
        for (name, age) in [
            ("acme-2026-12-01-100000.jsonl", 20),
            ("acme-2026-12-02-100000.jsonl", 10),
            ("acme-2026-12-03-100000.jsonl.part", 0),
            ("other-2026-12-02-100000.jsonl", 0),
            ("acme-notes.txt", 0),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, b"{}\n").expect("write");
            let when = std::time::SystemTime::now() - Duration::from_secs(age);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(when))
                .expect("mtime");
        }
        let names: Vec<String> = list_in(dir.path(), "acme")
            .expect("list")
            .into_iter()
            .map(|b| b.filename)
            .collect();
        assert_eq!(
            names,
            [
                "acme-2026-12-02-100000.jsonl",
                "acme-2026-12-01-100000.jsonl"
            ]
        );
        assert!(
            list_in(&dir.path().join("missing"), "acme")
                .expect("empty")
                .is_empty()
        );
    }
}
