//! DiscourseConnect, consumer side: the embedding product signs its users
//! in, so the product's accounts are the community's accounts.
//!
//! ```text
//!  browser              Hearth                         product (provider)
//!     │ GET /session/sso  │                                    │
//!     │──────────────────▶│ nonce (single use, expires)        │
//!     │ 302 url?sso=…&sig=…                                    │
//!     │──────────────────────────────────────────────────────▶│ signs the user in
//!     │ 302 /session/sso_login?sso=…&sig=… (external_id, email…)│
//!     │──────────────────▶│ sig checked, nonce taken,          │
//!     │                   │ account linked or made, synced     │
//!     │ 302 return_path + session cookie                       │
//! ```
//!
//! Payloads are query strings in Base64, signed with HMAC-SHA256 of the
//! Base64 text under the shared secret (hex). What the provider sends is
//! kept in step at every sign-in: name, avatar, admin/moderator (when
//! sent), groups (`groups` as the full list, or `add_groups` /
//! `remove_groups`; names Hearth has no group for are ignored). Password
//! sign-in and self sign-up are off while DiscourseConnect is on.

use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hearth::{Actor, ExtOp, ExternalAccount, Role, UserId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::{self, NAMESPACE};
use crate::error::{Error, PageError, Result};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// The provider name external ids are kept under.
pub const DISCOURSE_CONNECT: &str = "discourse_connect";

/// Shortest shared secret accepted (Discourse's minimum).
pub const MIN_SECRET_BYTES: usize = 10;

/// Longest `sso` payload accepted, in bytes.
const MAX_PAYLOAD: usize = 16 * 1024;

/// Expired nonces removed per new sign-in (bounded work per request).
const PRUNE: usize = 50;

/// DiscourseConnect settings: where the product signs users in and the
/// secret both sides share.
#[derive(Debug, Clone)]
pub struct DiscourseConnect {
    /// The product's endpoint (Discourse's `discourse_connect_url`).
    pub url: String,
    /// The shared secret.
    pub secret: String,
    /// Where members go after signing out here (Discourse's
    /// `logout_redirect`); `None`: the home page.
    pub logout_url: Option<String>,
    /// How long a sign-in may take at the product (default 10 minutes).
    pub nonce_ttl: Duration,
}

impl DiscourseConnect {
    /// Checks the endpoint (`http(s)://…`) and the secret (at least
    /// [`MIN_SECRET_BYTES`]).
    pub fn new(url: &str, secret: &str) -> Result<DiscourseConnect> {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::Config(format!(
                "DiscourseConnect url {url:?}: an http(s):// address"
            )));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::Config(format!(
                "DiscourseConnect secret: at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        Ok(DiscourseConnect {
            url: url.to_string(),
            secret: secret.to_string(),
            logout_url: None,
            nonce_ttl: Duration::from_secs(600),
        })
    }

    /// The hex HMAC-SHA256 of `payload` under the secret.
    pub fn sign(&self, payload: &str) -> String {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(payload.as_bytes());
        auth::hex(&mac.finalize().into_bytes())
    }

    /// `fields` as a signed payload: (`sso`, `sig`).
    pub fn encode(&self, fields: &[(&str, &str)]) -> (String, String) {
        let query = serde_urlencoded::to_string(fields).unwrap_or_default();
        let sso = STANDARD.encode(query);
        let sig = self.sign(&sso);
        (sso, sig)
    }

    /// The fields of a payload whose signature is right.
    pub fn decode(&self, sso: &str, sig: &str) -> Result<Vec<(String, String)>> {
        if sso.len() > MAX_PAYLOAD {
            return Err(Error::BadRequest(format!(
                "sso: at most {MAX_PAYLOAD} bytes"
            )));
        }
        if !auth::same(&self.sign(sso), &sig.to_ascii_lowercase()) {
            return Err(refused(
                "the sign-in's signature is wrong: check that both sides share the same secret",
            ));
        }
        // Ruby's Base64.encode64 breaks lines: ignore whitespace.
        let compact: String = sso.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD
            .decode(compact)
            .map_err(|_| Error::BadRequest("sso: not Base64".into()))?;
        let text = String::from_utf8(bytes).map_err(|_| Error::InvalidUtf8 { part: "sso" })?;
        serde_urlencoded::from_str(&text)
            .map_err(|_| Error::BadRequest("sso: not a query string".into()))
    }
}

fn refused(reason: &str) -> Error {
    Error::Engine(hearth::Error::Forbidden {
        reason: reason.into(),
    })
}

/// What a nonce remembers.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    return_path: String,
    /// Unix milliseconds.
    expires_at: i64,
}

fn config(s: &AppState) -> Result<&DiscourseConnect> {
    s.config
        .discourse_connect
        .as_ref()
        .ok_or(Error::Engine(hearth::Error::NotFound { what: "page" }))
}

