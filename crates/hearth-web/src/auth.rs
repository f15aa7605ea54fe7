//! Who is asking: password rules and new accounts (the hashing itself is
//! in `password`), session cookies, API keys and CSRF tokens.
//!
//! Secrets are never stored: sessions and API keys are random 32-byte
//! tokens kept as SHA-256 digests in the engine's extension storage
//! (namespace `hearth-web`, per community), passwords as argon2id PHC
//! strings in the engine's `logins`.

use std::time::Duration;

use hearth::{Actor, CommunityId, ExtOp, Forum, NewLogin, NewUser, User, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::password::hash_password;

/// The extension namespace the web layer keeps its records in.
pub(crate) const NAMESPACE: &str = "hearth-web";

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password (argon2 would take any length; this bounds
/// the work a request can cause).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A random token as 64 hex digits.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    Ok(hex(&bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of a token, in hex: what is stored instead of the token.
pub(crate) fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks a new password against the length rules.
pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        let problem = if password.len() > MAX_PASSWORD_BYTES {
            hearth::Problem::TooLong {
                max: MAX_PASSWORD_BYTES as u64,
            }
        } else {
            hearth::Problem::TooShort {
                min: MIN_PASSWORD_CHARS as u64,
            }
        };
        return Err(Error::Engine(hearth::Error::Invalid {
            field: "password",
            problem,
            reason: format!(
                "must be at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
            ),
        }));
    }
    Ok(())
}

/// Creates an account that can sign in: validates the password, hashes it
/// and stores user and credentials in one transaction.
pub fn create_account(
    forum: &Forum,
    username: &str,
    display_name: &str,
    email: &str,
    password: &str,
) -> Result<User> {
    new_account(forum, username, display_name, email, password, true)
}

/// [`create_account`], with the address confirmed or waiting for the
/// member to follow a mailed link (`confirmed` false).
pub(crate) fn new_account(
    forum: &Forum,
    username: &str,
    display_name: &str,
    email: &str,
    password: &str,
    confirmed: bool,
) -> Result<User> {
    hearth::validate_username(username)?;
    check_password(password)?;
    let user = NewUser {
        username: username.to_string(),
        display_name: display_name.to_string(),
    };
    let login = NewLogin {
        email: email.to_string(),
        password_hash: hash_password(password)?,
        confirmed,
    };
    Ok(forum.create_account(user, login)?)
}

/// A signed-in browser session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub user: UserId,
    pub csrf: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Unix milliseconds (0 for sessions started before it was kept).
    #[serde(default)]
    pub created_at: i64,
    /// The address it was started from.
    #[serde(default)]
    pub ip: String,
}

/// One of a member's sessions, as listed to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionInfo {
    /// Names it in "sign out" forms: the first 16 hex digits of the
    /// token's digest (not the token).
    pub id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// The address it was started from.
    pub ip: String,
}

/// The forum's clock, in Unix milliseconds.
pub(crate) fn now_ms(forum: &Forum) -> i64 {
    (forum.now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Starts a session; returns the cookie token (only its digest is stored)
/// and lists it among the member's sessions.
pub(crate) fn start_session(
    forum: &Forum,
    community: CommunityId,
    user: UserId,
    ttl: Duration,
    ip: &str,
) -> Result<(String, Session)> {
    let token = random_token()?;
    let now = now_ms(forum);
    let session = Session {
        user,
        csrf: random_token()?,
        expires_at: now + ttl.as_millis() as i64,
        created_at: now,
        ip: ip.to_string(),
    };
    let d = digest(&token);
    let info = SessionInfo {
        id: d[..16].to_string(),
        created_at: now,
        expires_at: session.expires_at,
        ip: ip.to_string(),
    };
    forum.ext_apply(
        NAMESPACE,
        Some(community),
        &[
            ExtOp::Put {
                key: format!("session/{d}"),
                value: to_json(&session)?,
            },
            ExtOp::Put {
                key: format!("usersession/{}/{d}", user.0),
                value: to_json(&info)?,
            },
        ],
    )?;
    Ok((token, session))
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Internal(e.to_string()))
}

/// Sessions of `user` started before this (Unix ms) are void: set when
/// the password changes or the member signs out everywhere else.
fn sessions_after(forum: &Forum, community: CommunityId, user: UserId) -> Result<i64> {
    Ok(forum
        .ext_get(
            NAMESPACE,
            Some(community),
            &format!("sessions-after/{}", user.0),
        )?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0))
}

