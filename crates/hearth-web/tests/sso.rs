//! DiscourseConnect from the product's side: the test plays the provider
//! (it holds the secret, reads Hearth's signed request, answers with a
//! signed user) and a browser, through the whole router.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use hearth::Actor;
use hearth_web::DiscourseConnect;

const SECRET: &str = "a shared secret of the product";

fn connect(ttl: Duration) -> DiscourseConnect {
    let mut dc = DiscourseConnect::new("https://app.example.com/sso?from=forum", SECRET).unwrap();
    dc.logout_url = Some("https://app.example.com/logout".into());
    dc.nonce_ttl = ttl;
    dc
}

fn with_sso(ttl: Duration) -> Fixture {
    fixture_with(|c| {
        c.public_origin = Some("https://forum.example.com".into());
        c.discourse_connect = Some(connect(ttl));
    })
}

fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str(q).unwrap()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

/// What the product does: checks Hearth's request, signs its user in and
/// answers with where the browser goes next.
fn provider_answers(location: &str, user: &[(&str, &str)]) -> String {
    assert!(
        location.starts_with("https://app.example.com/sso?from=forum&sso="),
        "{location}"
    );
    let q = query(location);
    let dc = connect(Duration::from_secs(600));
    let asked = dc.decode(field(&q, "sso"), field(&q, "sig")).unwrap();
    let back = field(&asked, "return_sso_url");
    assert_eq!(back, "https://forum.example.com/session/sso_login");
    let mut fields = vec![("nonce", field(&asked, "nonce"))];
    fields.extend_from_slice(user);
    let (sso, sig) = dc.encode(&fields);
    let path = back.trim_start_matches("https://forum.example.com");
    format!(
        "{path}?{}",
        serde_urlencoded::to_string([("sso", sso), ("sig", sig)]).unwrap()
    )
}

const ZOE: &[(&str, &str)] = &[
    ("external_id", "p-42"),
    ("email", "zoe@example.com"),
    ("username", "zoe"),
    ("name", "Zoë Product"),
    ("avatar_url", "https://cdn.example.com/zoe.png"),
    ("moderator", "true"),
    ("groups", "Staff, not-a-group"),
];

