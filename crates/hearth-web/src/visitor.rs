//! The first middleware every request meets: the client's address and its
//! rate limit, then who it is (API key, session cookie, or guest) and the
//! CSRF token its forms must carry. Handlers read the result with the
//! [`Visitor`] extractor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth::{Actor, User};

use crate::auth::{self, Session};
use crate::error::{ApiError, Error, PageError};
use crate::state::State;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "hearth_session";
/// The guests' CSRF cookie (double-submit).
pub(crate) const CSRF_COOKIE: &str = "hearth_csrf";

/// How the visitor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    Guest,
    Session { token: String },
    ApiKey,
}

/// The resolved visitor of one request.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub actor: Actor,
    /// The signed-in account (for the header); `None` for guests and the
    /// system.
    pub user: Option<User>,
    pub via: Via,
    /// The token this visitor's forms must carry.
    pub csrf: String,
    /// `X-CSRF-Token` was sent and matches.
    pub csrf_header_ok: bool,
    pub ip: IpAddr,
    /// Reached over https (cookies are `Secure` and `__Host-` prefixed).
    pub secure: bool,
}

impl Visitor {
    /// Whether an unsafe request by this visitor passed CSRF protection,
    /// given the token found in a form (if any). API-key calls need none:
    /// browsers never attach those headers on their own.
    pub fn csrf_ok(&self, form_token: Option<&str>) -> bool {
        match self.via {
            Via::ApiKey => true,
            _ => self.csrf_header_ok || form_token.is_some_and(|t| auth::same(t, &self.csrf)),
        }
    }

    /// The signed-in user's actor, or `NotSignedIn`.
    pub fn require_user(&self) -> Result<Actor, Error> {
        match self.actor {
            Actor::Guest => Err(Error::NotSignedIn),
            a => Ok(a),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| ApiError(Error::Internal("visitor middleware not installed".into())))
    }
}

/// Whether the client wants JSON (the API) rather than a page.
pub(crate) fn wants_json(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> bool {
    let path = uri.path();
    path.ends_with(".json")
        || path.starts_with("/admin/api")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json"))
        || (method != Method::GET
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("application/json")))
        || headers.contains_key("api-key")
}

/// Extracts [`wants_json`] for handlers that serve a page and JSON on the
/// same path (Discourse's `/t/{slug}/{id}` and `/t/{slug}/{id}.json`).
pub(crate) struct WantsJson(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for WantsJson {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(WantsJson(wants_json(
            &parts.method,
            &parts.uri,
            &parts.headers,
        )))
    }
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn client_ip(state: &State, req: &Request) -> IpAddr {
    if state.config.trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whether this request reached the site over https: the configured
/// origin says so, `secure_cookies` is set, or a trusted proxy
/// (`trust_forwarded_for`) sent `X-Forwarded-Proto: https`.
pub(crate) fn is_secure(state: &State, headers: &axum::http::HeaderMap) -> bool {
    let c = &state.config;
    c.secure_cookies
        || c.public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://"))
        || (c.trust_forwarded_for
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// A cookie's name on this site: over https `__Host-` (the browser then
/// refuses it from plain http, from a subdomain, or with another path) or
/// `__Secure-` when the router is mounted below the root.
pub(crate) fn cookie_name(state: &State, secure: bool, name: &str) -> String {
    match (secure, state.config.base_path.is_empty()) {
        (false, _) => name.to_string(),
        (true, true) => format!("__Host-{name}"),
        (true, false) => format!("__Secure-{name}"),
    }
}

/// A `Set-Cookie` value with the attributes every Hearth cookie has;
/// `Secure` (and the prefixed name) over https.
pub(crate) fn set_cookie(
    state: &State,
    secure: bool,
    name: &str,
    value: &str,
    max_age_secs: i64,
) -> String {
    let path = if state.config.base_path.is_empty() {
        "/"
    } else {
        state.config.base_path.as_str()
    };
    format!(
        "{}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
        cookie_name(state, secure, name),
        if secure { "; Secure" } else { "" }
    )
}

fn reject(json: bool, e: Error) -> Response {
    if json {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// The middleware: rate limit, identify, attach [`Visitor`].
pub(crate) async fn resolve(
    AxState(state): AxState<State>,
    mut req: Request,
    next: Next,
) -> Response {
    let json = wants_json(req.method(), req.uri(), req.headers());
    let ip = client_ip(&state, &req);
    if let Some(limiter) = &state.ip_limiter
        && let Err(wait) = limiter.check(ip, Instant::now())
    {
        return reject(json, Error::RateLimited { retry_after: wait });
    }
    let headers = req.headers();
    let api_key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let api_username = headers
        .get("api-username")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let secure = is_secure(&state, headers);
    let session_token =
        cookie(headers, &cookie_name(&state, secure, SESSION_COOKIE)).map(str::to_string);
    let guest_csrf = cookie(headers, &cookie_name(&state, secure, CSRF_COOKIE))
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let header_csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // Guests without cookies need no engine call at all.
    let resolved = if api_key.is_none() && session_token.is_none() {
        match guest_csrf {
            Some(t) => Ok((Actor::Guest, None, Via::Guest, t, false)),
            None => auth::random_token().map(|t| (Actor::Guest, None, Via::Guest, t, true)),
        }
    } else {
        state
            .run(move |s| {
                let community = s.config.community;
                if let Some(key) = api_key {
                    let (actor, scopes) =
                        auth::api_actor(&s.forum, community, &key, api_username.as_deref(), |d| {
                            s.count_key_use(d)
                        })?;
                    auth::check_scope(&scopes, &method, &path)?;
                    let user = match actor {
                        Actor::User(id) => Some(s.forum.user(id)?),
                        _ => None,
                    };
                    return Ok((actor, user, Via::ApiKey, String::new(), false));
                }
                if let Some(token) = session_token
                    && let Some(Session { user, csrf, .. }) =
                        auth::find_session(&s.forum, community, &token)?
                {
                    let account = s.forum.user(user)?;
                    return Ok((
                        Actor::User(user),
                        Some(account),
                        Via::Session { token },
                        csrf,
                        false,
                    ));
                }
                match guest_csrf {
                    Some(t) => Ok((Actor::Guest, None, Via::Guest, t, false)),
                    None => Ok((Actor::Guest, None, Via::Guest, auth::random_token()?, true)),
                }
            })
            .await
    };
    let (actor, user, via, csrf, new_csrf_cookie) = match resolved {
        Ok(r) => r,
        Err(e) => return reject(json, e),
    };
    if let Actor::User(u) = actor {
        state.count_visit(u);
    }
    let csrf_header_ok = header_csrf.is_some_and(|h| !csrf.is_empty() && auth::same(&h, &csrf));
    let visitor = Visitor {
        actor,
        user,
        via,
        csrf: csrf.clone(),
        csrf_header_ok,
        ip,
        secure,
    };
    req.extensions_mut().insert(visitor);
    let mut res = next.run(req).await;
    if new_csrf_cookie
        && let Ok(v) = HeaderValue::from_str(&set_cookie(
            &state,
            secure,
            CSRF_COOKIE,
            &csrf,
            86_400 * 365,
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hearth_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