/// The live session for a cookie token, if any.
pub(crate) fn find_session(
    forum: &Forum,
    community: CommunityId,
    token: &str,
) -> Result<Option<Session>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(raw) = forum.ext_get(
        NAMESPACE,
        Some(community),
        &format!("session/{}", digest(token)),
    )?
    else {
        return Ok(None);
    };
    let session: Session = match serde_json::from_slice(&raw) {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    if session.expires_at <= now_ms(forum)
        || session.created_at < sessions_after(forum, community, session.user)?
    {
        return Ok(None);
    }
    Ok(Some(session))
}

/// Ends the session of a cookie token.
pub(crate) fn end_session(forum: &Forum, community: CommunityId, token: &str) -> Result<()> {
    let d = digest(token);
    let user = forum
        .ext_get(NAMESPACE, Some(community), &format!("session/{d}"))?
        .and_then(|raw| serde_json::from_slice::<Session>(&raw).ok())
        .map(|s| s.user);
    let mut ops = vec![ExtOp::Delete {
        key: format!("session/{d}"),
    }];
    if let Some(u) = user {
        ops.push(ExtOp::Delete {
            key: format!("usersession/{}/{d}", u.0),
        });
    }
    forum.ext_apply(NAMESPACE, Some(community), &ops)?;
    Ok(())
}

/// A member's live sessions, newest first, with the digest each is stored
/// under.
pub(crate) fn list_sessions(
    forum: &Forum,
    community: CommunityId,
    user: UserId,
) -> Result<Vec<(String, SessionInfo)>> {
    let prefix = format!("usersession/{}/", user.0);
    let after = sessions_after(forum, community, user)?;
    let now = now_ms(forum);
    let mut out = Vec::new();
    let mut from = String::new();
    loop {
        let page = forum.ext_list(NAMESPACE, Some(community), &prefix, &from, 200)?;
        let Some((last, _)) = page.last() else { break };
        from = last.clone();
        for (k, v) in &page {
            if let Ok(info) = serde_json::from_slice::<SessionInfo>(v)
                && info.expires_at > now
                && info.created_at >= after
            {
                out.push((k[prefix.len()..].to_string(), info));
            }
        }
        if page.len() < 200 {
            break;
        }
    }
    out.sort_by_key(|(_, i)| std::cmp::Reverse(i.created_at));
    Ok(out)
}

/// Ends one of a member's sessions by its listed id.
pub(crate) fn end_session_by_id(
    forum: &Forum,
    community: CommunityId,
    user: UserId,
    id: &str,
) -> Result<()> {
    let Some((d, _)) = list_sessions(forum, community, user)?
        .into_iter()
        .find(|(_, i)| i.id == id)
    else {
        return Err(hearth::Error::NotFound { what: "session" }.into());
    };
    forum.ext_apply(
        NAMESPACE,
        Some(community),
        &[
            ExtOp::Delete {
                key: format!("session/{d}"),
            },
            ExtOp::Delete {
                key: format!("usersession/{}/{d}", user.0),
            },
        ],
    )?;
    Ok(())
}

/// Ends every session of `user` (listed or not, older ones too), e.g.
/// after a password change; the caller starts a fresh one for the browser
/// that asked.
pub(crate) fn end_all_sessions(forum: &Forum, community: CommunityId, user: UserId) -> Result<()> {
    let mut ops: Vec<ExtOp> = list_sessions(forum, community, user)?
        .into_iter()
        .flat_map(|(d, _)| {
            [
                ExtOp::Delete {
                    key: format!("session/{d}"),
                },
                ExtOp::Delete {
                    key: format!("usersession/{}/{d}", user.0),
                },
            ]
        })
        .collect();
    // Sessions started before their listing existed are voided by time.
    ops.push(ExtOp::Put {
        key: format!("sessions-after/{}", user.0),
        value: now_ms(forum).to_string().into_bytes(),
    });
    forum.ext_apply(NAMESPACE, Some(community), &ops)?;
    Ok(())
}

/// An API key as listed to admins (the key itself is shown once, at
/// creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The first 8 hex digits of the key's digest; names it in lists and
    /// in [`Web::revoke_api_key`](crate::Web::revoke_api_key).
    pub id: String,
    /// The user it acts as; `None` for a global key that acts as any user
    /// named in `Api-Username` (like Discourse's "All users" keys).
    pub user: Option<UserId>,
    /// What it is for.
    pub description: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once revoked.
    pub revoked_at: Option<i64>,
    /// What the key may do ([`API_SCOPES`]); empty means everything
    /// (`global`, Discourse's default).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Unix milliseconds of the last request made with it (kept to the
    /// minute; written with the page views, about once a second, under a
    /// key of its own so that recording a use never rewrites the key).
    #[serde(default)]
    pub last_used_at: Option<i64>,
}

