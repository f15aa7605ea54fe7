//! E-mail on the web side: the one-click unsubscribe page (and RFC 8058's
//! `List-Unsubscribe-Post`), and the background thread that runs the
//! engine's e-mail jobs on a schedule.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxState;
use axum::response::Response;
use hearth::Mailer;
use serde_json::json;

use crate::error::{Error, PageError};
use crate::pages::{Meta, html, render};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

fn page(s: &AppState, v: &Visitor, ctx: serde_json::Value) -> Result<String, Error> {
    let meta = Meta {
        title: "E-mail".into(),
        noindex: true,
        path: "/email/unsubscribe".into(),
        ..Default::default()
    };
    render(s, v, "unsubscribe.html", meta, ctx)
}

/// `GET /email/unsubscribe?token=…`: asks before unsubscribing (mail
/// scanners follow links; only a `POST` changes anything).
pub(crate) async fn confirm(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    let token = params.need("token")?;
    let body = state
        .run(move |s| page(s, &v, json!({"token": token, "done": false})))
        .await?;
    Ok(html(body, false))
}

/// `POST /email/unsubscribe?token=…`: the signature is the proof (no
/// sign-in, no CSRF token: mail clients post it, RFC 8058).
pub(crate) async fn unsubscribe(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    let token = params.need("token")?;
    let digest_only = token.split('.').nth(1) == Some("digest");
    let body = state
        .run(move |s| {
            s.forum.unsubscribe(s.config.community, &token)?;
            page(s, &v, json!({"done": true, "digest_only": digest_only}))
        })
        .await?;
    Ok(html(body, false))
}

/// Runs [`hearth::Forum::run_email_jobs`] every `every` on its own thread
/// until the router's state is dropped.
pub(crate) fn spawn_jobs(state: &Arc<AppState>, mailer: Arc<dyn Mailer>, every: Duration) {
    let weak = Arc::downgrade(state);
    let wake = state.mail_wake.clone();
    let spawned = std::thread::Builder::new()
        .name("hearth-web-email".into())
        .spawn(move || {
            loop {
                {
                    let Some(state) = weak.upgrade() else { break };
                    let started = std::time::Instant::now();
                    match state.forum.run_email_jobs(
                        state.config.community,
                        mailer.as_ref(),
                        &mut |_| ControlFlow::Continue(()),
                    ) {
                        Ok(r) => tracing::info!(
                            notifications = r.notification_emails,
                            digests = r.digests,
                            we_miss_you = r.we_miss_you,
                            delivered = r.delivered,
                            failed = r.failed,
                            bounced = r.bounced,
                            ms = started.elapsed().as_millis() as u64,
                            "e-mail jobs ran"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "e-mail jobs failed; retrying next round")
                        }
                    }
                }
                // Until the next round, or until mail someone waits for is
                // queued (without keeping the router's state alive).
                wake.wait(every);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no e-mail thread; no e-mail will be sent");
    }
}
