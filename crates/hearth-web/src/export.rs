//! `GET /admin/export`: the community as JSON Lines (admins), streamed as
//! the engine writes it, a chunk at a time, so a large community never
//! sits in memory whole.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::admin::require_admin;
use crate::error::PageError;
use crate::state::State;
use crate::visitor::Visitor;

/// Chunks of the export in flight (backpressure: the writer waits).
const CHUNKS: usize = 8;
const CHUNK: usize = 64 * 1024;

/// A `Write` that hands full chunks to the response body.
struct Sender {
    buf: Vec<u8>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
}

impl std::io::Write for Sender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was cancelled")
        })
    }
}

struct Chunks(mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A response body written by `write` on a blocking thread, a chunk at a
/// time as the client reads (never whole in memory). If `write` fails,
/// the client sees a broken download, not a truncated file passed off as
/// whole; `what` names the job in the log.
pub(crate) fn stream_blocking(
    what: &'static str,
    write: impl FnOnce(&mut (dyn std::io::Write + Send)) -> Result<(), String> + Send + 'static,
) -> Body {
    let (tx, rx) = mpsc::channel(CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut out = Sender {
            buf: Vec::new(),
            tx: tx.clone(),
        };
        let end = match write(&mut out)
            .and_then(|()| std::io::Write::flush(&mut out).map_err(|e| e.to_string()))
        {
            Ok(()) => return,
            Err(e) => e,
        };
        tracing::warn!(error = %end, what, "download stopped");
        let _ = tx.blocking_send(Err(std::io::Error::other(end)));
    });
    Body::from_stream(Chunks(rx))
}

/// `GET /admin/export`.
pub(crate) async fn export(
    AxState(state): AxState<State>,
    v: Visitor,
) -> Result<Response, PageError> {
    let actor = v.actor;
    let slug = state
        .run(move |s| {
            require_admin(s, &actor)?;
            Ok(s.community()?.slug.clone())
        })
        .await?;
    let st = state.clone();
    let body = stream_blocking("export", move |out| {
        st.forum
            .export_community(&actor, st.config.community, out, &mut |_, _| {})
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    Ok(jsonl_attachment(body, &format!("{slug}.jsonl")))
}

/// A JSON Lines download named `filename`, never cached.
pub(crate) fn jsonl_attachment(body: Body, filename: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
