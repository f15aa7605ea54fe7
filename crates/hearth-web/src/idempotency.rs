//! Safe retries: a `POST` with an `Idempotency-Key` header runs once; a
//! retry with the same key (by the same visitor) gets the stored response
//! and creates nothing.
//!
//! Keys are remembered per visitor (user, system, or guest address) for
//! [`Limits::idempotency_ttl`](crate::Limits::idempotency_ttl) in the
//! engine's extension storage, with a fingerprint of the request: the same
//! key on a different request is refused (422), and a retry while the first
//! request still runs gets 409. Responses are stored unless they are server
//! errors, rate limits or that 409 — those may succeed on a retry.
//!
//! The response is recorded just after the handler's own commit, in a
//! second transaction. For the writes that create content (`POST
//! /posts.json`: topics and replies) that gap is closed in the engine: the
//! key reaches the handler as a [`RequestKey`] and is stored in the same
//! transaction as the post ([`hearth::Forum::create_topic_once`]), so a
//! retry after a crash between the two commits returns the post the first
//! attempt created, never a second one. Other writes are naturally
//! repeatable (a like, a bookmark, a setting) or answered again by the
//! engine's own checks.

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth::{Actor, ExtOp, Lease};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{NAMESPACE, digest, hex};
use crate::error::{ApiError, Error, Fail};
use crate::state::State;
use crate::visitor::{Visitor, wants_json};

/// Longest accepted key.
const MAX_KEY: usize = 255;
/// Largest response stored for replay.
const MAX_STORED: usize = 256 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    fingerprint: String,
    status: u16,
    content_type: String,
    location: Option<String>,
    body: String,
    /// Unix milliseconds.
    at: i64,
}

fn scope(visitor: &Visitor) -> String {
    match visitor.actor {
        Actor::User(u) => format!("u{}", u.0),
        Actor::System => "system".into(),
        _ => format!("ip{}", visitor.ip),
    }
}

/// The request's `Idempotency-Key`, for handlers that pass it to the
/// engine so it is committed with their write.
#[derive(Debug, Clone)]
pub(crate) struct RequestKey(pub(crate) String);

/// How long an `Idempotency-Key`'s in-flight mark lasts without renewal.
/// While the first request runs, a retry gets 409. The mark is a lease in
/// the database, so a retry that reaches another server process is turned
/// away too; it is renewed every [`IN_FLIGHT_RENEW`] while the request
/// runs, so if the process running it dies, a retry waits at most this
/// long.
///
/// Short on purpose: it only keeps a retry from running beside the first
/// attempt. Creates do not depend on it (their key commits with the post,
/// see above), and the other writes are repeatable; what it costs is how
/// long a client retrying after a crash is told 409.
pub(crate) const IN_FLIGHT_LEASE: std::time::Duration = std::time::Duration::from_secs(2);

/// How often a running request renews its mark.
const IN_FLIGHT_RENEW: std::time::Duration = std::time::Duration::from_millis(500);

/// The in-flight mark, renewed by a task of its own while the request
/// runs; released when the request is done, and also when its future is
/// dropped (the client went away, the handler panicked).
struct InFlight {
    state: State,
    lease: Option<Lease>,
    renewer: tokio::task::JoinHandle<()>,
}

impl InFlight {
    fn new(state: &State, lease: Lease) -> InFlight {
        let renewing = lease.clone();
        let st = state.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(IN_FLIGHT_RENEW).await;
                let l = renewing.clone();
                match st
                    .run(move |s| Ok(s.forum.renew_lease(&l, IN_FLIGHT_LEASE)?))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "could not renew an idempotency mark"),
                }
            }
        });
        InFlight {
            state: state.clone(),
            lease: Some(lease),
            renewer,
        }
    }

    async fn release(mut self) {
        self.renewer.abort();
        if let Some(lease) = self.lease.take() {
            let released = self
                .state
                .run(move |s| Ok(s.forum.release_lease(lease)?))
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release an idempotency mark; it lapses");
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.renewer.abort();
        let Some(lease) = self.lease.take() else {
            return;
        };
        let state = self.state.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn_blocking(move || state.forum.release_lease(lease));
        }
    }
}

