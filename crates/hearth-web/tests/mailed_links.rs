//! Getting back into an account: a mailed, single-use link (over real
//! SMTP to a small server in the test), pages and Discourse's JSON.

mod common;
mod process;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use hearth_web::SmtpMailer;
use process::smtp_sink;

const ORIGIN: &str = "https://community.example";

/// A server that mails through the SMTP sink; its e-mail thread runs its
/// rounds an hour apart, so mail that arrives came from the wake-up.
fn mailing() -> (Fixture, Arc<Mutex<Vec<String>>>) {
    let f = fixture_with(|c| c.public_origin = Some(ORIGIN.into()));
    let (port, got) = smtp_sink();
    f.web.spawn_email_jobs(
        Arc::new(SmtpMailer::unencrypted("127.0.0.1", port)),
        Duration::from_secs(3600),
    );
    (f, got)
}

/// Waits for the `n`th reset mail to `to` and returns its link's token.
async fn reset_token(got: &Mutex<Vec<String>>, to: &str, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mails: Vec<String> = got
            .lock()
            .expect("lock")
            .iter()
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .filter(|m| {
                m.contains("Subject: Set a new password") && m.contains(&format!("To: {to}"))
            })
            .collect();
        if let Some(m) = mails.get(n - 1) {
            let marker = format!("{ORIGIN}/users/password-reset/");
            let at = m.find(&marker).expect("a link") + marker.len();
            return m[at..at + 64].to_string();
        }
        assert!(Instant::now() < deadline, "no reset mail to {to} arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_once_through_a_mailed_link() {
    let (f, got) = mailing();
    let mut b = Browser::new(&f);
    assert!(
        b.get("/login")
            .await
            .body
            .contains("/password-reset\">Forgot your password?")
    );
    let asked = b
        .submit("/password-reset", "/password-reset", &[("login", "ada")])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Check your e-mail"), "{}", asked.body);
    let token = reset_token(&got, "ada@example.com", 1).await;
    // An unknown login reads the same, and mails nothing.
    let unknown = b
        .submit(
            "/password-reset",
            "/password-reset",
            &[("login", "nobody_here")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(unknown.body.contains("Check your e-mail"));

    let link = format!("/users/password-reset/{token}");
    let form = b.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_eq!(form.header("referrer-policy"), "no-referrer");
    assert_eq!(form.header("cache-control"), "no-store");
    // A refused password keeps the link working.
    let short = b.submit(&link, &link, &[("password", "short")]).await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        short.body
    );
    let done = b
        .submit(&link, &link, &[("password", "a brand new passphrase")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.header("set-cookie").contains("hearth_session="),
        "signed in"
    );
    // The link works once.
    let again = b.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);
    assert!(again.body.contains("no longer works"));
    // The old password is gone, the new one signs in.
    let mut other = Browser::new(&f);
    let old = other.sign_in("ada").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.body);
    let new = other
        .submit(
            "/login",
            "/login",
            &[("login", "ada"), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER, "{}", new.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_resets_as_discourse_s_and_requests_are_limited() {
    let (f, got) = mailing();
    let mut b = Browser::new(&f);
    let csrf = b.csrf().await;
    let ask = |login: &str| {
        req(Method::POST, "/session/forgot_password.json")
            .header("X-CSRF-Token", &csrf)
            .json(serde_json::json!({ "login": login }))
    };
    let r = b.send(ask("bob")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json(),
        serde_json::json!({ "success": "OK", "user_found": true })
    );
    let token = reset_token(&got, "bob@example.com", 1).await;
    let set = |token: &str, username: &str, csrf: &str| {
        req(Method::PUT, &format!("/users/password-reset/{token}.json"))
            .header("X-CSRF-Token", csrf)
            .json(serde_json::json!({ "username": username, "password": "bob's new passphrase" }))
    };
    // The link is bob's: another username is refused, and the link stays.
    let r = b.send(set(&token, "ada", &csrf)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = b.send(set(&token, "bob", &csrf)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Signed in now as bob, with a session (and its token) of his own.
    let csrf = b.csrf().await;
    let r = b.send(set(&token, "bob", &csrf)).await;
    assert_eq!(r.status, StatusCode::GONE, "used: {}", r.body);
    let ask = |login: &str| {
        req(Method::POST, "/session/forgot_password.json")
            .header("X-CSRF-Token", &csrf)
            .json(serde_json::json!({ "login": login }))
    };

    // Three requests per account an hour (the default): the fourth waits.
    for n in 2..=3 {
        let r = b.send(ask("BOB")).await;
        assert_eq!(r.status, StatusCode::OK, "request {n}: {}", r.body);
    }
    let r = b.send(ask("bob")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(!r.header("retry-after").is_empty());
}

#[tokio::test]
async fn no_reset_while_the_product_signs_members_in() {
    let f = fixture_with(|c| {
        c.public_origin = Some(ORIGIN.into());
        c.discourse_connect = Some(
            hearth_web::DiscourseConnect::new(
                "https://product.example/sso",
                "a secret of 10+ bytes",
            )
            .expect("config"),
        );
    });
    let mut b = Browser::new(&f);
    let page = b.get("/password-reset").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
}

/// Waits for the `n`th mail whose subject starts `subject` to `to`, and
/// returns the token of its link under `path`.
async fn link_token(got: &Mutex<Vec<String>>, subject: &str, to: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mail = got
            .lock()
            .expect("lock")
            .iter()
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .find(|m| {
                m.contains(&format!("Subject: {subject}")) && m.contains(&format!("To: {to}"))
            });
        if let Some(m) = mail {
            let marker = format!("{ORIGIN}{path}/");
            let at = m.find(&marker).expect("a link") + marker.len();
            return m[at..at + 64].to_string();
        }
        assert!(Instant::now() < deadline, "no mail to {to} arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_address_counts_once_confirmed_from_it() {
    let (f, got) = mailing();
    let change = |who: &str, email: &str| {
        req(Method::PUT, "/u/ada/preferences/email.json")
            .acting(&f, who)
            .json(serde_json::json!({ "email": email }))
    };
    let mut b = Browser::new(&f);
    let r = b.send(change("bob", "bob.steals@example.org")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = b.send(change("ada", "not an address")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = b.send(change("ada", "ada@new.example.org")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = link_token(
        &got,
        "Confirm your new address",
        "ada@new.example.org",
        "/u/confirm-email",
    )
    .await;
    let still = f.forum.login_of(f.ada).expect("login").expect("ada's");
    assert_eq!(
        still.email, "ada@example.com",
        "nothing changes before confirming"
    );
    // Following the link shows a button: a mail scanner confirms nothing.
    let link = format!("/u/confirm-email/{token}");
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("ada@new.example.org"));
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(
        f.forum
            .login_of(f.ada)
            .expect("login")
            .expect("ada's")
            .email,
        "ada@example.com"
    );
    let done = b.submit(&link, &link, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Address confirmed"));
    assert_eq!(
        f.forum
            .login("ada@new.example.org")
            .expect("login")
            .map(|l| l.user),
        Some(f.ada)
    );
    let again = b.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);
    // The old address is told, without the new one spelled out.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let told = got
            .lock()
            .expect("lock")
            .iter()
            .find(|m| {
                m.contains("Subject: Your sign-in address for") && m.contains("To: ada@example.com")
            })
            .cloned();
        if let Some(m) = told {
            let m = m.replace("=\r\n", "").replace("=E2=80=A6", "…");
            assert!(m.contains("a…@new.example.org"), "{m}");
            assert!(!m.contains("ada@new.example.org"), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "the old address was not told");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many mails with `subject` went to `to`.
fn mails_to(got: &Mutex<Vec<String>>, subject: &str, to: &str) -> usize {
    got.lock()
        .expect("lock")
        .iter()
        .filter(|m| m.contains(&format!("Subject: {subject}")) && m.contains(&format!("To: {to}")))
        .count()
}

fn role(f: &Fixture, name: &str) -> Option<hearth::Role> {
    let user = f.forum.user_by_username(name).ok()?;
    f.forum
        .member(&hearth::Actor::System, f.community, user.id)
        .ok()
        .map(|m| m.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_confirm_their_address_before_they_sign_in_and_join() {
    let (f, got) = mailing();
    let mut cleo = Browser::new(&f);
    let r = cleo.sign_up("cleo").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Check your e-mail"), "{}", r.body);
    assert!(
        !r.header("set-cookie").contains("hearth_session="),
        "not signed in"
    );
    assert_eq!(role(&f, "cleo"), None, "not a member before confirming");
    let subject = "Confirm your address";
    let token = link_token(&got, subject, "cleo@example.com", "/u/activate-account").await;

    // Signing in is refused, with the way to get the link again.
    let refused = cleo.sign_in("cleo").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("Confirm your address first"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("/u/activate-account\""));
    let csrf = cleo.csrf().await;
    let json = cleo
        .send(
            req(Method::POST, "/session.json")
                .header("X-CSRF-Token", &csrf)
                .json(serde_json::json!({ "login": "cleo", "password": PASSWORD })),
        )
        .await;
    assert_eq!(json.json()["reason"], "not_activated", "{}", json.body);
    // A wrong password still says only that it is wrong.
    let wrong = cleo
        .submit(
            "/login",
            "/login",
            &[("login", "cleo"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.body.contains("Confirm your address"));

    // Asking again mails a new link; asking for someone who needs none
    // (or no one) reads the same and mails nothing.
    for login in ["cleo", "ada", "nobody_at_all"] {
        let again = cleo
            .submit("/login", "/u/activate-account", &[("login", login)])
            .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert!(again.body.contains("Check your e-mail"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while mails_to(&got, subject, "cleo@example.com") < 2 {
        assert!(Instant::now() < deadline, "no second link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mails_to(&got, subject, "ada@example.com"), 0);

    // The link shows a button (a mail scanner confirms nothing)…
    let link = format!("/u/activate-account/{token}");
    let page = cleo.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert!(
        !f.forum
            .login("cleo")
            .expect("login")
            .expect("cleo")
            .confirmed
    );
    // …which confirms, welcomes and signs in, once.
    let done = cleo.submit(&link, &link, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.header("set-cookie").contains("hearth_session="));
    assert_eq!(role(&f, "cleo"), Some(hearth::Role::Member));
    assert!(
        f.forum
            .login("cleo")
            .expect("login")
            .expect("cleo")
            .confirmed
    );
    assert_eq!(cleo.get(&link).await.status, StatusCode::GONE);
    let mut again = Browser::new(&f);
    assert_eq!(again.sign_in("cleo").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_confirms_a_waiting_address_and_communities_may_not_ask() {
    let (f, got) = mailing();
    let mut b = Browser::new(&f);
    let r = b.sign_up("dora").await;
    assert!(r.body.contains("Check your e-mail"), "{}", r.body);
    // The confirmation mail was lost; a password reset reads mail there too.
    b.submit("/password-reset", "/password-reset", &[("login", "dora")])
        .await;
    let token = reset_token(&got, "dora@example.com", 1).await;
    let link = format!("/users/password-reset/{token}");
    let done = b
        .submit(&link, &link, &[("password", "a brand new passphrase")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        f.forum
            .login("dora")
            .expect("login")
            .expect("dora")
            .confirmed
    );
    assert_eq!(role(&f, "dora"), Some(hearth::Role::Member));

    // A community that does not ask signs people in at once.
    let mut settings = f
        .forum
        .community(&hearth::Actor::System, f.community)
        .expect("community")
        .settings;
    settings.email.confirm_signups = false;
    f.forum
        .update_community(
            &hearth::Actor::System,
            f.community,
            "Acme Community",
            settings,
        )
        .expect("settings");
    let mut eli = Browser::new(&f);
    let r = eli.sign_up("eli").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("set-cookie").contains("hearth_session="));
    assert_eq!(role(&f, "eli"), Some(hearth::Role::Member));
}
