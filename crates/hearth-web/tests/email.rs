//! E-mail on the web side: one-click unsubscribe, e-mail preferences,
//! visits recorded for "we miss you", and the scheduled job thread.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, DigestFrequency, NewReply};

#[tokio::test]
async fn one_click_unsubscribe_needs_only_the_signed_link() {
    let f = fixture();
    let token = f
        .forum
        .unsubscribe_token(f.community, f.ada, false)
        .expect("token");
    let url = format!("/email/unsubscribe?token={token}");
    // Looking is harmless (mail scanners follow links).
    let page = send(&f.app, get(&url)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Stop these e-mails?"));
    let prefs = |f: &Fixture| {
        f.forum
            .email_preferences(&Actor::User(f.ada), f.community)
            .expect("prefs")
    };
    assert!(!prefs(&f).unsubscribed);
    // A mail client's RFC 8058 one-click POST: no cookie, no CSRF token.
    let r = send(
        &f.app,
        req(Method::POST, &url).raw(
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("no more e-mail"));
    assert!(prefs(&f).unsubscribed);
    // A forged token: a clear error, nothing changes for bob.
    let forged = token.replacen(&format!("{}.", f.ada.0), &format!("{}.", f.bob.0), 1);
    let r = send(
        &f.app,
        req(Method::POST, &format!("/email/unsubscribe?token={forged}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !f.forum
            .email_preferences(&Actor::User(f.bob), f.community)
            .expect("bob")
            .unsubscribed
    );
}

#[tokio::test]
async fn email_choices_on_the_preferences_page() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get("/u/ada/preferences").await;
    assert!(
        page.body
            .contains("name=\"email_subscribed\" value=\"1\" checked")
    );
    let r = ada
        .submit(
            "/u/ada/preferences",
            "/u/ada/preferences",
            &[("digest", "daily")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = f
        .forum
        .email_preferences(&Actor::User(f.ada), f.community)
        .expect("prefs");
    assert_eq!((p.digest, p.unsubscribed), (DigestFrequency::Daily, true));
    let r = ada
        .submit(
            "/u/ada/preferences",
            "/u/ada/preferences",
            &[("digest", "weekly"), ("email_subscribed", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = f
        .forum
        .email_preferences(&Actor::User(f.ada), f.community)
        .expect("prefs");
    assert_eq!((p.digest, p.unsubscribed), (DigestFrequency::Weekly, false));
}

#[tokio::test]
async fn signed_in_requests_count_as_a_visit_once_a_day() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    for _ in 0..3 {
        bob.get("/").await;
    }
    f.web.flush_views();
    let entry = f
        .forum
        .directory_entry(&Actor::User(f.admin), f.community, f.bob)
        .expect("entry");
    assert_eq!(entry.days_visited, 1);
}

#[tokio::test]
async fn the_job_thread_sends_notification_email() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("dir");
    let mailer = hearth::FileMailer::new(dir.path()).expect("mailer");
    f.forum
        .mark_notifications_read(&Actor::User(f.ada), f.community, None)
        .expect("read");
    f.web
        .spawn_email_jobs(Arc::new(mailer), Duration::from_millis(50));
    f.forum
        .reply(
            &Actor::User(f.bob),
            f.community,
            f.public_topic,
            NewReply {
                body: "@ada here is the answer you wanted".into(),
                reply_to: None,
            },
        )
        .expect("reply");
    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        // ann's earlier notification (her answer was accepted) goes too.
        let found = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|m| m.contains("To: ada@example.com"));
        if let Some(m) = found {
            break m;
        }
        assert!(Instant::now() < deadline, "no e-mail was written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(message.contains("To: ada@example.com"), "{message}");
    assert!(message.contains("bob mentioned you"), "{message}");
    assert!(message.contains("https://community.example.com/t/how-do-i-rotate-my-api-key/"));
}