/// `GET /session/sso?return_path=…`: off to the product.
///
/// The address the product returns to is built from the configured
/// origin only, never from the request's `Host`: otherwise anyone could
/// have a nonce signed for a return address of theirs, send a member to
/// the product with it and receive the member's signed sign-in.
pub(crate) async fn start(
    AxState(state): AxState<State>,
    params: Params,
) -> std::result::Result<Response, PageError> {
    let target = state
        .run(move |s| {
            let sso = config(s)?;
            let origin = crate::pages::origin(s).ok_or_else(|| {
                Error::Config(
                    "DiscourseConnect needs the public origin: set WebConfig::public_origin \
                     (or the community's base_url)"
                        .into(),
                )
            })?;
            let nonce = auth::random_token()?;
            let now = crate::auth::now_ms(&s.forum);
            let pending = Pending {
                return_path: crate::pages::safe_next(s, params.str("return_path")),
                expires_at: now + sso.nonce_ttl.as_millis() as i64,
            };
            let mut ops = vec![ExtOp::Put {
                key: format!("sso-nonce/{nonce}"),
                value: serde_json::to_vec(&pending).map_err(|e| Error::Internal(e.to_string()))?,
            }];
            // Sign-ins abandoned at the product leave nonces: a few go each time.
            for (key, value) in
                s.forum
                    .ext_list(NAMESPACE, Some(s.config.community), "sso-nonce/", "", PRUNE)?
            {
                let expired =
                    serde_json::from_slice::<Pending>(&value).map_or(true, |p| p.expires_at <= now);
                if expired {
                    ops.push(ExtOp::Delete { key });
                }
            }
            s.forum
                .ext_apply(NAMESPACE, Some(s.config.community), &ops)?;
            let return_url = format!("{origin}{}", s.url("/session/sso_login"));
            let (payload, sig) = sso.encode(&[("nonce", &nonce), ("return_sso_url", &return_url)]);
            let query =
                serde_urlencoded::to_string([("sso", payload), ("sig", sig)]).unwrap_or_default();
            let sep = if sso.url.contains('?') { '&' } else { '?' };
            Ok(format!("{}{sep}{query}", sso.url))
        })
        .await?;
    Ok(Redirect::to(&target).into_response())
}

/// A payload's fields by name.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, key: &str) -> Result<&str> {
        self.get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::BadRequest(format!("the sign-in payload has no {key}")))
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v == "true")
    }

    fn names(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| {
            v.split(',')
                .map(|n| n.trim().to_lowercase())
                .filter(|n| !n.is_empty())
                .collect()
        })
    }
}

/// `GET /session/sso_login?sso=…&sig=…`: back from the product.
pub(crate) async fn finish(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> std::result::Result<Response, PageError> {
    let sso = params.need("sso")?;
    let sig = params.need("sig")?;
    let ip = v.ip.to_string();
    let (token, next) = state
        .run(move |s| {
            let config = config(s)?;
            let fields = Fields(config.decode(&sso, &sig)?);
            let nonce = fields.need("nonce")?;
            let pending = s
                .forum
                .ext_take(
                    NAMESPACE,
                    Some(s.config.community),
                    &format!("sso-nonce/{nonce}"),
                )?
                .and_then(|raw| serde_json::from_slice::<Pending>(&raw).ok())
                .filter(|p| p.expires_at > crate::auth::now_ms(&s.forum))
                .ok_or_else(|| {
                    refused("this sign-in was used already or took too long: sign in again")
                })?;
            let user = sign_in(s, &fields)?;
            let (token, _) = auth::start_session(
                &s.forum,
                s.config.community,
                user,
                s.config.session_ttl,
                &ip,
            )?;
            Ok((token, pending.return_path))
        })
        .await?;
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        crate::pages::session_cookie(&state, &v, &token)?,
    );
    Ok(res)
}

