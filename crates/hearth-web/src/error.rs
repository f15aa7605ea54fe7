//! The one error type of the web layer, and how each variant becomes an
//! HTTP answer: Discourse's JSON error shape for the API, an HTML page (with
//! the plugin footer, see `pages::error_page`) for everything else.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything that can go wrong while answering a request or starting the
/// server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine refused or failed; see [`hearth::Error`].
    #[error(transparent)]
    Engine(#[from] hearth::Error),
    /// The plugin host refused or failed.
    #[error(transparent)]
    Plugin(#[from] hearth_wasm::Error),
    /// The request needs a signed-in user (or a valid API key).
    #[error("sign in first")]
    NotSignedIn,
    /// Bad `Api-Key` / `Api-Username`, or a revoked key.
    #[error("invalid API key or username")]
    BadApiKey,
    /// The API key's scopes do not cover this request.
    #[error("this API key may not do that: it needs the {needed:?} scope (it has: {has})")]
    ApiScope {
        /// The scope the request needs.
        needed: &'static str,
        /// The key's scopes.
        has: String,
    },
    /// The form's CSRF token is missing or does not match the session.
    #[error("the form expired or came from another site; reload the page and try again")]
    Csrf,
    /// The request itself is malformed: unparsable JSON or form, a missing
    /// parameter.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A percent-encoded path, query or form is not UTF-8 once decoded
    /// (it is refused rather than read with replacement characters).
    #[error("the {part} is not valid UTF-8; send text percent-encoded as UTF-8")]
    InvalidUtf8 {
        /// `"path"`, `"query"` or `"form body"`.
        part: &'static str,
    },
    /// The client took longer than `Limits::body_timeout` to send the body.
    #[error("the request body took longer than {} s to arrive", after.as_secs())]
    SlowBody {
        /// The limit.
        after: Duration,
    },
    /// The body is larger than the configured limit.
    #[error("request body over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Too many requests from this address or for this account.
    #[error("too many requests; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// Wrong username/e-mail or password (deliberately not saying which).
    #[error("incorrect username, email or password")]
    BadCredentials,
    /// The password was right, but the account's address waits for
    /// confirmation (the community asks new members to confirm it).
    #[error(
        "confirm your address first: follow the link we mailed to {email}, or ask for a new one"
    )]
    Unconfirmed {
        /// The account's sign-in address (the member proved the password).
        email: String,
    },
    /// A template failed to render (a broken override, usually).
    #[error("template {name}: {message}")]
    Template {
        /// The template.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A setting the embedder gave is unusable (e.g. a DiscourseConnect
    /// secret too short); says which and what would do.
    #[error("configuration: {0}")]
    Config(String),
    /// Something that should not happen (a worker thread died); logged, and
    /// shown to users only as "internal error".
    #[error("internal error: {0}")]
    Internal(String),
    /// Binding or serving failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        use hearth::Error as E;
        match self {
            Error::Engine(e) => match e {
                E::NotFound { .. } => StatusCode::NOT_FOUND,
                E::Forbidden { .. } => StatusCode::FORBIDDEN,
                E::Invalid { .. } | E::Blocked { .. } | E::Rejected { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                E::Conflict { .. } => StatusCode::CONFLICT,
                E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                E::PendingReview { .. } => StatusCode::ACCEPTED,
                E::Moved { .. } => StatusCode::MOVED_PERMANENTLY,
                E::Hook { .. } | E::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::Plugin(e) => match e {
                hearth_wasm::Error::NotInstalled(_) | hearth_wasm::Error::NotEnabled { .. } => {
                    StatusCode::NOT_FOUND
                }
                hearth_wasm::Error::Forbidden(_) => StatusCode::FORBIDDEN,
                hearth_wasm::Error::Setting { .. } | hearth_wasm::Error::Capability { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                hearth_wasm::Error::Forum(inner) => Error::Engine(clone_engine(inner)).status(),
                _ => StatusCode::SERVICE_UNAVAILABLE,
            },
            Error::NotSignedIn => StatusCode::FORBIDDEN,
            // Unknown or revoked keys: the client must fix its credentials.
            Error::BadApiKey => StatusCode::UNAUTHORIZED,
            Error::Csrf | Error::ApiScope { .. } => StatusCode::FORBIDDEN,
            Error::BadRequest(_) | Error::InvalidUtf8 { .. } => StatusCode::BAD_REQUEST,
            Error::SlowBody { .. } => StatusCode::REQUEST_TIMEOUT,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::BadCredentials => StatusCode::UNAUTHORIZED,
            Error::Unconfirmed { .. } => StatusCode::FORBIDDEN,
            Error::Template { .. } | Error::Config(_) | Error::Internal(_) | Error::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Discourse's `error_type` for this error.
    pub fn error_type(&self) -> &'static str {
        match self.status() {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => "invalid_access",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit",
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::REQUEST_TIMEOUT => "invalid_parameters",
            StatusCode::CONFLICT => "conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable_entity",
            _ => "server_error",
        }
    }

    /// The message a user may see. Storage and internal failures say only
    /// that something went wrong: no SQL, paths or stack traces leave the
    /// server (they are logged instead).
    pub fn public_message(&self) -> String {
        use hearth::Error as E;
        match self {
            Error::Engine(E::NotFound { .. })
            | Error::Plugin(
                hearth_wasm::Error::NotInstalled(_) | hearth_wasm::Error::NotEnabled { .. },
            ) => "The requested URL or resource could not be found.".into(),
            Error::Plugin(
                e @ (hearth_wasm::Error::Setting { .. }
                | hearth_wasm::Error::Capability { .. }
                | hearth_wasm::Error::Forbidden(_)),
            ) => capitalize(&e.to_string()),
            Error::Engine(E::Forbidden { reason }) => {
                format!("You are not permitted to do that: {reason}.")
            }
            Error::Engine(E::Invalid { field, reason, .. }) => {
                format!("{} {reason}", humanize(field))
            }
            Error::Engine(E::Conflict { reason }) => capitalize(reason),
            Error::Engine(E::Blocked { reason, .. } | E::Rejected { reason, .. }) => {
                capitalize(reason)
            }
            Error::Engine(E::RateLimited { retry_after }) | Error::RateLimited { retry_after } => {
                format!(
                    "You've performed this action too many times. Please wait {} seconds before trying again.",
                    retry_after.as_secs().max(1)
                )
            }
            Error::Engine(E::PendingReview { reason, .. }) => {
                format!("Your post was submitted and waits for a moderator: {reason}")
            }
            Error::Engine(E::Moved { .. }) => "This topic was merged into another.".into(),
            Error::Engine(E::Unavailable { retry_after, .. }) => format!(
                "The site can't save changes right now. Nothing was lost; try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
            e @ (Error::NotSignedIn
            | Error::BadApiKey
            | Error::Csrf
            | Error::ApiScope { .. }
            | Error::BadRequest(_)
            | Error::InvalidUtf8 { .. }
            | Error::SlowBody { .. }
            | Error::TooLarge { .. }
            | Error::BadCredentials
            | Error::Unconfirmed { .. }) => capitalize(&e.to_string()),
            Error::Plugin(_) | Error::Engine(E::Hook { .. }) => {
                "An extension failed, so this could not be done; nothing was lost. Try again in a moment.".into()
            }
            _ => "Something went wrong on our side. It has been logged; try again in a moment."
                .into(),
        }
    }

    /// A stable, machine-readable code for this error, sent as
    /// `error_code` beside Discourse's `error_type`. Validation failures
    /// name the field and the problem: `post_too_long`, `title_too_short`,
    /// `tags_too_many`, `post_too_deep`, `username_characters`,
    /// `post_blank`, `reply_to_post_number_invalid`… (the limit is in
    /// [`Error::limit`]).
    pub fn code(&self) -> Cow<'static, str> {
        use hearth::Error as E;
        Cow::Borrowed(match self {
            Error::Engine(E::Invalid { field, problem, .. }) => {
                return Cow::Owned(format!("{}_{}", public_field(field), problem.code()));
            }
            Error::Engine(e) => match e {
                E::NotFound { .. } => "not_found",
                E::Forbidden { .. } => "forbidden",
                E::Conflict { .. } => "conflict",
                E::RateLimited { .. } => "rate_limited",
                E::Blocked { .. } => "blocked",
                E::PendingReview { .. } => "pending_review",
                E::Moved { .. } => "moved",
                E::Rejected { .. } => "rejected",
                E::Hook { .. } => "extension_failed",
                E::Unavailable { cause, .. } => cause.code(),
                _ => "server_error",
            },
            Error::Plugin(_) => "extension_failed",
            Error::NotSignedIn => "not_signed_in",
            Error::BadApiKey => "invalid_api_key",
            Error::Csrf => "bad_csrf",
            Error::ApiScope { .. } => "api_scope",
            Error::BadRequest(_) => "bad_request",
            Error::InvalidUtf8 { .. } => "invalid_utf8",
            Error::SlowBody { .. } => "request_timeout",
            Error::TooLarge { .. } => "too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::BadCredentials => "bad_credentials",
            Error::Unconfirmed { .. } => "not_activated",
            Error::Template { .. } | Error::Config(_) | Error::Internal(_) | Error::Io(_) => {
                "server_error"
            }
        })
    }

    /// The field and the limit a validation failure crossed, if any: sent
    /// in `extras` so a client can say "at most 32,000 characters" itself.
    pub fn limit(&self) -> Option<(String, u64)> {
        match self {
            Error::Engine(hearth::Error::Invalid { field, problem, .. }) => {
                Some((public_field(field), problem.limit()?))
            }
            Error::TooLarge { limit } => Some(("body".into(), *limit as u64)),
            _ => None,
        }
    }

    /// How long a rate-limited client should wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Engine(
                hearth::Error::RateLimited { retry_after }
                | hearth::Error::Unavailable { retry_after, .. },
            )
            | Error::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    fn log(&self) {
        if let Error::Engine(hearth::Error::Unavailable { cause, .. }) = self {
            tracing::warn!(error = %self, code = cause.code(), "storage unavailable");
        } else if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
    }
}

/// `hearth_wasm::Error::Engine` holds an engine error by value; this makes a
/// shallow copy good enough to choose a status.
fn clone_engine(e: &hearth::Error) -> hearth::Error {
    use hearth::Error as E;
    match e {
        E::NotFound { what } => E::NotFound { what },
        E::Forbidden { reason } => E::Forbidden {
            reason: reason.clone(),
        },
        E::Invalid {
            field,
            reason,
            problem,
        } => E::Invalid {
            field,
            reason: reason.clone(),
            problem: *problem,
        },
        other => E::Storage(other.to_string()),
    }
}

/// A field as clients name it in codes: the post's `body` is the post;
/// header-like names become snake case.
fn public_field(field: &str) -> String {
    match field {
        "body" => "post".into(),
        f => f.to_ascii_lowercase().replace('-', "_"),
    }
}

fn humanize(field: &str) -> String {
    capitalize(&field.replace('_', " "))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An error as the client wants it: Discourse's JSON or the error page.
pub(crate) fn fail(e: Error, json: bool) -> Response {
    if json {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// A JSON answer with Discourse's exact content type (some clients compare
/// it as a string: `application/json; charset=utf-8`).
pub(crate) fn json_response<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Response {
    // Lists and topics are tens of KiB: start big enough that the buffer
    // is not copied over and over as it grows.
    let mut bytes = Vec::with_capacity(16 << 10);
    let status = match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => status,
        // Only maps with non-string keys fail, which no shape has.
        Err(e) => {
            bytes = serde_json::json!({ "errors": [format!("the answer could not be written: {e}")], "error_type": "server" })
                .to_string()
                .into_bytes();
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// `Retry-After` in whole seconds (at least 1), when there is a wait.
pub(crate) fn set_retry_after(res: &mut Response, wait: Option<Duration>) {
    if let Some(wait) = wait
        && let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// An error answered as Discourse does: `{"errors": [...], "error_type": ...}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let mut body = json!({
            "errors": [e.public_message()],
            "error_type": e.error_type(),
            "error_code": e.code(),
        });
        if let Some(wait) = e.retry_after() {
            body["extras"] = json!({ "wait_seconds": wait.as_secs().max(1) });
        }
        if let Some((field, limit)) = e.limit() {
            body["extras"] = json!({ "field": field, "limit": limit });
        }
        if let Error::Engine(hearth::Error::Blocked { rule, .. }) = &e {
            body["extras"] = json!({ "rule": rule });
        }
        let mut res = json_response(e.status(), &body);
        set_retry_after(&mut res, e.retry_after());
        res
    }
}

/// An error on an HTML page. Its response carries the error as an extension;
/// the page layer's middleware renders the full error page (layout, plugin
/// footer) around it.
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

/// What a failed page left for the error-page middleware.
#[derive(Debug, Clone)]
pub(crate) struct PageFailure {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let failure = PageFailure {
            status: e.status(),
            message: e.public_message(),
            retry_after: e.retry_after(),
        };
        let mut res = (failure.status, failure.message.clone()).into_response();
        set_retry_after(&mut res, failure.retry_after);
        res.extensions_mut().insert(failure);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_say_nothing_about_storage() {
        let e = Error::Engine(hearth::Error::Storage(
            "near \"SELEC\": syntax error".into(),
        ));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.public_message().contains("SELEC"));
    }

    #[test]
    fn engine_errors_map_to_discourse_statuses() {
        let nf = Error::Engine(hearth::Error::NotFound { what: "topic" });
        assert_eq!(
            (nf.status(), nf.error_type()),
            (StatusCode::NOT_FOUND, "not_found")
        );
        let rl = Error::Engine(hearth::Error::RateLimited {
            retry_after: Duration::from_secs(7),
        });
        assert_eq!(rl.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(rl.public_message().contains("7 seconds"));
        let stale = Error::Engine(hearth::Error::Conflict {
            reason: "stale".into(),
        });
        assert_eq!(stale.status(), StatusCode::CONFLICT);
    }
}

/// An error answered as JSON or as a page, whichever the client asked for
/// (extractors use it: they run before a handler picks its error type).
#[derive(Debug)]
pub struct Fail {
    /// What went wrong.
    pub error: Error,
    /// Answer as the API does.
    pub json: bool,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        if self.json {
            ApiError(self.error).into_response()
        } else {
            PageError(self.error).into_response()
        }
    }
}