/// Where a key's last use is kept, beside (never inside) its record: a
/// use recorded from a request must not write back a record that a
/// revocation changed meanwhile.
const KEY_USED: &str = "apikey-used/";

/// The scopes an API key may be limited to, after Discourse's scope
/// groups: `(scope, what it allows)`.
pub const API_SCOPES: &[(&str, &str)] = &[
    ("global", "everything"),
    ("read", "every GET: lists, topics, posts, search, users"),
    (
        "topics:read",
        "GET lists, categories, topics, posts and search",
    ),
    (
        "topics:write",
        "create topics and replies (POST /posts.json), topic status and notifications",
    ),
    ("posts:edit", "edit posts (PUT /posts/{id})"),
    ("posts:delete", "delete posts (DELETE /posts/{id})"),
    ("likes", "like, unlike and flag (post_actions)"),
    ("users:read", "GET user profiles, badges and the directory"),
    ("users:write", "create users (POST /users.json)"),
    ("notifications", "read notifications and mark them read"),
];

/// Checks scope names; the normalised list.
pub(crate) fn parse_scopes(text: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !API_SCOPES.iter().any(|(name, _)| *name == s) {
            return Err(hearth::Error::Invalid {
                field: "scopes",
                problem: hearth::Problem::Other,
                reason: format!(
                    "unknown scope {s:?}; use {}",
                    API_SCOPES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
            .into());
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.iter().any(|s| s == "global") {
        out.clear();
    }
    Ok(out)
}

/// The scope a request needs, from its method and path (below the mount
/// point, `.json` or not).
fn scope_for(method: &axum::http::Method, path: &str) -> &'static str {
    use axum::http::Method;
    let p = path.trim_end_matches(".json");
    let under = |prefix: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
    match *method {
        Method::GET | Method::HEAD => {
            if under("/u")
                || under("/users")
                || under("/user_badges")
                || under("/user-badges")
                || under("/directory_items")
            {
                "users:read"
            } else if under("/notifications") {
                "notifications"
            } else {
                "topics:read"
            }
        }
        Method::PUT if under("/posts") => "posts:edit",
        Method::DELETE if under("/posts") => "posts:delete",
        _ if under("/post_actions") => "likes",
        Method::POST if under("/users") => "users:write",
        _ if under("/notifications") => "notifications",
        _ if under("/posts") || under("/t") || under("/category") => "topics:write",
        // Anything else (admin, plugins, pages' forms) needs a global key.
        _ => "global",
    }
}

/// Whether a key with `scopes` may make this request; `Err` names the
/// scope it lacks.
pub(crate) fn check_scope(
    scopes: &[String],
    method: &axum::http::Method,
    path: &str,
) -> Result<()> {
    if scopes.is_empty() {
        return Ok(());
    }
    let needed = scope_for(method, path);
    let read = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
    if scopes.iter().any(|s| s == needed || (read && s == "read")) {
        Ok(())
    } else {
        Err(Error::ApiScope {
            needed,
            has: scopes.join(", "),
        })
    }
}

/// Creates an API key; returns the key (shown once) and its record.
pub(crate) fn create_api_key(
    forum: &Forum,
    community: CommunityId,
    user: Option<UserId>,
    description: &str,
    scopes: Vec<String>,
) -> Result<(String, ApiKey)> {
    let key = random_token()?;
    let d = digest(&key);
    let record = ApiKey {
        id: d[..8].to_string(),
        user,
        description: description.chars().take(200).collect(),
        created_at: now_ms(forum),
        revoked_at: None,
        scopes,
        last_used_at: None,
    };
    put_api_key(forum, community, &d, &record)?;
    Ok((key, record))
}

fn put_api_key(forum: &Forum, community: CommunityId, digest: &str, key: &ApiKey) -> Result<()> {
    let value = serde_json::to_vec(key).map_err(|e| Error::Internal(e.to_string()))?;
    forum.ext_apply(
        NAMESPACE,
        Some(community),
        &[ExtOp::Put {
            key: format!("apikey/{digest}"),
            value,
        }],
    )?;
    Ok(())
}

/// Every API key of the community, with the digest each is stored under.
pub(crate) fn list_api_keys(
    forum: &Forum,
    community: CommunityId,
) -> Result<Vec<(String, ApiKey)>> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = forum.ext_list(NAMESPACE, Some(community), "apikey/", &after, 200)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (k, v) in &page {
            if let Ok(key) = serde_json::from_slice::<ApiKey>(v) {
                out.push((k["apikey/".len()..].to_string(), key));
            }
        }
        if page.len() < 200 {
            break;
        }
    }
    Ok(out)
}