/// The account a verified payload names, made a member with the role and
/// groups the payload gives.
fn sign_in(s: &AppState, f: &Fields) -> Result<UserId> {
    let c = s.config.community;
    let account = ExternalAccount {
        provider: DISCOURSE_CONNECT.into(),
        external_id: f.need("external_id")?.to_string(),
        email: f.need("email")?.to_string(),
        email_verified: f.flag("require_activation") != Some(true),
        username: f.get("username").unwrap_or_default().to_string(),
        display_name: f.get("name").map(str::to_string),
        avatar_url: f.get("avatar_url").map(str::to_string),
    };
    let user = s.forum.sign_in_external(&account)?.user.id;
    let system = Actor::System;
    let role = match s.forum.member(&system, c, user) {
        Ok(m) => m.role,
        Err(hearth::Error::NotFound { .. }) => {
            s.forum.add_member(&system, c, user, Role::Member)?.role
        }
        Err(e) => return Err(e.into()),
    };
    // The owner is the community's, not the provider's, to change.
    if role != Role::Owner {
        let wanted = match (f.flag("admin"), f.flag("moderator")) {
            (Some(true), _) => Role::Admin,
            (_, Some(true)) if role != Role::Admin || f.flag("admin") == Some(false) => {
                Role::Moderator
            }
            (Some(false), _) if role == Role::Admin => Role::Member,
            (_, Some(false)) if role == Role::Moderator => Role::Member,
            _ => role,
        };
        if wanted != role {
            s.forum.set_role(&system, c, user, wanted)?;
        }
    }
    let groups = s.forum.groups(&system, c)?;
    let id_of = |names: &[String]| -> Vec<hearth::GroupId> {
        groups
            .iter()
            .filter(|g| names.contains(&g.name.to_lowercase()))
            .map(|g| g.id)
            .collect()
    };
    let mut add = id_of(&f.names("add_groups").unwrap_or_default());
    let mut remove = id_of(&f.names("remove_groups").unwrap_or_default());
    if let Some(exact) = f.names("groups") {
        let wanted = id_of(&exact);
        let mine = s.forum.member_groups(&system, c, user)?;
        add.extend(wanted.iter().copied());
        remove.extend(mine.iter().map(|g| g.id).filter(|g| !wanted.contains(g)));
    }
    for g in add {
        s.forum.add_to_group(&system, c, g, user)?;
    }
    for g in remove {
        s.forum.remove_from_group(&system, c, g, user)?;
    }
    Ok(user)
}

/// Refuses password sign-in and sign-up while DiscourseConnect is on: the
/// product's accounts are the only accounts.
pub(crate) fn passwords_allowed(s: &AppState) -> Result<()> {
    match s.config.discourse_connect {
        Some(_) => Err(refused(&format!(
            "this community signs in through its product: go to {}",
            s.url("/session/sso")
        ))),
        None => Ok(()),
    }
}

/// Where the sign-in page sends visitors while DiscourseConnect is on.
pub(crate) fn sign_in_url(s: &AppState, next: Option<String>) -> Option<String> {
    s.config.discourse_connect.as_ref()?;
    let query = serde_urlencoded::to_string([("return_path", crate::pages::safe_next(s, next))])
        .unwrap_or_default();
    Some(format!("{}?{query}", s.url("/session/sso")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc() -> DiscourseConnect {
        DiscourseConnect::new(
            "https://app.example.com/sso",
            "d836444a9e4084d5b224a60c208dce14",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Discourse's documented example: this payload and secret give this
    /// signature.
    #[test]
    fn signatures_match_discourse_s_example() {
        let sso = dc();
        let payload = "bm9uY2U9Y2I2ODI1MWVlZmI1MjExZTU4YzAwZmYxMzk1ZjBjMGI=\n";
        assert_eq!(
            sso.sign(payload),
            "2828aa29899722b35a2f191d34ef9b3ce695e0e6eeec47deb46d588d70c7cb56"
        );
        let fields = sso
            .decode(
                payload,
                "2828aa29899722b35a2f191d34ef9b3ce695e0e6eeec47deb46d588d70c7cb56",
            )
            .unwrap_or_default();
        assert_eq!(
            fields,
            [(
                "nonce".to_string(),
                "cb68251eefb5211e58c00ff1395f0c0b".to_string()
            )]
        );
    }

    #[test]
    fn what_is_encoded_decodes_and_tampering_is_refused() {
        let sso = dc();
        let (payload, sig) = sso.encode(&[("nonce", "n1"), ("name", "Zoë & co")]);
        let fields = sso.decode(&payload, &sig).unwrap_or_default();
        assert_eq!(fields[1], ("name".into(), "Zoë & co".into()));
        let (other, _) = sso.encode(&[("nonce", "n1"), ("admin", "true")]);
        assert!(matches!(
            sso.decode(&other, &sig),
            Err(Error::Engine(hearth::Error::Forbidden { .. }))
        ));
        assert!(matches!(
            sso.decode(&payload, ""),
            Err(Error::Engine(hearth::Error::Forbidden { .. }))
        ));
        let big = "A".repeat(MAX_PAYLOAD + 1);
        assert!(matches!(
            sso.decode(&big, &sso.sign(&big)),
            Err(Error::BadRequest(_))
        ));
        let junk = "not base64!";
        assert!(matches!(
            sso.decode(junk, &sso.sign(junk)),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn settings_are_checked() {
        assert!(DiscourseConnect::new("ftp://x", "0123456789").is_err());
        assert!(DiscourseConnect::new("https://x", "short").is_err());
        assert!(DiscourseConnect::new("https://x", "0123456789").is_ok());
    }
}