/// The middleware (installed after the visitor middleware).
pub(crate) async fn guard(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return next.run(req).await;
    };
    let json = wants_json(req.method(), req.uri(), req.headers());
    let fail = |error| Fail { error, json }.into_response();
    if key.is_empty() || key.len() > MAX_KEY {
        return fail(Error::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} characters"
        )));
    }
    let Some(visitor) = req.extensions().get::<Visitor>().cloned() else {
        return ApiError(Error::Internal("visitor middleware not installed".into()))
            .into_response();
    };
    let (parts, body) = req.into_parts();
    let limit = state.config.limits.body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return fail(Error::TooLarge { limit });
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update([0]);
    h.update(parts.uri.path());
    h.update([0]);
    h.update(&bytes);
    let fingerprint = hex(&h.finalize());
    let record_key = format!("idem/{}/{}", scope(&visitor), digest(&key));

    let flight = {
        let k = record_key.clone();
        match state
            .run(move |s| Ok(s.forum.lease(&k, IN_FLIGHT_LEASE)?))
            .await
        {
            Err(e) => return fail(e),
            Ok(None) => {
                return fail(Error::Engine(hearth::Error::Conflict {
                    reason: "a request with this Idempotency-Key is still running; retry later"
                        .into(),
                }));
            }
            Ok(Some(lease)) => InFlight::new(&state, lease),
        }
    };

    let res = run_once(
        &state,
        parts,
        bytes,
        key,
        record_key,
        fingerprint,
        json,
        next,
    )
    .await;
    flight.release().await;
    res
}

/// Replays a stored answer, or runs the request and stores its answer;
/// runs while the key's in-flight mark is held.
#[allow(clippy::too_many_arguments)]
async fn run_once(
    state: &State,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    key: String,
    record_key: String,
    fingerprint: String,
    json: bool,
    next: Next,
) -> Response {
    let fail = |error| Fail { error, json }.into_response();
    let lookup = {
        let k = record_key.clone();
        state
            .run(move |s| {
                Ok(s.forum
                    .ext_get(NAMESPACE, Some(s.config.community), &k)?
                    .and_then(|raw| serde_json::from_slice::<Stored>(&raw).ok()))
            })
            .await
    };
    let ttl_ms = state.config.limits.idempotency_ttl.as_millis() as i64;
    let now_ms = (state.forum.now().unix_timestamp_nanos() / 1_000_000) as i64;
    match lookup {
        Err(e) => return fail(e),
        Ok(Some(stored)) if now_ms - stored.at < ttl_ms => {
            if stored.fingerprint != fingerprint {
                return fail(Error::Engine(hearth::Error::Invalid {
                    field: "Idempotency-Key",
                    reason: "was already used for a different request".into(),
                    problem: hearth::Problem::Other,
                }));
            }
            return replay(stored);
        }
        Ok(_) => {}
    }

    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(RequestKey(key));
    let res = next.run(req).await;
    let status = res.status();
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::CONFLICT
    {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_STORED).await else {
        return ApiError(Error::Internal("response too large to remember".into())).into_response();
    };
    let stored = Stored {
        fingerprint,
        status: status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string(),
        location: parts
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        at: now_ms,
    };
    if let Ok(value) = serde_json::to_vec(&stored) {
        let write = state
            .run(move |s| {
                Ok(s.forum.ext_apply(
                    NAMESPACE,
                    Some(s.config.community),
                    &[ExtOp::Put {
                        key: record_key,
                        value,
                    }],
                )?)
            })
            .await;
        if let Err(e) = write {
            tracing::warn!(error = %e, "could not remember an idempotency key");
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(stored: Stored) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = (status, stored.body).into_response();
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(loc) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