/// [`list_api_keys`] with each key's last use (read from its own records;
/// only what shows keys to an admin needs it).
pub(crate) fn api_keys_with_last_use(
    forum: &Forum,
    community: CommunityId,
) -> Result<Vec<(String, ApiKey)>> {
    let mut out = list_api_keys(forum, community)?;
    let mut used = Vec::with_capacity(out.len());
    for chunk in out.chunks(hearth::MAX_EXT_KEYS_READ) {
        let keys: Vec<String> = chunk
            .iter()
            .map(|(d, _)| format!("{KEY_USED}{d}"))
            .collect();
        used.extend(forum.ext_get_many(NAMESPACE, Some(community), &keys)?);
    }
    for ((_, key), used) in out.iter_mut().zip(used) {
        let used = used
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse::<i64>().ok());
        key.last_used_at = key.last_used_at.max(used);
    }
    Ok(out)
}

/// Writes the last use of each key in `uses` (digest → Unix ms) in one
/// transaction.
pub(crate) fn record_key_uses(
    forum: &Forum,
    community: CommunityId,
    uses: &std::collections::HashMap<String, i64>,
) -> Result<()> {
    let ops: Vec<ExtOp> = uses
        .iter()
        .map(|(d, at)| ExtOp::Put {
            key: format!("{KEY_USED}{d}"),
            value: at.to_string().into_bytes(),
        })
        .collect();
    forum.ext_apply(NAMESPACE, Some(community), &ops)?;
    Ok(())
}

/// Ends a member's access here: every session and every API key of
/// theirs (after deactivating, anonymizing or deleting them).
pub(crate) fn end_all_access(forum: &Forum, community: CommunityId, user: UserId) -> Result<()> {
    end_all_sessions(forum, community, user)?;
    for (d, mut key) in list_api_keys(forum, community)? {
        if key.user == Some(user) && key.revoked_at.is_none() {
            key.revoked_at = Some(now_ms(forum));
            put_api_key(forum, community, &d, &key)?;
        }
    }
    Ok(())
}

/// Revokes the key whose id is `id`.
pub(crate) fn revoke_api_key(forum: &Forum, community: CommunityId, id: &str) -> Result<()> {
    let Some((d, mut key)) = list_api_keys(forum, community)?
        .into_iter()
        .find(|(_, k)| k.id == id)
    else {
        return Err(hearth::Error::NotFound { what: "api key" }.into());
    };
    if key.revoked_at.is_none() {
        key.revoked_at = Some(now_ms(forum));
        put_api_key(forum, community, &d, &key)?;
    }
    Ok(())
}

/// The actor an `Api-Key` / `Api-Username` pair stands for, and the key's
/// scopes. The key's use is handed to `used` (its digest) for the views'
/// flusher to record: a read never waits for the database's write lock.
pub(crate) fn api_actor(
    forum: &Forum,
    community: CommunityId,
    key: &str,
    username: Option<&str>,
    used: impl FnOnce(&str),
) -> Result<(Actor, Vec<String>)> {
    let d = digest(key.trim());
    let raw = forum
        .ext_get(NAMESPACE, Some(community), &format!("apikey/{d}"))?
        .ok_or(Error::BadApiKey)?;
    let record: ApiKey = serde_json::from_slice(&raw).map_err(|_| Error::BadApiKey)?;
    if record.revoked_at.is_some() {
        return Err(Error::BadApiKey);
    }
    let username = username.map(str::trim).filter(|u| !u.is_empty());
    let actor = match (record.user, username) {
        // A user's key acts as that user; a username, if sent, must match.
        (Some(user), None) => Actor::User(user),
        (Some(user), Some(name)) => {
            let named = forum.user_by_username(name).map_err(|_| Error::BadApiKey)?;
            if named.id != user {
                return Err(Error::BadApiKey);
            }
            Actor::User(user)
        }
        // A global key acts as the application (no name), the community's
        // system user (`system`, as on Discourse: it posts and moderates as
        // an admin shown as "system"), or the named user.
        (None, None) => Actor::System,
        (None, Some(name)) if name.eq_ignore_ascii_case(hearth::SYSTEM_USERNAME) => {
            Actor::User(forum.system_user(community)?.id)
        }
        (None, Some(name)) => {
            let named = forum.user_by_username(name).map_err(|_| Error::BadApiKey)?;
            Actor::User(named.id)
        }
    };
    used(&d);
    Ok((actor, record.scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_boundaries() {
        assert!(check_password(&"a".repeat(MIN_PASSWORD_CHARS - 1)).is_err());
        assert!(check_password(&"a".repeat(MIN_PASSWORD_CHARS)).is_ok());
        assert!(check_password(&"a".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert!(check_password(&"a".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