#[tokio::test]
async fn the_product_signs_its_users_in_once_per_request() {
    let f = with_sso(Duration::from_secs(600));
    let mut b = Browser::new(&f);

    // Sign-in and sign-up pages go to the product; passwords are refused.
    let r = b.get("/login?next=/latest").await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(r.header("location"), "/session/sso?return_path=%2Flatest");
    let r = b.get("/signup").await;
    assert!(
        r.header("location").starts_with("/session/sso"),
        "{}",
        r.header("location")
    );
    let r = send(
        &f.app,
        req(Method::POST, "/session.json").form(&[("login", "ada"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let r = b.get("/session/sso?return_path=/latest").await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let back = provider_answers(&r.header("location"), ZOE);
    let r = b.get(&back).await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    assert_eq!(r.header("location"), "/latest");
    let me = b.get("/session/current.json").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me = me.json();
    assert_eq!(me["current_user"]["username"], "zoe");
    assert_eq!(me["current_user"]["name"], "Zoë Product");
    assert_eq!(me["current_user"]["moderator"], true);
    let zoe = f
        .forum
        .external_user(hearth_web::DISCOURSE_CONNECT, "p-42")
        .unwrap()
        .expect("linked");
    let groups = f
        .forum
        .member_groups(&Actor::System, f.community, zoe.id)
        .unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["staff"]
    );

    // The same answer again (a replay) is refused; so is a forged one.
    let r = Browser::new(&f).get(&back).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = Browser::new(&f).get("/session/sso").await;
    let forged = provider_answers(&r.header("location"), ZOE).replace("sig=", "sig=0");
    let r = Browser::new(&f).get(&forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = Browser::new(&f).get("/session/sso_login?sso=x").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Next time the product says she is no longer a moderator nor in the
    // group: that is what she is.
    let mut b2 = Browser::new(&f);
    let r = b2.get("/session/sso").await;
    let back = provider_answers(
        &r.header("location"),
        &[
            ("external_id", "p-42"),
            ("email", "zoe@example.com"),
            ("moderator", "false"),
            ("groups", ""),
        ],
    );
    let r = b2.get(&back).await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    assert_eq!(r.header("location"), "/");
    let me = b2.get("/session/current.json").await.json();
    assert_eq!(me["current_user"]["id"], zoe.id.0);
    assert_eq!(me["current_user"]["moderator"], false);
    assert!(
        f.forum
            .member_groups(&Actor::System, f.community, zoe.id)
            .unwrap()
            .is_empty()
    );

    // Staff look members up by the product's id; others may not.
    for path in [
        "/u/by-external/p-42.json",
        "/u/by-external/discourse_connect/p-42.json",
    ] {
        let r = send(&f.app, get(path).acting(&f, "ann")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.json()["user"]["username"], "zoe");
        let r = send(&f.app, get(path).acting(&f, "ada")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let r = send(&f.app, get("/u/by-external/p-43.json").acting(&f, "ann")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Signing out here goes on to the product's sign-out.
    let token = b2.csrf().await;
    let r = b2
        .send(req(Method::POST, "/logout").form(&[("authenticity_token", &token)]))
        .await;
    assert_eq!(r.header("location"), "https://app.example.com/logout");
}

#[tokio::test]
async fn a_sign_in_that_took_too_long_is_refused() {
    let f = with_sso(Duration::ZERO);
    let mut b = Browser::new(&f);
    let r = b.get("/session/sso").await;
    let back = provider_answers(&r.header("location"), ZOE);
    let r = b.get(&back).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("sign in again"), "{}", r.body);
    assert!(
        f.forum
            .external_user(hearth_web::DISCOURSE_CONNECT, "p-42")
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn payloads_a_provider_might_send_are_read_or_refused_clearly() {
    let f = with_sso(Duration::from_secs(600));
    // Ruby's Base64.encode64 breaks lines every 60 characters.
    let dc = connect(Duration::from_secs(600));
    let mut b = Browser::new(&f);
    let r = b.get("/session/sso").await;
    let q = query(&r.header("location"));
    let asked = dc.decode(field(&q, "sso"), field(&q, "sig")).unwrap();
    let body = serde_urlencoded::to_string([
        ("nonce", field(&asked, "nonce")),
        ("external_id", "ruby-1"),
        ("email", "ruby@example.com"),
        (
            "username",
            "a name with spaces and more than twenty characters",
        ),
    ])
    .unwrap();
    let encoded = STANDARD.encode(body);
    let wrapped: String = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let sig = dc.sign(&wrapped);
    let path = format!(
        "/session/sso_login?{}",
        serde_urlencoded::to_string([("sso", wrapped.as_str()), ("sig", sig.as_str())]).unwrap()
    );
    let r = b.get(&path).await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let me = b.get("/session/current.json").await.json();
    assert_eq!(me["current_user"]["username"], "a_name_with_spaces_a");

    // No external id or e-mail: a clear 400, nothing made.
    let r = b.get("/session/sso").await;
    let back = provider_answers(&r.header("location"), &[("email", "x@example.com")]);
    let r = Browser::new(&f).get(&back).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("external_id"), "{}", r.body);
    assert!(f.forum.login("x@example.com").unwrap().is_none());
}

#[tokio::test]
async fn without_discourse_connect_its_paths_are_not_there() {
    let f = fixture();
    for path in ["/session/sso", "/session/sso_login?sso=a&sig=b"] {
        let r = send(&f.app, get(path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn the_host_application_signs_a_member_in_without_a_password() {
    let f = fixture();
    let cookie = f.web.sign_in(f.ada, false).unwrap();
    let pair = cookie.split(';').next().unwrap().to_string();
    let r = send(&f.app, get("/session/current.json").header("Cookie", &pair)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["current_user"]["username"], "ada");
    assert!(f.web.sign_in(hearth::UserId(999_999), false).is_err());
}

#[tokio::test]
async fn the_return_address_never_comes_from_the_request() {
    // No public origin anywhere: refused, whatever Host says, rather than
    // signing a nonce for an address the requester chose.
    let f = fixture_with(|c| c.discourse_connect = Some(connect(Duration::from_secs(600))));
    let community = f.forum.community(&Actor::System, f.community).unwrap();
    let mut settings = community.settings;
    settings.base_url = None;
    f.forum
        .update_community(&Actor::System, f.community, &community.name, settings)
        .unwrap();
    let r = send(&f.app, get("/session/sso").header("Host", "evil.example")).await;
    assert!(r.status.is_server_error(), "{}: {}", r.status, r.body);
    assert!(r.header("location").is_empty(), "{}", r.header("location"));
    // Configured: the origin is the configured one, Host or not.
    let f = with_sso(Duration::from_secs(600));
    let r = send(&f.app, get("/session/sso").header("Host", "evil.example")).await;
    let q = query(&r.header("location"));
    let asked = connect(Duration::from_secs(600))
        .decode(field(&q, "sso"), field(&q, "sig"))
        .unwrap();
    assert_eq!(
        field(&asked, "return_sso_url"),
        "https://forum.example.com/session/sso_login"
    );
}
