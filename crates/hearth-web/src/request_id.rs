//! A request id for every request: sent back as `X-Request-Id`, shown on
//! error pages, and a field of the tracing span every log line of the
//! request is written in — so "it has been logged" can be found.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";

/// The id of the request being answered (a request extension).
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub String);

/// Takes the id a proxy in front set (when it is 1 to 64 of
/// `A-Z a-z 0-9 - _ .`, so nothing raw reaches the log), or makes one.
fn id_for(req: &Request) -> String {
    if let Some(v) = req.headers().get(HEADER).and_then(|v| v.to_str().ok())
        && (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return v.to_string();
    }
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy: a clock-derived id still tells requests apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = (nanos as u64).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware: id, span, header.
pub(crate) async fn assign(mut req: Request, next: Next) -> Response {
    let id = id_for(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    // The path only: query strings may carry tokens. Paths are ASCII
    // (percent-encoded) by the time they get here.
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), "answered");
        } else {
            tracing::debug!(status = status.as_u16(), "answered");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_ids_are_kept_only_when_plain() {
        let with = |v: &str| {
            let req = Request::builder()
                .header(HEADER, v)
                .body(axum::body::Body::empty())
                .expect("request");
            id_for(&req)
        };
        assert_eq!(with("abc-123_x.y"), "abc-123_x.y");
        for bad in ["", "a b", "x;y", &"a".repeat(65), "<script>"] {
            let id = with(bad);
            assert_eq!(id.len(), 16, "{bad:?} -> {id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}
